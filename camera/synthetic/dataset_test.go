package synthetic

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/npy"
)

// python is Debian's interpreter, the one with numpy that training uses.
const python = "/usr/bin/python3"

func writeDataset(t *testing.T, o DatasetOptions) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "set")
	if err := WriteDefectDataset(dir, o); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestWriteDefectDatasetLoadsInNumpy(t *testing.T) {
	o := DefaultDatasetOptions()
	o.N, o.Seed, o.Noise = 42, 3, 1.5
	dir := writeDataset(t, o)
	script := `
import json, sys, numpy as np
x = np.load(sys.argv[1] + "/images.npy"); y = np.load(sys.argv[1] + "/labels.npy")
print(json.dumps({"images": [str(x.dtype), list(x.shape)], "labels": [str(y.dtype), list(y.shape)],
                  "counts": np.bincount(y, minlength=4).tolist()}))`
	out, err := exec.Command(python, "-c", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy cannot load the dataset: %v\n%s", err, out)
	}
	var got struct {
		Images, Labels [2]any
		Counts         []int
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if s := strings.TrimSpace(string(out)); !strings.Contains(s, `"images": ["uint8", [42, 64, 64]]`) ||
		!strings.Contains(s, `"labels": ["int64", [42]]`) {
		t.Errorf("numpy sees %s", s)
	}
	// 42 images cannot split evenly: counts may differ by one.
	lo, hi := got.Counts[0], got.Counts[0]
	for _, c := range got.Counts {
		lo, hi = min(lo, c), max(hi, c)
	}
	if hi-lo > 1 {
		t.Errorf("class counts %v are not balanced", got.Counts)
	}

	var meta map[string]any
	raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"kind": "defect", "n": 42.0, "seed": 3.0, "noise": 1.5,
		"lighting": 1.0, "blur": 0.0, "generator_version": GeneratorVersion} {
		if meta[k] != want {
			t.Errorf("meta.json %s = %v, want %v", k, meta[k], want)
		}
	}
	if l, _ := json.Marshal(meta["labels"]); string(l) != `["ok","scratch","spot","crack"]` {
		t.Errorf("meta.json labels %s", l)
	}
}

// TestDatasetImagesAreModelInputs checks that each stored image is its frame
// reduced by ModelInput, with the label the frame was rendered with.
func TestDatasetImagesAreModelInputs(t *testing.T) {
	o := DefaultDatasetOptions()
	o.N, o.Seed, o.Workers = 8, 11, 3
	dir := writeDataset(t, o)
	images, err := npy.Read(filepath.Join(dir, "images.npy"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := npy.Read(filepath.Join(dir, "labels.npy"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := o.params()
	for i := range o.N {
		class := int(labels.Data.([]int64)[i])
		img, _ := render(t, p, o.Seed, uint64(i), class)
		want := modelInput(t, img, p)
		if !bytes.Equal(images.Data.([]uint8)[i*4096:(i+1)*4096], want) {
			t.Fatalf("image %d is not the model input of frame %d (class %d)", i, i, class)
		}
	}
}

func TestDatasetIndependentOfWorkers(t *testing.T) {
	o := DefaultDatasetOptions()
	o.N, o.Workers = 12, 1
	a := writeDataset(t, o)
	o.Workers = 4
	b := writeDataset(t, o)
	for _, f := range []string{"images.npy", "labels.npy", "meta.json"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if !bytes.Equal(x, y) || len(x) == 0 {
			t.Errorf("%s differs between 1 and 4 workers", f)
		}
	}
}

func TestDatasetOptionErrors(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dir  string
		edit func(*DatasetOptions)
		want string
	}{
		{"zero n", t.TempDir(), func(o *DatasetOptions) { o.N = 0 }, "n 0"},
		{"ok share", t.TempDir(), func(o *DatasetOptions) { o.OKShare = 2 }, "ok-share 2"},
		{"lighting", t.TempDir(), func(o *DatasetOptions) { o.Lighting = -1 }, "lighting -1"},
		{"size", t.TempDir(), func(o *DatasetOptions) { o.Width = 10 }, "width 10"},
		{"dir under a file", filepath.Join(blocker, "set"), func(o *DatasetOptions) {}, "create directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultDatasetOptions()
			o.N = 4
			tc.edit(&o)
			err := WriteDefectDataset(tc.dir, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestModelInputIsWhatTheAgentFeeds checks that training images are reduced
// byte for byte as the agent reduces camera frames before inference.
func TestModelInputIsWhatTheAgentFeeds(t *testing.T) {
	img, _ := render(t, DefaultParams(), 1, 0, 1)
	p := DefaultParams()
	got := modelInput(t, img, p)
	frame, _ := gocv.NewMatFromBytes(p.Height, p.Width, gocv.MatTypeCV8UC3, img)
	defer frame.Close()
	want := gocv.NewMat()
	defer want.Close()
	if err := inference.ReduceFrame(frame, &want, inference.ColorGray, 64, 64); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.ToBytes()) {
		t.Fatal("ModelInput differs from inference.ReduceFrame, the agent's pre-processing")
	}
}
