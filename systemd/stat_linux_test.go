package systemd_test

import (
	"os"
	"syscall"
)

// fileUID returns the owner of the file st describes.
func fileUID(st os.FileInfo) int { return int(st.Sys().(*syscall.Stat_t).Uid) }
