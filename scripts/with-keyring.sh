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
start_keyring() {
  local env_lines line
  env_lines="$(printf '%s' "$TEST_PASSWORD" \
    | gnome-keyring-daemon --daemonize --unlock --components=secrets)" || return 1
  # Older versions print GNOME_KEYRING_CONTROL=...; export whatever it told us.
  while IFS= read -r line; do
    case "$line" in
      *=*) export "${line?}" ;;
    esac
  done <<<"$env_lines"
}

# Self-check: a write to the default collection and a read back through the Secret Service.
keyring_works() {
  command -v secret-tool >/dev/null || return 0
  local probe="probe-$$"
  printf '%s' "$probe" | timeout 10 secret-tool store --label="with-keyring probe" \
      homeline-with-keyring probe 2>/dev/null || return 1
  [ "$(timeout 10 secret-tool lookup homeline-with-keyring probe)" = "$probe" ] || return 1
  timeout 10 secret-tool clear homeline-with-keyring probe || true
}

# Now and then (more often on a loaded machine) the daemon comes up without its unlocked login
# collection as the default one, and every write then asks for a prompt that has no display and
# is cancelled. Such a daemon never recovers: stop it, forget its keyring files, start afresh.
ready=
for attempt in 1 2 3; do
  start_keyring || die "gnome-keyring-daemon did not start"
  if keyring_works; then
    ready=1
    break
  fi
  echo "with-keyring: the keyring refused a test write (attempt $attempt); starting it again" >&2
  pid=$(dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus / \
    org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null \
    | awk '{print $2}')
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  for _ in $(seq 50); do
    dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
      | grep -q 'boolean true' || break
    sleep 0.1
  done
  rm -rf "$XDG_DATA_HOME/keyrings"
done
[ -n "$ready" ] || die "the keyring does not accept writes (secret-tool store failed 3 times)"

exec "$@"
