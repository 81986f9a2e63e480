package mqttin

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lineside/lineside/sensors"
)

func TestFieldExtraction(t *testing.T) {
	const doc = `{"a":{"b":[{"c":1.5},{"c":"2.25"}],"flag":true,"n":null,"s":"abc"},"arr":[[7,8]],"big":1e400,"k-1":3}`
	cases := []struct {
		path string
		want float64
		err  error
	}{
		{"a.b[0].c", 1.5, nil},
		{"a.b[1].c", 2.25, nil},
		{"arr[0][1]", 8, nil},
		{"k-1", 3, nil},
		{"a.b[2].c", 0, sensors.ErrMalformed},
		{"a.x", 0, sensors.ErrMalformed},
		{"a.b.c", 0, sensors.ErrMalformed},
		{"arr.x", 0, sensors.ErrMalformed},
		{"a.flag", 0, sensors.ErrWrongType},
		{"a.n", 0, sensors.ErrWrongType},
		{"a.s", 0, sensors.ErrWrongType},
		{"a", 0, sensors.ErrWrongType},
		{"big", 0, sensors.ErrNotFinite},
	}
	d, err := Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			p, err := ParsePath(c.path)
			if err != nil {
				t.Fatal(err)
			}
			if p.String() != c.path {
				t.Errorf("String() = %q", p.String())
			}
			v, err := p.Lookup(d)
			var got float64
			if err == nil {
				got, err = Number(v)
			}
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("got %v, %v; want error %v", got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestParsePathErrors(t *testing.T) {
	for _, s := range []string{"a.", ".a", "a..b", "a[", "a[x]", "a[-1]", "a[+1]", "a]", "a[0]b", "a[0].", "a.[0]"} {
		if p, err := ParsePath(s); err == nil {
			t.Errorf("ParsePath(%q) = %v, want an error", s, p)
		}
	}
	p, err := ParsePath("")
	if err != nil || len(p) != 0 {
		t.Errorf("ParsePath(\"\") = %v, %v", p, err)
	}
}

func TestDecodeAndTimestamp(t *testing.T) {
	for _, bad := range []string{`{"a":`, `{"a":1} x`, ``, `nan`} {
		if _, err := Decode([]byte(bad)); !errors.Is(err, sensors.ErrMalformed) {
			t.Errorf("Decode(%q): %v, want malformed", bad, err)
		}
	}
	d, _ := Decode([]byte(`{"iso":"2024-05-01T10:00:00.5Z","ms":1714557600500,"bad":"yesterday","b":true}`))
	m := d.(map[string]any)
	want := time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.UTC)
	for _, k := range []string{"iso", "ms"} {
		if got, err := Timestamp(m[k]); err != nil || !got.Equal(want) {
			t.Errorf("Timestamp(%s) = %v, %v; want %v", k, got, err, want)
		}
	}
	for _, k := range []string{"bad", "b"} {
		if _, err := Timestamp(m[k]); !errors.Is(err, sensors.ErrMalformed) {
			t.Errorf("Timestamp(%s): %v, want malformed", k, err)
		}
	}
}

// FuzzJSONField checks that no path and no payload makes extraction panic,
// and that a parsed path prints back to an equal path.
func FuzzJSONField(f *testing.F) {
	f.Add("a.b[0].c", []byte(`{"a":{"b":[{"c":1}]}}`))
	f.Add("x[3][0]", []byte(`{"x":[1,2,3,[4]]}`))
	f.Add("", []byte(`12.5`))
	f.Add("a", []byte(`{"a":"NaN"}`))
	f.Add("t", []byte(`{"t":1e999}`))
	f.Fuzz(func(t *testing.T, path string, payload []byte) {
		p, err := ParsePath(path)
		if err != nil {
			return
		}
		back, err := ParsePath(p.String())
		if err != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("path %q prints as %q, which parses to %v, %v", path, p.String(), back, err)
		}
		doc, err := Decode(payload)
		if err != nil {
			if !errors.Is(err, sensors.ErrMalformed) {
				t.Fatalf("Decode error %v is not ErrMalformed", err)
			}
			return
		}
		v, err := p.Lookup(doc)
		if err != nil {
			return
		}
		if _, err := Number(v); err != nil && !errors.Is(err, sensors.ErrWrongType) && !errors.Is(err, sensors.ErrNotFinite) {
			t.Fatalf("Number error %v of an unexpected kind", err)
		}
		_, _ = Timestamp(v)
	})
}
