#!/usr/bin/env bash
# Installs what Homeline needs on Debian 12 (bookworm) or later.
#   scripts/install-deps.sh build   - to build and run the app
#   scripts/install-deps.sh test    - additionally the real servers and tools the tests start
# Idempotent: only missing packages are installed. Uses sudo when not root.
set -euo pipefail

want=${1:-build}

build_pkgs=(
  build-essential pkg-config cmake curl file
  libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libxdo-dev libsoup-3.0-dev
  libjavascriptcoregtk-4.1-dev
  libasound2-dev libdbus-1-dev libopus-dev libhidapi-dev libudev-dev
  libayatana-appindicator3-dev
)
test_pkgs=(
  kamailio kamailio-tls-modules kamailio-websocket-modules kamailio-presence-modules
  coturn sip-tester baresip
  pulseaudio pulseaudio-utils libasound2-plugins
  gnome-keyring libsecret-tools dbus dbus-x11
  xvfb xauth webkit2gtk-driver python3-xlib python3-pil
  # Chinese glyphs for the screenshots of the UI in Simplified Chinese (Cyrillic is in the defaults).
  fonts-noto-cjk
  # conntrack: the fault lab flushes the router's NAT table under a call.
  nftables iproute2 iputils-ping procps psmisc openssl conntrack
  python3-venv python3-dev
)

pkgs=("${build_pkgs[@]}")
[ "$want" = test ] && pkgs+=("${test_pkgs[@]}")
# Node.js may come from elsewhere (NodeSource bundles npm): ask for Debian's only when missing.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  # Daemons such as kamailio and coturn must not start on the host: the tests start their own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: no Rust toolchain found; install rustup (https://rustup.rs) and run again" >&2
  exit 1
fi

if [ "$want" = test ]; then
  # PESQ (ITU-T P.862) for the audio-quality tests: the `pesq` package from PyPI (built from
  # source with the C compiler), in a venv of its own, never system-wide. homeline-lab looks
  # for it at $HOMELINE_PESQ_VENV, else ${XDG_CACHE_HOME:-~/.cache}/homeline/pesq-venv.
  pesq_venv=${HOMELINE_PESQ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/homeline/pesq-venv}
  # Optional: without it the tests skip PESQ and keep to correlation and SNR.
  if ! "$pesq_venv/bin/python" -c 'import numpy, pesq' >/dev/null 2>&1; then
    echo "install-deps: PESQ into $pesq_venv" >&2
    if ! (/usr/bin/python3 -m venv "$pesq_venv" &&
      "$pesq_venv/bin/pip" install -q --disable-pip-version-check 'numpy>=1.24' 'cython>=3' &&
      "$pesq_venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation 'pesq==0.0.4'); then
      echo "install-deps: PESQ could not be installed; tests will skip PESQ scores" >&2
    fi
  fi
  if ! command -v tauri-driver >/dev/null 2>&1; then
    echo "install-deps: cargo install tauri-driver" >&2
    cargo install --locked tauri-driver --version '^2'
  fi
fi
