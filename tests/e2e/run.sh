#!/usr/bin/env bash
# End-to-end tests of the real Homeline app.
#   tests/e2e/run.sh PATH/TO/homeline-app
# Starts Xvfb, a private D-Bus session with an unlocked gnome-keyring, and tauri-driver (which
# drives WebKitWebDriver), gives the app a throw-away home, then runs tests/e2e/*.test.mjs with
# Node's test runner. Screenshots and the app's files land in $HOMELINE_TEST_OUT/e2e.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app=$(realpath "${1:?usage: run.sh PATH/TO/homeline-app}")
out=${HOMELINE_TEST_OUT:-$root/tests/out}/e2e
rm -rf "$out"; mkdir -p "$out"

tauri_driver=$(command -v tauri-driver || echo "$HOME/.cargo/bin/tauri-driver")
[ -x "$tauri_driver" ] || { echo "tauri-driver not found: run scripts/install-deps.sh test" >&2; exit 1; }
command -v WebKitWebDriver >/dev/null || { echo "WebKitWebDriver not found (package webkit2gtk-driver)" >&2; exit 1; }

# A throw-away home: the app's config, data, logs and keyring live here and nowhere else.
home=$(mktemp -d /tmp/homeline-e2e.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # Keep what the app wrote next to the screenshots for whoever reads a failed CI log.
  cp -r "$home" "$out/home" 2>/dev/null || true
  rm -rf "$home"
}
trap cleanup EXIT

Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$home/display" 2>"$out/xvfb.log" &
pids+=($!)
for _ in $(seq 50); do [ -s "$home/display" ] && break; sleep 0.1; done
[ -s "$home/display" ] || { echo "Xvfb did not start" >&2; cat "$out/xvfb.log" >&2; exit 1; }
export DISPLAY=":$(cat "$home/display")"

export HOME=$home XDG_CONFIG_HOME=$home/.config XDG_DATA_HOME=$home/.local/share \
  XDG_CACHE_HOME=$home/.cache XDG_DOWNLOAD_DIR=$home/Downloads
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_DOWNLOAD_DIR"
# WebKitGTK under Xvfb has no GPU: software rendering, and no bubblewrap sandbox when we run
# as root in a container (bwrap cannot create its namespaces there).
export WEBKIT_DISABLE_DMABUF_RENDERER=1 WEBKIT_DISABLE_COMPOSITING_MODE=1 LIBGL_ALWAYS_SOFTWARE=1
[ "$(id -u)" -eq 0 ] && export WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS=1
export HOMELINE_E2E_APP=$app HOMELINE_E2E_OUT=$out HOMELINE_E2E_HOME=$home HOMELINE_LOG=debug

port=$(( 4444 + RANDOM % 1000 ))
export HOMELINE_WEBDRIVER_URL=http://127.0.0.1:$port
"$root/scripts/with-keyring.sh" bash -c '
  set -euo pipefail
  # with-keyring.sh keeps the keyring in a temporary XDG_DATA_HOME of its own; the app keeps its
  # data and logs in the throw-away home.
  export XDG_DATA_HOME=$HOMELINE_E2E_HOME/.local/share
  "$0" --port "$1" --native-port "$(( $1 + 1000 ))" >"$HOMELINE_E2E_OUT/tauri-driver.log" 2>&1 &
  driver=$!
  trap "kill $driver 2>/dev/null || true" EXIT
  for _ in $(seq 100); do
    curl -fsS "$HOMELINE_WEBDRIVER_URL/status" >/dev/null 2>&1 && break
    sleep 0.1
  done
  node --test --test-concurrency=1 "$2"/*.test.mjs
' "$tauri_driver" "$port" "$here"
