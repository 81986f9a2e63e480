//go:build !matprofile

package stream_test

// matCount reports that Mats are not counted without -tags matprofile.
func matCount() (int, bool) { return 0, false }
