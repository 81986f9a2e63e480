package npy

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		shape []int
		data  any
	}{
		{[]int{2, 3}, []uint8{1, 2, 3, 4, 5, 6}},
		{[]int{4}, []int32{-1, 0, 1, 2}},
		{[]int{1, 2, 2}, []float32{0.5, -1.25, 3, 4e6}},
		{[]int{2}, []int64{1 << 40, -7}},
	}
	for i, c := range cases {
		p := filepath.Join(dir, "a.npy")
		if err := Write(p, c.shape, c.data); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		a, err := Read(p)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !reflect.DeepEqual(a.Shape, c.shape) || !reflect.DeepEqual(a.Data, c.data) {
			t.Fatalf("case %d: got %v %v", i, a.Shape, a.Data)
		}
	}
}

func TestShapeMismatchAndTruncated(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.npy")
	if err := Write(p, []int{3}, []uint8{1, 2}); err == nil {
		t.Fatal("want shape mismatch error")
	}
	if err := Write(p, []int{100}, make([]float32, 100)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-10], 0o644)
	if _, err := Read(p); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("want truncated error, got %v", err)
	}
}

// TestNumpyReads checks that numpy itself loads what Write produces.
func TestNumpyReads(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.npy")
	if err := Write(p, []int{2, 2}, []float32{1, 2, 3, 4.5}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", "-c",
		"import numpy,sys; a=numpy.load(sys.argv[1]); print(a.dtype, a.shape, a.sum())", p).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "float32 (2, 2) 10.5" {
		t.Fatalf("numpy read %q", got)
	}
}
