//go:build !chaos

package main

// chaosScale picks the short figure: `make test` runs the crash and fault
// tests in their short versions, `make chaos` (-tags chaos) in full.
func chaosScale[T any](short, _ T) T { return short }
