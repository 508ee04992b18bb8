#!/usr/bin/env bash
# Coverage-guided fuzzing of Homeline's parsers of remote input, on the stable toolchain.
#
#   scripts/fuzz.sh                       list the targets
#   scripts/fuzz.sh TARGET [SECONDS]      fuzz one target (default 60 s), corpus fuzz/corpus/TARGET
#   scripts/fuzz.sh --smoke [SECONDS]     every target for SECONDS each (default 5; CI)
#   scripts/fuzz.sh --repro TARGET FILE   run one input (a crash) through a target
#   make fuzz TARGET=sip_receive SECONDS=600
#
# Engine: libFuzzer through the libfuzzer-sys crate, which compiles libFuzzer's C++ source in
# its build script. cargo-fuzz would pass the same instrumentation but insists on nightly for
# its sanitizer flags; we set the SanitizerCoverage flags ourselves (-Cpasses=sancov-module and
# -Cllvm-args=-sanitizer-coverage-*, all accepted by stable rustc) and build with plain cargo.
# Without AddressSanitizer, which the protocol crates (#![forbid(unsafe_code)]) do not need:
# what we look for is panics (overflow checks and debug assertions are on), hangs and
# runaway memory.
#
# Targets are the files in fuzz/src/bin/ (one file adds one); seeds are in fuzz/corpus/TARGET/,
# new inputs libFuzzer finds go to fuzz/target/corpus/TARGET/ (not committed), crashes to
# fuzz/artifacts/TARGET/. Runs are under `nice -n 19` (shared machines). FUZZ_JOBS unset:
# one process. Extra libFuzzer flags: FUZZ_ARGS="-max_len=4096 ...".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fuzz=$root/fuzz
export CARGO_TARGET_DIR=$fuzz/target

export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cdebug-assertions -Coverflow-checks"

# With an explicit --target, RUSTFLAGS reach only the fuzzed code, not build scripts and
# proc macros (which cannot link against the instrumentation's runtime).
host=$(rustc -vV | sed -n 's/^host: //p')
out=$CARGO_TARGET_DIR/$host/release

targets() { for f in "$fuzz"/src/bin/*.rs; do basename "$f" .rs; done; }

build() {
  (cd "$fuzz" && nice -n 19 cargo build --release --quiet --bins --target "$host")
}

run() {
  local target=$1 secs=$2
  local bin=$out/$target
  local seeds=$fuzz/corpus/$target work=$CARGO_TARGET_DIR/corpus/$target
  local artifacts=$fuzz/artifacts/$target
  mkdir -p "$work" "$artifacts"
  [ -d "$seeds" ] || mkdir -p "$seeds"
  local before
  before=$(find "$artifacts" -type f | wc -l)
  echo "=== fuzz $target for ${secs} s (seeds: $(find "$seeds" -type f | wc -l))"
  # The first corpus directory receives what libFuzzer finds; the seeds stay as committed.
  # shellcheck disable=SC2086
  nice -n 19 "$bin" "$work" "$seeds" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=70000 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 ${FUZZ_ARGS:-} 2>&1 |
    grep -E '^(stat::|==|#[0-9]+ +DONE|INFO: Seed|Done|SUMMARY|thread|panicked|.*deadly signal)' || true
  # libFuzzer's exit status is lost in the pipe: a new artifact is the verdict.
  local crashes
  crashes=$(($(find "$artifacts" -type f | wc -l) - before))
  if [ "$crashes" -gt 0 ]; then
    echo "=== $target: $crashes crash/timeout/oom input(s) in $artifacts" >&2
    return 1
  fi
}

case "${1:-}" in
  "" | --list)
    targets
    ;;
  --smoke)
    secs=${2:-5}
    build
    status=0
    # A fixed seed: CI replays the committed corpus (crash regressions included) and the same
    # mutations every run, so a red smoke is a change of ours, not the luck of the draw. The
    # campaigns that look for new bugs (`make fuzz`) draw a fresh seed each time.
    for t in $(targets); do FUZZ_ARGS="-seed=1 ${FUZZ_ARGS:-}" run "$t" "$secs" || status=1; done
    exit $status
    ;;
  --repro)
    build
    "$out/$2" "$3"
    ;;
  *)
    target=$1
    if [ ! -f "$fuzz/src/bin/$target.rs" ]; then
      echo "unknown fuzz target '$target'; targets: $(targets | tr '\n' ' ')" >&2
      exit 2
    fi
    build
    run "$target" "${2:-60}"
    ;;
esac
