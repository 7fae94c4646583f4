#!/usr/bin/env bash
# Runs the same commands with two trailscan binaries and compares what they print: stdout
# byte for byte, stderr with the timings masked, exit codes, and the files export and index
# write. For refactors that must not change behaviour (issue 28's "byte for byte").
#
#   scripts/compare-binaries.sh OLD_BIN NEW_BIN [ARCHIVE]
#
# ARCHIVE defaults to bench-data/archive-900000 (generate it with
# `trailscan-fixtures bench bench-data/archive-900000 --events 900000 --seed 1`); the bundled
# sample archive and, where present, the real samples in ../shared/samples/real are always
# compared. Prints one line per command and exits 1 if any differs.
set -uo pipefail
old=$1 new=$2
root=$(cd "$(dirname "$0")/.." && pwd)
archive=${3:-$root/bench-data/archive-900000}
sample=$root/fixtures/sample-archive
real=$root/../shared/samples/real
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
differ=0

# Timings and rates change from run to run; everything else must not.
mask() {
    sed -E 's/[0-9]+(\.[0-9]+)? s\b/T s/g; s/[0-9]+ events\/s/N events\/s/g; s/[0-9.]+ MB\/s/N MB\/s/g; s/in [0-9.]+ s/in T s/g' "$1"
}

# compare NAME ARGS...: runs `BIN ARGS` with each binary (@OUT@ is a fresh folder per binary,
# @IDX@ that binary's index) and compares.
compare() {
    local name=$1
    shift
    for side in old new; do
        local bin=${!side}
        mkdir -p "$work/$side"
        local args=()
        for a in "$@"; do
            a=${a//@OUT@/$work/$side/out-$name}
            a=${a//@IDX@/$work/$side/idx}
            args+=("$a")
        done
        "$bin" "${args[@]}" >"$work/$side/$name.out" 2>"$work/$side/$name.err"
        echo $? >"$work/$side/$name.code"
        mask "$work/$side/$name.err" >"$work/$side/$name.err.masked"
        # Paths of this side's folders read alike in both.
        sed -i "s#$work/$side#WORK#g" "$work/$side/$name.err.masked" "$work/$side/$name.out"
    done
    local what=() ordered=""
    cmp -s "$work/old/$name.out" "$work/new/$name.out" || what+=(stdout)
    if ! cmp -s "$work/old/$name.err.masked" "$work/new/$name.err.masked"; then
        # Problems are reported by whichever worker thread meets them first: their order is
        # not part of the behaviour, their lines are.
        if cmp -s <(sort "$work/old/$name.err.masked") <(sort "$work/new/$name.err.masked"); then
            ordered=" (stderr lines in another order)"
        else
            what+=(stderr)
        fi
    fi
    cmp -s "$work/old/$name.code" "$work/new/$name.code" || what+=("exit code")
    if [ -d "$work/old/out-$name" ] || [ -d "$work/new/out-$name" ]; then
        diff -r -q "$work/old/out-$name" "$work/new/out-$name" >/dev/null 2>&1 || what+=(files)
    fi
    if [ ${#what[@]} -eq 0 ]; then
        printf 'same     %-28s (%s bytes out, exit %s)%s\n' "$name" "$(wc -c <"$work/new/$name.out")" "$(cat "$work/new/$name.code")" "$ordered"
    else
        differ=1
        printf 'DIFFERS  %-28s %s\n' "$name" "${what[*]}"
        diff "$work/old/$name.err.masked" "$work/new/$name.err.masked" | head -5
        diff "$work/old/$name.out" "$work/new/$name.out" | head -5
    fi
}

needle=$(zcat "$(find "$archive" -name '*.json.gz' | sort | sed -n 100p)" | jq -r '.Records[3].eventID')
key=$(zcat "$(find "$archive" -name '*.json.gz' | sort | sed -n 200p)" | jq -r '.Records[5].userIdentity.accessKeyId')
echo "archive $archive: needle $needle, key $key"
ev() { echo "AttributeKey=$1,AttributeValue=$2"; }

for src in "$archive" "$sample"; do
    tag=$(basename "$src")
    compare "$tag-index" index --source "$src" --index @IDX@
    compare "$tag-index-files" index --source "$src" --index @OUT@
    compare "$tag-verify" index --source "$src" --index @IDX@ --verify --sample 0.05
    compare "$tag-needle" lookup-events --source "$src" --lookup-attributes "$(ev EventId "$needle")"
    compare "$tag-needle-index" lookup-events --source "$src" --index @IDX@ --lookup-attributes "$(ev EventId "$needle")"
    compare "$tag-key" lookup-events --source "$src" --lookup-attributes "$(ev AccessKeyId "$key")" --max-results 20
    compare "$tag-key-index" lookup-events --source "$src" --index @IDX@ --lookup-attributes "$(ev AccessKeyId "$key")" --max-results 20
    compare "$tag-console-table" lookup-events --source "$src" --lookup-attributes "$(ev EventName ConsoleLogin)" --max-results 30 --output table
    compare "$tag-console-index" lookup-events --source "$src" --index @IDX@ --lookup-attributes "$(ev EventName ConsoleLogin)" --max-results 30 --output text
    compare "$tag-readonly-window" lookup-events --source "$src" --lookup-attributes "$(ev ReadOnly false)" --start-time 2024-01-02T00:00:00Z --end-time 2024-01-02T06:00:00Z --max-results 100
    compare "$tag-trace-key" trace --source "$src" --access-key "$key"
    compare "$tag-trace-key-index" trace --source "$src" --index @IDX@ --access-key "$key"
    compare "$tag-summary-key" summary --source "$src" --access-key "$key"
    compare "$tag-summary-key-index" summary --source "$src" --index @IDX@ --access-key "$key" --output csv
    compare "$tag-export" export --source "$src" --out @OUT@
    compare "$tag-export-jsonl" export --source "$src" --out @OUT@ --format jsonl
    compare "$tag-validate" validate-logs --source "$src" --public-keys "$root/fixtures/sample-archive-public-keys.json" --verbose
done
compare sample-summary-principal summary --source "$sample" --principal arn:aws:iam::210987654321:user/alice --output csv
compare sample-summary-principal-index summary --source "$sample" --index @IDX@ --principal arn:aws:iam::210987654321:user/alice
compare sample-trace-principal trace --source "$sample" --principal arn:aws:iam::210987654321:user/alice
compare sample-validate-cli validate-logs --source "$sample" --public-keys "$root/fixtures/sample-archive-public-keys.json" --end-time 2024-01-03T00:00:00Z
compare sample-ddl export --print-ddl athena --out "$work/old/out-sample-archive-export"

if [ -d "$real" ]; then
    for dir in "$real"/*/; do
        tag=real-$(basename "$dir")
        compare "$tag-console" lookup-events --source "$dir" --lookup-attributes "$(ev EventName ConsoleLogin)"
        compare "$tag-index" index --source "$dir" --index @IDX@-$(basename "$dir")
        compare "$tag-all-index" lookup-events --source "$dir" --index @IDX@-$(basename "$dir") --output json
        compare "$tag-export" export --source "$dir" --out @OUT@
    done
    stratus=$real/DataDog__stratus-red-team
    for k in ASIA36EV31F1RB3OA8IG ASIAP5CT9NN8EYVU1FXV; do
        compare "stratus-trace-$k" trace --source "$stratus" --access-key "$k"
        compare "stratus-trace-$k-index" trace --source "$stratus" --index "@IDX@-DataDog__stratus-red-team" --access-key "$k"
        compare "stratus-summary-$k" summary --source "$stratus" --access-key "$k"
    done
fi
exit $differ
