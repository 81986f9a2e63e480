#!/bin/sh
# lineside postinst: creates the service user and the state directory, lets
# the service read its config, and restarts a running service after an
# upgrade. The service is not enabled here: the technician edits the config
# first, then runs `systemctl enable --now lineside`.
set -e

if [ "$1" = configure ]; then
  if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers lineside.conf
  elif ! getent passwd lineside >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/lineside --no-create-home \
      --shell /usr/sbin/nologin --comment "lineside edge agent" lineside
  fi
  if command -v systemd-tmpfiles >/dev/null 2>&1; then
    systemd-tmpfiles --create lineside.conf
  else
    install -d -m 0750 -o lineside -g lineside /var/lib/lineside
  fi
  # The config is root's to edit and the service's to read. A group the
  # administrator chose is left alone.
  cfg=/etc/lineside/lineside.yaml
  if [ -f "$cfg" ] && [ "$(stat -c %G "$cfg")" = root ]; then
    chgrp lineside "$cfg"
    chmod 0640 "$cfg"
  fi
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    if [ -n "$2" ]; then
      systemctl try-restart lineside.service || true
    fi
  fi
fi
exit 0
