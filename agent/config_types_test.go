package agent

import (
	"testing"
	"time"

	"github.com/lineside/lineside/internal/textdist"
)

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"1048576": MiB,
		"2GiB":    2 * GiB,
		"2gib":    2 * GiB,
		"500MB":   500 * MB,
		"500 MB":  500 * MB,
		"1.5GiB":  3 * GiB / 2,
		"0":       0,
		"10B":     10,
		"1TiB":    TiB,
	} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
		back, err := ParseByteSize(got.String())
		if err != nil || back != got {
			t.Errorf("%q: String() %q does not parse back: %d, %v", in, got.String(), back, err)
		}
	}
	for _, in := range []string{"", "2 gigs", "-5", "GiB", "1e9", "2XB", "99999999999TiB"} {
		if got, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		}
	}
	if got := (2 * GiB).String(); got != "2GiB" {
		t.Errorf("String() = %q, want 2GiB", got)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"250ms": 250 * time.Millisecond, "5s": 5 * time.Second, "1m30s": 90 * time.Second, "0": 0} {
		got, err := ParseDuration(in)
		if err != nil || got.Std() != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"30", "5 secs", "", "fast"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q): want an error", in)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("2s")); err != nil || d.String() != "2s" {
		t.Errorf("UnmarshalText: %v, %v", d, err)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"fsp", "fps", 1},
		{"brokr", "broker", 1},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"same", "same", 0},
	} {
		if got := textdist.Edits(c.a, c.b); got != c.want {
			t.Errorf("textdist.Edits(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if got := suggest("x", []string{"id", "fps"}); got != "" {
		t.Errorf("suggest(x) = %q, want none", got)
	}
}
