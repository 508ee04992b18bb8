#!/usr/bin/env bash
# Checks Homeline's .deb as a new user's machine gets it:
#   tests/package/test-deb.sh PATH/TO/Homeline_*.deb
# 1. the control data: name, version, the libraries it needs;
# 2. the desktop entry: starts the app, registers sip:, sips: and tel: links; the headset's
#    udev rule is the one in assets/udev and the package reloads udev after installing;
# 3. installs it with dpkg into a fresh, empty root (its dependencies are this machine's, so
#    --force-depends) and starts what it installed: `homeline --version`, then the app itself
#    under Xvfb until its window shows.
set -euo pipefail
deb=$(realpath "${1:?usage: test-deb.sh PATH/TO/Homeline_*.deb}")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
fail() { echo "test-deb: FAILED: $*" >&2; exit 1; }
tmp=$(mktemp -d /tmp/homeline-deb.XXXXXX)
xvfb=
app=
cleanup() {
  [ -n "$app" ] && kill "$app" 2>/dev/null
  [ -n "$xvfb" ] && kill "$xvfb" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# 1. Control data.
[ "$(dpkg-deb -f "$deb" Package)" = homeline ] || fail "package name"
version=$(dpkg-deb -f "$deb" Version)
want=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
[ "$version" = "$want" ] || fail "version $version, the workspace says $want"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libwebkit2gtk-4.1-0 libgtk-3-0 libayatana-appindicator3-1 libasound2; do
  [[ "$depends" == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
echo "ok: homeline $version, Depends: $depends"

# 2. Desktop entry.
entry=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO usr/share/applications/Homeline.desktop) ||
  fail "no usr/share/applications/Homeline.desktop"
grep -qx 'Exec=homeline-app' <<<"$entry" || fail "Exec: $entry"
for scheme in sip sips tel; do
  grep -q "^MimeType=.*x-scheme-handler/$scheme\(;\|$\)" <<<"$entry" || fail "no x-scheme-handler/$scheme: $entry"
done
echo "ok: desktop entry opens sip:, sips: and tel: links"

rule=usr/lib/udev/rules.d/70-homeline-headset.rules
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./$rule" >"$tmp/rule" 2>/dev/null ||
  dpkg-deb --fsys-tarfile "$deb" | tar -xO "$rule" >"$tmp/rule" ||
  fail "no /$rule in the package"
cmp -s "$tmp/rule" "$root/assets/udev/70-homeline-headset.rules" ||
  fail "/$rule differs from assets/udev/70-homeline-headset.rules"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst >"$tmp/postinst" 2>/dev/null ||
  dpkg-deb --ctrl-tarfile "$deb" | tar -xO postinst >"$tmp/postinst" || fail "no postinst"
grep -q 'udevadm control --reload-rules' "$tmp/postinst" || fail "postinst does not reload udev"
echo "ok: the headset's udev rule is installed and udev reloaded"

# 3. A fresh root: an empty dpkg database, then the package.
fresh=$tmp/root
mkdir -p "$fresh/var/lib/dpkg/info" "$fresh/var/lib/dpkg/updates" "$fresh/var/lib/dpkg/triggers"
touch "$fresh/var/lib/dpkg/status" "$fresh/var/lib/dpkg/available"
dpkg --root="$fresh" --force-depends --force-script-chrootless -i "$deb" >"$tmp/dpkg.log" 2>&1 ||
  { cat "$tmp/dpkg.log" >&2; fail "dpkg -i"; }
dpkg --root="$fresh" -s homeline | grep -q '^Status: install ok installed' || fail "not installed"
out=$("$fresh/usr/bin/homeline" --version) || fail "homeline --version"
[[ "$out" == *"$version"* ]] || fail "homeline --version said: $out"
echo "ok: installed into a fresh root; $out"

# The installed app opens its window (a throw-away home; no keyring needed for that).
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$tmp/display" 2>"$tmp/xvfb.log" &
xvfb=$!
for _ in $(seq 50); do [ -s "$tmp/display" ] && break; sleep 0.1; done
[ -s "$tmp/display" ] || fail "Xvfb did not start"
export DISPLAY=":$(cat "$tmp/display")"
export WEBKIT_DISABLE_DMABUF_RENDERER=1 WEBKIT_DISABLE_COMPOSITING_MODE=1 LIBGL_ALWAYS_SOFTWARE=1
[ "$(id -u)" -eq 0 ] && export WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS=1
mkdir -p "$tmp/home"
HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config XDG_DATA_HOME=$tmp/home/.local/share \
  DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/homeline-no-bus \
  "$fresh/usr/bin/homeline-app" >"$tmp/app.log" 2>&1 &
app=$!
state=none
for _ in $(seq 300); do
  kill -0 "$app" 2>/dev/null || { cat "$tmp/app.log" >&2; fail "the installed app exited"; }
  state=$("$root/tests/e2e/x11.py" state Homeline)
  [ "$state" = visible ] && break
  sleep 0.1
done
[ "$state" = visible ] || { tail -20 "$tmp/app.log" >&2; fail "no Homeline window within 30 s"; }
echo "ok: the installed app opened its window"
echo "test-deb: all checks passed"
