#!/bin/sh
# Homeline's .deb: the headset rule (/usr/lib/udev/rules.d/70-homeline-headset.rules) takes
# effect at once, so a headset already plugged in answers calls without a replug or a reboot.
# Without udev (a container, a chroot) there is nothing to do.
set -e
if command -v udevadm >/dev/null 2>&1; then
  udevadm control --reload-rules >/dev/null 2>&1 || true
  udevadm trigger --subsystem-match=hidraw --action=change >/dev/null 2>&1 || true
fi
exit 0
