#!/usr/bin/env bash
# CI fuzzing: builds the cargo-fuzz targets and runs each for a fixed short time on the committed
# corpus (fuzz/corpus/<target>) plus the past findings (fuzz/regressions/<target>). Fails on any
# crash, panic, failed invariant, timeout (> FUZZ_TIMEOUT s for one input) or out-of-memory.
# New corpus units go to a scratch directory, so the committed corpus is never changed.
#
# Stable Rust only: cargo-fuzz passes nightly flags (-Zsanitizer, -Cpasses=sancov), which stable
# rustc accepts with RUSTC_BOOTSTRAP=1 (set below, for this script only).
# cargo-fuzz is installed from crates.io if missing: pinned, --locked (about 40 s of build).
# The first build of the targets compiles every dependency with sanitizer instrumentation:
# about 13 CPU-minutes with ASan (keep fuzz/target/ in the CI cache); later builds only
# recompile mcp-media.
#
# Environment: FUZZ_SECONDS per target (default 25; 6 targets = about 2.5 minutes),
# FUZZ_CORPUS_MAX (corpus files per target to start from; default 0 = all),
# FUZZ_TARGETS (default: all), FUZZ_SANITIZER (address, the default, or none: faster build,
# no ASan; libFuzzer's coverage guidance is the same), FUZZ_TIMEOUT (default 10 s per input),
# FUZZ_SEED (default 1: libFuzzer's mutations are then the same sequence on every run, so a CI
# run is reproducible and a slower machine explores a prefix of what a faster one does in the
# same time; 0 = a random seed each run, for campaigns hunting new findings).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_FUZZ_VERSION=0.13.1
SECONDS_EACH=${FUZZ_SECONDS:-25}
TARGETS=${FUZZ_TARGETS:-protocol uri audio_decode audio_transcode image_decode video_probe}
SANITIZER=${FUZZ_SANITIZER:-address}
# release (-O, the default) or dev (unoptimised, with debug assertions and overflow checks:
# builds in about half the CPU time, 6.5 CPU-minutes instead of 11 without ASan; CI uses it).
case "${FUZZ_PROFILE:-release}" in
    release) PROFILE=(-O) ;;
    dev) PROFILE=(--dev) ;;
    *) echo "FUZZ_PROFILE must be release or dev" >&2; exit 2 ;;
esac
TIMEOUT=${FUZZ_TIMEOUT:-10}
SEED=${FUZZ_SEED:-1}
# At most this many corpus files per target start the run (the first in name order, i.e. a
# fixed pseudo-random sample of the hash-named files); 0 = the whole corpus. Replaying a whole
# audio corpus on an unoptimised build takes minutes; CI samples.
CORPUS_MAX=${FUZZ_CORPUS_MAX:-0}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

cargo fuzz build "${PROFILE[@]}" --sanitizer "$SANITIZER"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in $TARGETS; do
    echo "fuzz: $t for ${SECONDS_EACH}s" >&2
    mkdir -p "$scratch/$t" "$scratch/seed-$t"
    if [ "$CORPUS_MAX" -gt 0 ]; then
        # sed reads to the end (head would exit early, and a `sort` still writing then dies of
        # SIGPIPE, which pipefail makes this script's silent exit: a CI run failed so).
        find "fuzz/corpus/$t" -type f | sort | sed -n "1,${CORPUS_MAX}p" | xargs -r cp -t "$scratch/seed-$t"
        dirs=("$scratch/$t" "$scratch/seed-$t")
    else
        dirs=("$scratch/$t" "fuzz/corpus/$t")
    fi
    [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
    cargo fuzz run "${PROFILE[@]}" --sanitizer "$SANITIZER" "$t" "${dirs[@]}" -- \
        -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -seed="$SEED" -rss_limit_mb=2048 \
        -print_final_stats=1
done
echo "fuzz: all targets ran clean" >&2
