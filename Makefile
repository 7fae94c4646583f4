# trailscan: the commands a new user and CI need. See README.md.
CARGO ?= cargo
BIN := target/release/trailscan

.PHONY: build demo test lint sample throughput clean

build:
	$(CARGO) build --release -p trailscan

## Builds, then looks up console sign-ins in the bundled sample archive.
demo: build
	$(BIN) lookup-events --source fixtures/sample-archive \
	    --lookup-attributes AttributeKey=EventName,AttributeValue=ConsoleLogin --max-results 2

## Every test: unit, integration (sample archive, generated archives, real samples in ../shared if present).
test:
	@[ -d ../shared/samples/real ] || echo "NOTICE: ../shared/samples/real is absent: the tests over real CloudTrail samples are skipped"
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Regenerates fixtures/sample-archive from the generator (after changing it).
sample:
	rm -rf fixtures/sample-archive
	$(CARGO) run -q -p trailscan-fixtures -- sample fixtures/sample-archive

## Needle-lookup throughput on a generated 540,000-event archive (not a test: no timing assertions).
throughput:
	$(CARGO) build --release -p trailscan -p trailscan-fixtures
	benches/lookup-throughput.sh

clean:
	$(CARGO) clean
	rm -rf bench-data
