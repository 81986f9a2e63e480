//go:build !linux

package cmalloc

// Trim does nothing where the C library is not glibc.
func Trim() {}

// Arenas returns -1 where the C library is not glibc.
func Arenas() int { return -1 }
