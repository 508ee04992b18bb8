#!/usr/bin/env bash
# Runs a command with a private PulseAudio that has two paced virtual devices:
#   null sink "headset"  (description "Headset")  and its monitor source "headset.monitor"
#   null sink "speakers" (description "Speakers") and its monitor source "speakers.monitor"
# "speakers" is the default sink, so a test that unloads "headset" sees audio fall back there.
#
# Why PulseAudio null sinks: this machine (and CI) has no sound card, and ALSA's own `null`
# device is not paced (it swallows samples as fast as they come), so timing and hot-plug could
# not be tested with it. A null sink is clocked like a real card.
#
# The server is private (its own runtime dir, socket and config, no autospawn, no user config),
# so it never touches a desktop session's sound server. Clients find it through PULSE_SERVER;
# ALSA programs through a temporary ALSA config whose default pcm is the pulse plug-in
# (libasound2-plugins), pointed to by ALSA_CONFIG_PATH.
#
# Usage: scripts/with-pulse.sh CMD [ARGS...]
# Needs Debian's pulseaudio, pulseaudio-utils and libasound2-plugins.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi
for tool in pulseaudio pactl; do
  if ! command -v "$tool" >/dev/null; then
    echo "with-pulse.sh: $tool is missing (apt-get install pulseaudio pulseaudio-utils libasound2-plugins)" >&2
    exit 2
  fi
done

dir=$(mktemp -d /tmp/homeline-pulse.XXXXXX)
pa_pid=""
cleanup() {
  if [ -n "$pa_pid" ] && kill -0 "$pa_pid" 2>/dev/null; then
    kill "$pa_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pa_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pa_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

mkdir -p "$dir/runtime" "$dir/home" "$dir/state"
chmod 700 "$dir/runtime"
socket="$dir/runtime/native"

cat >"$dir/default.pa" <<EOF
load-module module-native-protocol-unix socket=$socket auth-anonymous=1
load-module module-null-sink sink_name=speakers sink_properties=device.description=Speakers rate=48000 channels=2
load-module module-null-sink sink_name=headset sink_properties=device.description=Headset rate=48000 channels=2
set-default-sink speakers
set-default-source speakers.monitor
EOF
cat >"$dir/client.conf" <<EOF
autospawn = no
default-server = unix:$socket
EOF
# The ALSA route (DESIGN.md): programs that speak ALSA reach the same server.
cat >"$dir/asound.conf" <<EOF
pcm.!default { type pulse }
ctl.!default { type pulse }
EOF
alsa_conf="$dir/asound.conf"
if [ -f /usr/share/alsa/alsa.conf ]; then
  # ALSA_CONFIG_PATH replaces the system list, so keep the system file (it loads the pulse
  # plug-in's definitions) and put ours last so that it wins.
  alsa_conf="/usr/share/alsa/alsa.conf:$dir/asound.conf"
fi

# The command keeps the caller's HOME (cargo and rustup live there); only the daemon gets a
# temporary one, so that it writes nothing into the real home. The cookie is ours too.
export XDG_RUNTIME_DIR="$dir/runtime"
export PULSE_RUNTIME_PATH="$dir/runtime"
export PULSE_STATE_PATH="$dir/state"
export PULSE_CLIENTCONFIG="$dir/client.conf"
export PULSE_SERVER="unix:$socket"
export PULSE_COOKIE="$dir/cookie"
export ALSA_CONFIG_PATH="$alsa_conf"

# As root (CI) PulseAudio warns that it is not meant for root but runs; --system is not
# wanted because it ignores our -F file and uses a fixed system socket.
HOME="$dir/home" pulseaudio --daemonize=no --exit-idle-time=-1 --disallow-exit --use-pid-file=no \
  --disable-shm=yes -n -F "$dir/default.pa" \
  --log-target=file:"$dir/pulse.log" --log-level=notice \
  >/dev/null 2>&1 &
pa_pid=$!

for _ in $(seq 100); do
  if pactl info >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pa_pid" 2>/dev/null; then
    echo "with-pulse.sh: pulseaudio exited; its log:" >&2
    cat "$dir/pulse.log" >&2 || true
    exit 1
  fi
  sleep 0.1
done
if ! pactl info >/dev/null 2>&1; then
  echo "with-pulse.sh: pulseaudio did not answer within 10 s; its log:" >&2
  cat "$dir/pulse.log" >&2 || true
  exit 1
fi

set +e
"$@"
status=$?
set -e
exit $status
