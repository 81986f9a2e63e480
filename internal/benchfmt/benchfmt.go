// Package benchfmt prints benchmark figures in the line format of DESIGN.md:
//
//	bench: NAME value=V unit=U limit=L ratio=R better=higher|lower
//
// where limit is the raw figure of the underlying library measured in the same
// run and ratio = value / limit. Comparisons live in files tagged
// `//go:build bench` as TestBench* functions, so `make test` never sees them
// and `make bench` runs them with `go test -tags bench -run TestBench`.
package benchfmt

import (
	"fmt"
	"io"
	"os"
)

// Better says which direction of a figure is an improvement.
type Better string

// Directions for Better.
const (
	Higher Better = "higher"
	Lower  Better = "lower"
)

// Line formats one figure.
func Line(name string, value float64, unit string, limit float64, better Better) string {
	ratio := 0.0
	if limit != 0 {
		ratio = value / limit
	}
	return fmt.Sprintf("bench: %s value=%.4g unit=%s limit=%.4g ratio=%.3f better=%s", name, value, unit, limit, ratio, better)
}

// Print writes one figure line to w (os.Stdout when nil).
func Print(w io.Writer, name string, value float64, unit string, limit float64, better Better) {
	if w == nil {
		w = os.Stdout
	}
	fmt.Fprintln(w, Line(name, value, unit, limit, better))
}
