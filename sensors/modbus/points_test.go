package modbus

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/lineside/lineside/sensors"
)

func pt(name, addr string, kv ...string) sensors.PointConfig {
	o := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		o[kv[i]] = kv[i+1]
	}
	return sensors.PointConfig{Name: name, Address: addr, Options: o}
}

func newSource(t *testing.T, raw string, points ...sensors.PointConfig) (*Source, error) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(u, sensors.Options{Name: "plc1", Points: points})
	if err != nil {
		return nil, err
	}
	return s.(*Source), nil
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		url    string
		points []sensors.PointConfig
		want   string
	}{
		{"modbus://h:502?unit=300", []sensors.PointConfig{pt("a", "holding:1")}, `url parameter unit="300"`},
		{"modbus://h:502?slave=1", []sensors.PointConfig{pt("a", "holding:1")}, `url parameter "slave": unknown`},
		{"modbus://h", []sensors.PointConfig{pt("a", "holding:1")}, "want modbus://HOST:PORT"},
		{"modbus://h:502", nil, "no points"},
		{"modbus://h:502", []sensors.PointConfig{pt("a", "register:1")}, `point "a": address "register:1"`},
		{"modbus://h:502", []sensors.PointConfig{pt("a", "holding:70000")}, `point "a": address "holding:70000"`},
		{"modbus://h:502", []sensors.PointConfig{pt("a", "holding:65535", "type", "float32")}, "runs past"},
		{"modbus://h:502", []sensors.PointConfig{pt("a", "holding:1", "type", "double")}, `point "a": option type="double"`},
		{"modbus://h:502", []sensors.PointConfig{pt("a", "holding:1", "word_order", "mid")}, `option word_order="mid"`},
		{"modbus://h:502", []sensors.PointConfig{pt("a", "holding:1", "byte_order", "x")}, `option byte_order="x"`},
		{"modbus://h:502", []sensors.PointConfig{pt("a", "holding:1", "scale", "abc")}, `option scale="abc"`},
		{"modbus://h:502", []sensors.PointConfig{pt("a", "holding:1", "min", "5", "max", "1")}, "option min=5: above max=1"},
		{"modbus://h:502", []sensors.PointConfig{pt("a", "holding:1", "scael", "2")}, `option "scael": unknown`},
		{"modbus://h:502", []sensors.PointConfig{pt("a", "coil:1", "type", "float32")}, `option "type": unknown`},
	}
	for _, c := range cases {
		_, err := newSource(t, c.url, c.points...)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `source "plc1"`) {
			t.Errorf("%s %v: error %v, want one naming the source and %q", c.url, c.points, err, c.want)
		}
	}
}

func TestOverlappingRegisterMapRefused(t *testing.T) {
	cases := [][]sensors.PointConfig{
		{pt("speed", "holding:100", "type", "float32"), pt("status", "holding:101")},
		{pt("status", "holding:101"), pt("speed", "holding:100", "type", "uint32")},
		{pt("a", "input:7", "type", "int32"), pt("b", "input:7", "type", "float32")},
		{pt("a", "holding:7", "type", "int32"), pt("b", "holding:7", "type", "int32", "word_order", "low_first")},
	}
	for _, points := range cases {
		_, err := newSource(t, "modbus://h:502", points...)
		if err == nil {
			t.Errorf("%v: overlapping map accepted", points)
			continue
		}
		for _, p := range points {
			if !strings.Contains(err.Error(), `"`+p.Name+`"`) {
				t.Errorf("error %q does not name point %q", err, p.Name)
			}
		}
	}
	// The same registers with the same encoding (say, two scalings) and the
	// same register number in two tables are fine.
	_, err := newSource(t, "modbus://h:502",
		pt("raw", "holding:100", "type", "float32"), pt("scaled", "holding:100", "type", "float32", "scale", "10"),
		pt("in", "input:100"), pt("coil", "coil:100"), pt("di", "discrete:100"))
	if err != nil {
		t.Fatal(err)
	}
}

func TestBlocksCoalesceContiguousRegisters(t *testing.T) {
	points := []sensors.PointConfig{
		pt("a", "holding:0", "type", "float32"), pt("b", "holding:2", "type", "float32"), pt("c", "holding:4"),
		pt("d", "holding:10"), pt("e", "input:0"), pt("f", "input:1"), pt("g", "coil:3"), pt("h", "coil:4"),
	}
	for i := range 130 { // longer than one request may read
		points = append(points, pt("run"+strconv.Itoa(i), "holding:"+strconv.Itoa(1000+i)))
	}
	s, err := newSource(t, "modbus://h:502", points...)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range s.blocks {
		got = append(got, string(b.table)+":"+strconv.Itoa(int(b.start))+"+"+strconv.Itoa(b.count))
	}
	want := "coil:3+2 holding:0+5 holding:10+1 holding:1000+125 holding:1125+5 input:0+2"
	if strings.Join(got, " ") != want {
		t.Fatalf("blocks %v, want %s", got, want)
	}
}
