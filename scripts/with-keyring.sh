#!/usr/bin/env bash
# with-keyring.sh CMD [ARGS...]
#
# Runs CMD inside a private D-Bus session (dbus-run-session) with a real gnome-keyring-daemon
# providing the Secret Service, its login collection created and unlocked with a test password
# and set as the default collection. Nothing touches the user's own keyring: the keyring files
# live in a temporary XDG_DATA_HOME that is deleted afterwards, and the daemon ends with the
# session. Exits with CMD's status.
#
# Example (the real-keyring test of homeline-phone):
#   scripts/with-keyring.sh env HOMELINE_REAL_KEYRING=1 cargo test -p homeline-phone
#
# Needs: dbus (dbus-run-session), gnome-keyring; libsecret-tools (secret-tool) for the
# self-check, which is skipped when it is missing.
set -euo pipefail

TEST_PASSWORD="${HOMELINE_TEST_KEYRING_PASSWORD:-homeline-test}"

die() { echo "with-keyring: $*" >&2; exit 1; }

if [ "${1:-}" != "--inside-session" ]; then
  [ $# -ge 1 ] || die "usage: $0 CMD [ARGS...]"
  command -v dbus-run-session >/dev/null || die "dbus-run-session not found (Debian package: dbus)"
  command -v gnome-keyring-daemon >/dev/null \
    || die "gnome-keyring-daemon not found (Debian package: gnome-keyring)"
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/homeline-keyring.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  status=0
  HOMELINE_KEYRING_TMP="$tmp" dbus-run-session -- "$0" --inside-session "$@" || status=$?
  exit "$status"
fi
shift

: "${HOMELINE_KEYRING_TMP:?}"
mkdir -p "$HOMELINE_KEYRING_TMP/data" "$HOMELINE_KEYRING_TMP/runtime"
chmod 700 "$HOMELINE_KEYRING_TMP/runtime"
export XDG_DATA_HOME="$HOMELINE_KEYRING_TMP/data"
export XDG_RUNTIME_DIR="$HOMELINE_KEYRING_TMP/runtime"

# --unlock reads the password on stdin, creates the "login" keyring with it when there is none
# (it then becomes the default collection) and unlocks it; --daemonize returns once the daemon
# has registered on the session bus.
env_lines="$(printf '%s' "$TEST_PASSWORD" \
  | gnome-keyring-daemon --daemonize --unlock --components=secrets)" \
  || die "gnome-keyring-daemon did not start"
# Older versions print GNOME_KEYRING_CONTROL=...; export whatever it told us.
while IFS= read -r line; do
  case "$line" in
    *=*) export "${line?}" ;;
  esac
done <<<"$env_lines"

# Self-check: a write to the default collection and a read back through the Secret Service.
if command -v secret-tool >/dev/null; then
  probe="probe-$$"
  printf '%s' "$probe" | timeout 10 secret-tool store --label="with-keyring probe" \
      homeline-with-keyring probe \
    || die "the keyring does not accept writes (secret-tool store failed)"
  [ "$(timeout 10 secret-tool lookup homeline-with-keyring probe)" = "$probe" ] \
    || die "the keyring did not return what was stored"
  timeout 10 secret-tool clear homeline-with-keyring probe || true
fi

exec "$@"
