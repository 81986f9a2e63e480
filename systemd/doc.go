// Package systemd holds no code: the folder carries the systemd unit, the
// sysusers.d and tmpfiles.d entries, the packaged default config and the
// nfpm packaging config of lineside. Its tests check them with systemd's
// own tools (systemd-analyze verify and security, systemd-sysusers,
// systemd-tmpfiles) and against the package layout.
package systemd
