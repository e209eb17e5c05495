#!/usr/bin/env bash
# Fuzz smoke run: every cargo-fuzz target for a few seconds.
#
#   fuzz/smoke.sh                 # 20 s per target
#   FUZZ_SECONDS=600 fuzz/smoke.sh line detector
#
# Builds all targets once (nightly, libFuzzer, no sanitizer: the core is
# safe Rust; debug assertions and overflow checks on), then runs each on
# its committed seeds (fuzz/seeds/<target>: real lines from
# tests/data/corpus, records of every shape, configurations, detector
# scripts), the saved crashes (fuzz/regressions/<target>) and the working
# corpus (fuzz/corpus/<target>, git-ignored, grows from run to run).
#
# A crash stops the run; libFuzzer prints the input's path
# (fuzz/artifacts/<target>/crash-*). Minimise it with
#   cargo +nightly fuzz tmin -s none -a <target> <crash file>
# and save it as fuzz/regressions/<target>/<name>: `cargo test -p
# resetwatch` replays every file there through the same check
# (src/fuzzing.rs), and the harness test `fuzz_corpus_wasm` sends it
# through the built .wasm modules.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(line record config detector jsz)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/fuzz-tgt}
flags=(--sanitizer none --debug-assertions)

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

start=$SECONDS
cargo +nightly fuzz build "${flags[@]}"
echo "fuzz smoke: built in $((SECONDS - start)) s"
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    echo "fuzz smoke: $t for ${seconds} s"
    # libFuzzer prints a line per new input: keep it in a file, show its end.
    log="$CARGO_TARGET_DIR/fuzz-smoke-$t.log"
    mkdir -p "$CARGO_TARGET_DIR"
    if ! cargo +nightly fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/regressions/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz smoke: $t FAILED (whole output: $log)"
        exit 1
    fi
    grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$log" | sed "s/^/fuzz smoke: $t: /"
done
echo "fuzz smoke: done in $((SECONDS - start)) s"
