#!/bin/sh
# lineside prerm: stops and disables the service when the package is
# removed (not on upgrade, where postinst restarts it).
set -e
if [ "$1" = remove ]; then
  if [ -d /run/systemd/system ]; then
    systemctl stop lineside.service || true
  fi
  systemctl --no-reload disable lineside.service >/dev/null 2>&1 || true
fi
exit 0
