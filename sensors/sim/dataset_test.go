package sim

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func smallDataset() DatasetOptions {
	o := DefaultDatasetOptions(300, 11)
	o.Assets = 3
	o.DropoutRate = 0.01
	o.EvalSpan = 20 * 24 * time.Hour
	return o
}

// checkDataset loads the files with numpy and checks shapes, dtypes and
// consistency between them; it prints "ok" when every check holds.
const checkDataset = `
import json, sys
import numpy as np
d = sys.argv[1]
m = json.load(open(d + "/meta.json"))
assert m["kind"] == "pdm" and m["features"] == ["vibration_rms", "temperature", "current", "speed"], m
n, w = m["n"], m["window"]
x = np.load(d + "/windows.npy"); y = np.load(d + "/targets.npy"); ttf = np.load(d + "/ttf.npy")
a = np.load(d + "/asset.npy"); l = np.load(d + "/life.npy")
assert x.dtype == np.float32 and x.shape == (n, w, 4), (x.dtype, x.shape)
assert y.dtype == np.float32 and y.shape == (n,) and ttf.dtype == np.float32 and ttf.shape == (n,)
assert a.dtype == np.int32 and l.dtype == np.int32 and a.shape == (n,) and l.shape == (n,)
assert not np.isnan(x).any()
assert ((ttf <= m["horizon_h"]) == (y == 1)).all() and set(np.unique(y)) <= {0.0, 1.0}
assert 0 < y.sum() < n and (ttf >= 0).all() and set(np.unique(a)) == set(range(m["assets"]))
e = json.load(open(d + "/eval/meta.json"))
s = np.load(d + "/eval/samples.npy"); lv = np.load(d + "/eval/lives.npy")
wl = np.load(d + "/eval/window_life.npy"); we = np.load(d + "/eval/window_end.npy")
wt = np.load(d + "/eval/window_ttf.npy"); wv = np.load(d + "/eval/window_valid.npy")
assert s.dtype == np.float32 and s.shape == (e["samples"], 4) and np.isnan(s).any()
assert lv.dtype == np.int32 and lv.shape == (e["lives"], 5)
assert wl.dtype == np.int32 and we.dtype == np.int32 and wt.dtype == np.float32 and wv.dtype == np.uint8
assert wl.shape == we.shape == wt.shape == wv.shape == (e["windows"],)
off, cnt = lv[wl, 2], lv[wl, 3]
assert ((we - off >= w - 1) & (we < off + cnt)).all() and (np.diff(wl) >= 0).all()
assert ((we - off - (w - 1)) % e["stride"] == 0).all()
assert (wt >= 0).all() and 0.5 < wv.mean() <= 1 and e["asset_weeks"] > 0
print("ok")
`

func TestWritePdmDataset(t *testing.T) {
	dir := t.TempDir()
	if err := WritePdmDataset(dir, smallDataset()); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", "-c", checkDataset, dir).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("numpy checks: %v\n%s", err, out)
	}
	// The same options write the same bytes.
	again := t.TempDir()
	if err := WritePdmDataset(again, smallDataset()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"windows.npy", "targets.npy", "eval/samples.npy", "eval/window_end.npy", "meta.json"} {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, _ := os.ReadFile(filepath.Join(again, name))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two writes with the same seed", name)
		}
	}
}

func TestDatasetOptionsValidate(t *testing.T) {
	with := func(f func(*DatasetOptions)) DatasetOptions {
		o := smallDataset()
		f(&o)
		return o
	}
	cases := []struct {
		name string
		o    DatasetOptions
		want string
	}{
		{"small", smallDataset(), ""},
		{"eval only", with(func(o *DatasetOptions) { o.N = 0 }), ""},
		{"nothing to write", with(func(o *DatasetOptions) { o.N, o.EvalSpan = 0, 0 }), "neither"},
		{"negative n", with(func(o *DatasetOptions) { o.N = -1 }), "n -1"},
		{"negative assets", with(func(o *DatasetOptions) { o.Assets = -2 }), "assets -2"},
		{"window of one", with(func(o *DatasetOptions) { o.Window = 1 }), "window 1"},
		{"sub-second period", with(func(o *DatasetOptions) { o.Period = time.Millisecond }), "period 1ms"},
		{"horizon below period", with(func(o *DatasetOptions) { o.Horizon = time.Second }), "horizon 1s"},
		{"near failure share", with(func(o *DatasetOptions) { o.NearFailure = 2 }), "near failure share 2"},
		{"window longer than lives", with(func(o *DatasetOptions) { o.Window = 100000 }), "too long"},
		{"machine options", with(func(o *DatasetOptions) { o.Noise = -1 }), "noise -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.o.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
			if err := WritePdmDataset(t.TempDir(), c.o); err == nil {
				t.Fatal("WritePdmDataset accepted invalid options")
			}
		})
	}
}
