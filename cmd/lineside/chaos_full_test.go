//go:build chaos

package main

// chaosScale picks the full figure: `make chaos` builds the tests with
// -tags chaos.
func chaosScale[T any](_, full T) T { return full }
