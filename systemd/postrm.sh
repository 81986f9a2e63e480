#!/bin/sh
# lineside postrm: on purge, deletes the store (/var/lib/lineside), which may
# still hold results the broker has not acknowledged. The lineside user
# stays, as Debian does for system users (files may still belong to it).
set -e
if [ "$1" = purge ]; then
  rm -rf /var/lib/lineside
  rmdir /etc/lineside 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
exit 0
