//go:build matprofile

package stream_test

import "gocv.io/x/gocv"

// matCount returns the number of live gocv Mats; gocv counts them only when
// built with -tags matprofile (make test runs this package so).
func matCount() (int, bool) { return gocv.MatProfile.Count(), true }
