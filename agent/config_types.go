package agent

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that reads and writes as Go duration text
// ("250ms", "5s", "1m30s") in the config file and the environment.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d as Go duration text, e.g. "5s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration parses Go duration text such as "250ms" or "5s". A bare "0"
// is accepted; any other number needs a unit, since a bare 30 could mean
// seconds or nanoseconds.
func ParseDuration(s string) (Duration, error) {
	d, err := parseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q %w", strings.TrimSpace(s), err)
	}
	return d, nil
}

// errBadDuration and errNeedsUnit complete a message that starts with the
// value.
var (
	errBadDuration = errors.New("is not a duration (e.g. 250ms, 5s, 1m)")
	errNeedsUnit   = errors.New("is not a duration: give a unit (e.g. 30s, 250ms)")
)

func parseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, errNeedsUnit
		}
		return 0, errBadDuration
	}
	return Duration(d), nil
}

// ByteSize is a number of bytes. In the config file and the environment it is
// a plain number of bytes ("1048576") or a number with a unit: B, KB, MB, GB,
// TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. "2GiB",
// "500MB", "1.5GiB". Units are case-insensitive.
type ByteSize int64

// Byte size units.
const (
	Byte ByteSize = 1
	KB            = 1000 * Byte
	MB            = 1000 * KB
	GB            = 1000 * MB
	TB            = 1000 * GB
	KiB           = 1024 * Byte
	MiB           = 1024 * KiB
	GiB           = 1024 * MiB
	TiB           = 1024 * GiB
)

var byteUnits = map[string]ByteSize{
	"": Byte, "b": Byte,
	"kb": KB, "mb": MB, "gb": GB, "tb": TB,
	"kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB,
}

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$`)

// ParseByteSize parses a size such as "2GiB", "500MB" or "1048576".
func ParseByteSize(s string) (ByteSize, error) {
	b, err := parseByteSize(s)
	if err != nil {
		return 0, fmt.Errorf("%q %w", strings.TrimSpace(s), err)
	}
	return b, nil
}

// errBadSize and errSizeTooLarge complete a message that starts with the
// value.
var (
	errBadSize      = errors.New("is not a size (e.g. 2GiB, 500MB)")
	errSizeTooLarge = errors.New("is too large")
)

func parseByteSize(s string) (ByteSize, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, errBadSize
	}
	unit, ok := byteUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, errBadSize
	}
	if !strings.Contains(m[1], ".") {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > math.MaxInt64/int64(unit) {
			return 0, errSizeTooLarge
		}
		return ByteSize(n) * unit, nil
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, errBadSize
	}
	b := f * float64(unit)
	if b >= math.MaxInt64 {
		return 0, errSizeTooLarge
	}
	return ByteSize(math.Round(b)), nil
}

// String formats b with the largest unit that divides it exactly, preferring
// binary units, e.g. "2GiB", "500MB" or "1234B". The result parses back to b.
func (b ByteSize) String() string {
	if b == 0 {
		return "0B"
	}
	for _, u := range []struct {
		size ByteSize
		name string
	}{{TiB, "TiB"}, {GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}, {TB, "TB"}, {GB, "GB"}, {MB, "MB"}, {KB, "KB"}} {
		if b%u.size == 0 {
			return strconv.FormatInt(int64(b/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// MarshalText implements encoding.TextMarshaler.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}
