#!/usr/bin/env bash
# Start-up time, idle memory and binary size of the release app next to a bare Tauri window.
# Needs the test dependencies (scripts/install-deps.sh test) and ui/dist (make ui).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p homeline-app -p homeline-bare-window --features custom-protocol
home=$(mktemp -d /tmp/homeline-bench.XXXXXX)
trap 'kill $xvfb 2>/dev/null || true; rm -rf "$home"' EXIT
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$home/display" 2>/dev/null &
xvfb=$!
for _ in $(seq 50); do [ -s "$home/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$home/display")" HOME=$home XDG_CONFIG_HOME=$home/.config XDG_DATA_HOME=$home/.local/share
export WEBKIT_DISABLE_DMABUF_RENDERER=1 WEBKIT_DISABLE_COMPOSITING_MODE=1 LIBGL_ALWAYS_SOFTWARE=1
[ "$(id -u)" -eq 0 ] && export WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS=1
scripts/with-keyring.sh python3 scripts/bench-app.py target/release/homeline-app target/release/homeline-bare-window
