#!/usr/bin/env bash
# Builds Homeline's Debian package with the Tauri bundler (the npm @tauri-apps/cli, so nothing
# is downloaded outside the package registries):
#   scripts/package.sh            release build → target/release/bundle/deb/Homeline_*.deb
#   scripts/package.sh --debug    debug build (what the test suite packages and installs)
# The package holds the app (/usr/bin/homeline-app), the CLI (/usr/bin/homeline), the desktop
# entry that registers the sip:, sips: and tel: links, and the icons. AppImage needs
# linuxdeploy from outside the registries and is not built here; Windows (NSIS/MSI) and macOS
# (DMG) bundles are configured in src-tauri/tauri.conf.json and built on those systems with
# `npx tauri build` (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
args=()
if [ "${1:-}" = --debug ]; then
  profile=debug
  args+=(--debug)
fi
[ -x ui/node_modules/.bin/tauri ] || (cd ui && npm install --no-save --no-audit --no-fund)
(cd ui && npm run build)
cargo_profile=()
[ "$profile" = release ] && cargo_profile=(--release)
cargo build "${cargo_profile[@]}" -p homeline --locked
extra=$(printf '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/homeline":"../target/%s/homeline"}}}}}' "$profile")
ui/node_modules/.bin/tauri build "${args[@]}" --ci --bundles deb --features custom-protocol \
  --config "$extra" -- --locked
ls target/"$profile"/bundle/deb/*.deb
