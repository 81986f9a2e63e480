package srcutil

import (
	"fmt"
	"math"

	"github.com/lineside/lineside/sensors"
)

// Scale turns a raw reading into engineering units and checks it: value =
// raw·Scale + Offset, refused when not finite or outside [Min, Max].
type Scale struct {
	// Scale multiplies the raw value (option scale, default 1).
	Scale float64
	// Offset is added after scaling (option offset, default 0).
	Offset float64
	// Min and Max bound the scaled value (options min and max); infinite
	// when not set.
	Min, Max float64
}

// ParseScale reads the scale, offset, min and max options of a point.
func ParseScale(o *PointOptions) (Scale, error) {
	s := Scale{Scale: 1, Min: math.Inf(-1), Max: math.Inf(1)}
	var err error
	if s.Scale, err = o.Float("scale", 1); err != nil {
		return s, err
	}
	if s.Offset, err = o.Float("offset", 0); err != nil {
		return s, err
	}
	if s.Min, err = o.Float("min", math.Inf(-1)); err != nil {
		return s, err
	}
	if s.Max, err = o.Float("max", math.Inf(1)); err != nil {
		return s, err
	}
	if s.Min > s.Max {
		return s, o.Errorf("option min=%v: above max=%v", s.Min, s.Max)
	}
	return s, nil
}

// Apply scales raw and checks the result; the error wraps
// sensors.ErrNotFinite or sensors.ErrOutOfRange.
func (s Scale) Apply(raw float64) (float64, error) {
	if math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 0, fmt.Errorf("%w: %v", sensors.ErrNotFinite, raw)
	}
	v := raw*s.Scale + s.Offset
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%w: %v scaled to %v", sensors.ErrNotFinite, raw, v)
	}
	if v < s.Min || v > s.Max {
		return 0, fmt.Errorf("%w: %v not in [%v, %v]", sensors.ErrOutOfRange, v, s.Min, s.Max)
	}
	return v, nil
}
