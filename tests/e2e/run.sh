#!/usr/bin/env bash
# End-to-end tests of the real Homeline app.
#   tests/e2e/run.sh PATH/TO/homeline-app
# Starts Xvfb and tauri-driver (which drives WebKitWebDriver), gives the app a throw-away home,
# and runs with Node's test runner:
#   app.test.mjs         inside a private D-Bus session with an unlocked gnome-keyring;
#   broken-config.test.mjs  the same, starting on a broken configuration file;
#   no-keyring.test.mjs  with a D-Bus address that leads nowhere (no Secret Service);
#   registration.test.mjs  inside a keyring session, registering at a closed loopback port;
#   calls.test.mjs      inside a keyring session and a private PulseAudio: the echo line call;
#   incoming.test.mjs   the same, taking a call from sipp (registrar that calls back);
#   first-run.test.mjs  the same: the first run (address and password) against a sipp registrar;
#   desktop.test.mjs    inside a keyring session: autostart, links and one instance, the tray;
#   headset.test.mjs    the same: Settings → Headset's switches, kept across a restart;
#   network.test.mjs    the same: Settings → Network, a relay password in the keyring only;
#   diagnostics.test.mjs  inside a keyring session: the connectivity test against coturn on loopback.
# Screenshots and the app's files land in $HOMELINE_TEST_OUT/e2e.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app=$(realpath "${1:?usage: run.sh PATH/TO/homeline-app}")
out=${HOMELINE_TEST_OUT:-$root/tests/out}/e2e
rm -rf "$out"; mkdir -p "$out"

tauri_driver=$(command -v tauri-driver || echo "$HOME/.cargo/bin/tauri-driver")
[ -x "$tauri_driver" ] || { echo "tauri-driver not found: run scripts/install-deps.sh test" >&2; exit 1; }
command -v WebKitWebDriver >/dev/null || { echo "WebKitWebDriver not found (package webkit2gtk-driver)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/homeline-e2e.XXXXXX)
xvfb=
cleanup() {
  [ -n "$xvfb" ] && kill "$xvfb" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" 2>"$out/xvfb.log" &
xvfb=$!
for _ in $(seq 50); do [ -s "$tmp/display" ] && break; sleep 0.1; done
[ -s "$tmp/display" ] || { echo "Xvfb did not start" >&2; cat "$out/xvfb.log" >&2; exit 1; }
export DISPLAY=":$(cat "$tmp/display")"
# WebKitGTK under Xvfb has no GPU: software rendering, and no bubblewrap sandbox when we run
# as root in a container (bwrap cannot create its namespaces there).
export WEBKIT_DISABLE_DMABUF_RENDERER=1 WEBKIT_DISABLE_COMPOSITING_MODE=1 LIBGL_ALWAYS_SOFTWARE=1
[ "$(id -u)" -eq 0 ] && export WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS=1
export HOMELINE_E2E_APP=$app HOMELINE_LOG=debug
export HOMELINE_TAURI_DRIVER=$tauri_driver HOMELINE_E2E_TESTS=$here

# drive NAME WRAPPER… : runs NAME.test.mjs against the app, in a fresh home, under WRAPPER.
drive() {
  local name=$1; shift
  # HOMELINE_E2E_ONLY=name runs one of them, when debugging.
  [ -n "${HOMELINE_E2E_ONLY:-}" ] && [ "$HOMELINE_E2E_ONLY" != "$name" ] && return 0
  local home=$tmp/$name
  mkdir -p "$home/.config" "$home/.local/share" "$home/.cache" "$home/Downloads"
  mkdir -p "$out/$name"
  local status=0
  HOME=$home XDG_CONFIG_HOME=$home/.config XDG_CACHE_HOME=$home/.cache \
  XDG_DOWNLOAD_DIR=$home/Downloads HOMELINE_E2E_HOME=$home HOMELINE_E2E_OUT=$out/$name \
  HOMELINE_E2E_NAME=$name "$@" bash -c '
    set -euo pipefail
    # The app keeps its data and logs in the throw-away home (with-keyring.sh moves
    # XDG_DATA_HOME to a temporary keyring folder of its own).
    export XDG_DATA_HOME=$HOMELINE_E2E_HOME/.local/share
    # Ports the kernel says are free now (a fixed or random one may be taken).
    free_port() { node -e "const s=require(\"net\").createServer().listen(0,\"127.0.0.1\",()=>{console.log(s.address().port);s.close()})"; }
    port=$(free_port); native=$(free_port)
    export HOMELINE_WEBDRIVER_URL=http://127.0.0.1:$port
    "$HOMELINE_TAURI_DRIVER" --port "$port" --native-port "$native" \
      >"$HOMELINE_E2E_OUT/tauri-driver.log" 2>&1 &
    driver=$!
    trap "kill $driver 2>/dev/null || true" EXIT
    ready=
    for _ in $(seq 300); do
      kill -0 "$driver" 2>/dev/null || break
      curl -fsS "$HOMELINE_WEBDRIVER_URL/status" >/dev/null 2>&1 && { ready=1; break; }
      sleep 0.1
    done
    if [ -z "$ready" ]; then
      echo "tauri-driver did not come up on port $port; its log:" >&2
      cat "$HOMELINE_E2E_OUT/tauri-driver.log" >&2
      exit 1
    fi
    node --test --test-concurrency=1 "$HOMELINE_E2E_TESTS/$HOMELINE_E2E_NAME.test.mjs"
  ' || status=$?
  # Keep what the app wrote next to the screenshots for whoever reads a failed CI log.
  cp -r "$home" "$out/$name/home" 2>/dev/null || true
  return "$status"
}

status=0
drive app "$root/scripts/with-keyring.sh" || status=1
drive contacts "$root/scripts/with-keyring.sh" || status=1
drive broken-config "$root/scripts/with-keyring.sh" || status=1
drive registration "$root/scripts/with-keyring.sh" || status=1
drive calls "$root/scripts/with-keyring.sh" "$root/scripts/with-pulse.sh" || status=1
drive incoming "$root/scripts/with-keyring.sh" "$root/scripts/with-pulse.sh" || status=1
drive first-run "$root/scripts/with-keyring.sh" "$root/scripts/with-pulse.sh" || status=1
drive desktop "$root/scripts/with-keyring.sh" || status=1
drive headset "$root/scripts/with-keyring.sh" || status=1
drive network "$root/scripts/with-keyring.sh" || status=1
drive diagnostics "$root/scripts/with-keyring.sh" || status=1
drive languages "$root/scripts/with-keyring.sh" || status=1
drive no-keyring env DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/homeline-no-bus || status=1
exit "$status"
