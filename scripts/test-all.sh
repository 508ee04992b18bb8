#!/usr/bin/env bash
# The whole Homeline test suite, as `make test` and CI run it:
#   1. install what the tests need (Debian packages, npm packages, tauri-driver)
#   2. format and lint checks (cargo fmt, clippy -D warnings, svelte-check)
#   3. UI unit tests (Vitest)
#   4. Rust tests of every crate, with a real Secret Service (gnome-keyring) on a private D-Bus
#      and a real PulseAudio with null sinks;
#      the network-lab tests build namespaces and start kamailio/coturn (they need root and say
#      "skipped: needs root" otherwise)
#   5. end-to-end tests of the real app: tauri-driver + WebKitWebDriver under Xvfb
#   6. the Debian package: built, installed into a fresh root, started
# Every stage runs even when an earlier independent one failed, so one CI log shows everything;
# the exit status is non-zero when any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export HOMELINE_TEST_OUT=${HOMELINE_TEST_OUT:-$root/tests/out}
mkdir -p "$HOMELINE_TEST_OUT"

failed=()
passed=()
stage() {
  local name=$1; shift
  echo
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    passed+=("$name")
    echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    failed+=("$name")
    echo "=== $name: FAILED ($((SECONDS - t0)) s)"
  fi
}
ok() { [[ " ${passed[*]} " == *" $1 "* ]]; }

stage deps scripts/install-deps.sh test
# npm install, not npm ci: the registry mirror this project's machines use serves no other
# platform's optional packages (rollup's binaries), so the lock cannot list them and npm ci
# refuses it. --no-save installs the locked versions and never rewrites the lock.
stage ui-deps bash -c 'cd ui && npm install --no-save --no-audit --no-fund'
stage fmt cargo fmt --all -- --check
if ok ui-deps; then
  stage ui-check bash -c 'cd ui && npm run check'
  stage ui-unit bash -c 'cd ui && npm test'
  stage ui-build bash -c 'cd ui && npm run build'
fi
if ok ui-build; then
  stage clippy cargo clippy --workspace --all-targets --locked -- -D warnings
  # One run of every Rust test, with the real components on private buses: a gnome-keyring
  # Secret Service (D-Bus) and a PulseAudio with two null sinks ("headset", "speakers").
  stage rust-tests scripts/with-keyring.sh scripts/with-pulse.sh \
    env HOMELINE_REAL_KEYRING=1 HOMELINE_REAL_AUDIO=1 cargo test --workspace --locked --no-fail-fast
  stage app-build cargo build -p homeline-app --features custom-protocol --locked
  # Every fuzz target for a few seconds from its committed corpus (the long campaigns are
  # `make fuzz TARGET=… SECONDS=…`, not CI): a parser change that panics on a seed or on
  # what a few seconds of coverage-guided mutation find fails here.
  stage fuzz-smoke scripts/fuzz.sh --smoke 5
fi
if ok app-build; then
  stage e2e tests/e2e/run.sh "$root/target/debug/homeline-app"
  # The .deb a new user installs: built with the Tauri bundler (debug profile, reusing the
  # build above), installed into a fresh root, started.
  stage package bash -c 'scripts/package.sh --debug && tests/package/test-deb.sh target/debug/bundle/deb/Homeline_*.deb'
fi

echo
echo "=== summary (${SECONDS} s)"
for s in "${passed[@]}"; do echo "  ok      $s"; done
for s in "${failed[@]}"; do echo "  FAILED  $s"; done
[ ${#failed[@]} -eq 0 ]
