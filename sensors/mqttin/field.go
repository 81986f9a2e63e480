package mqttin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lineside/lineside/sensors"
)

// step is one element of a Path: an object key or an array index.
type step struct {
	key   string
	index int // used when key is ""
}

// Path locates a value inside a JSON document, written like a.b[0].c: dots
// separate object keys, [N] indexes arrays. The empty Path is the whole
// document.
type Path []step

// ParsePath parses a field path; keys may hold any character but '.', '['
// and ']'.
func ParsePath(s string) (Path, error) {
	var p Path
	rest := s
	for rest != "" {
		switch {
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("field %q: unclosed [", s)
			}
			n, err := strconv.Atoi(rest[1:end])
			if err != nil || n < 0 || rest[1] == '+' {
				return nil, fmt.Errorf("field %q: index %q: want a non-negative integer", s, rest[1:end])
			}
			p = append(p, step{index: n})
			rest = rest[end+1:]
			if rest != "" && rest[0] != '.' && rest[0] != '[' {
				return nil, fmt.Errorf("field %q: want . or [ after ]", s)
			}
			if rest != "" && rest[0] == '.' {
				rest = rest[1:]
				if rest == "" || rest[0] == '.' || rest[0] == '[' {
					return nil, fmt.Errorf("field %q: empty key", s)
				}
			}
		default:
			end := strings.IndexAny(rest, ".[]")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return nil, fmt.Errorf("field %q: empty key", s)
			}
			if end < len(rest) && rest[end] == ']' {
				return nil, fmt.Errorf("field %q: unexpected ]", s)
			}
			p = append(p, step{key: rest[:end]})
			rest = rest[end:]
			if rest != "" && rest[0] == '.' {
				rest = rest[1:]
				if rest == "" || rest[0] == '.' || rest[0] == '[' {
					return nil, fmt.Errorf("field %q: empty key", s)
				}
			}
		}
	}
	return p, nil
}

// String writes the path back in a.b[0].c form.
func (p Path) String() string {
	var b strings.Builder
	for i, st := range p {
		if st.key == "" {
			fmt.Fprintf(&b, "[%d]", st.index)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(st.key)
	}
	return b.String()
}

// Lookup returns the value at p in a document decoded with
// json.Decoder.UseNumber; the error wraps sensors.ErrMalformed when the
// path does not exist.
func (p Path) Lookup(doc any) (any, error) {
	v := doc
	for _, st := range p {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[st.key]; !ok || st.key == "" {
				return nil, fmt.Errorf("%w: no field %q", sensors.ErrMalformed, p)
			}
		case []any:
			if st.key != "" || st.index >= len(x) {
				return nil, fmt.Errorf("%w: no field %q", sensors.ErrMalformed, p)
			}
			v = x[st.index]
		default:
			return nil, fmt.Errorf("%w: no field %q", sensors.ErrMalformed, p)
		}
	}
	return v, nil
}

// Decode parses a JSON payload keeping numbers exact.
func Decode(payload []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", sensors.ErrMalformed, err)
	}
	if d.More() {
		return nil, fmt.Errorf("%w: data after the JSON value", sensors.ErrMalformed)
	}
	return v, nil
}

// Number converts a looked-up value: a JSON number or a string holding one.
// The error wraps sensors.ErrWrongType or sensors.ErrNotFinite.
func Number(v any) (float64, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, fmt.Errorf("%w: %s, want a number", sensors.ErrWrongType, typeName(v))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRange(err) {
		return 0, fmt.Errorf("%w: %q, want a number", sensors.ErrWrongType, s)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%w: %q", sensors.ErrNotFinite, s)
	}
	return f, nil
}

// Timestamp converts a looked-up time: an RFC 3339 string or a number of
// milliseconds since the Unix epoch.
func Timestamp(v any) (time.Time, error) {
	if s, ok := v.(string); ok {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: time %q: want RFC 3339 or epoch ms", sensors.ErrMalformed, s)
		}
		return t, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: time is %s, want RFC 3339 or epoch ms", sensors.ErrMalformed, typeName(v))
	}
	ms, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(ms) || math.Abs(ms) > 1e15 {
		return time.Time{}, fmt.Errorf("%w: time %s: want epoch ms", sensors.ErrMalformed, n)
	}
	return time.UnixMilli(int64(ms)), nil
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	}
	return fmt.Sprintf("%T", v)
}
