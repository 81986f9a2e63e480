package synthetic

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/lineside/lineside/internal/npy"
	"gocv.io/x/gocv"
)

// DatasetOptions are the settings of WriteDefectDataset. Each field maps to
// one flag of `lineside sim dataset`, named in its comment; take the flag
// defaults from DefaultDatasetOptions.
type DatasetOptions struct {
	// N is the number of images, at least 1 (--n; default 1000).
	N int
	// Seed selects the frames: the same options always write the same files
	// (--seed; default 1).
	Seed uint64
	// Lighting scales the lighting variation, as Params.Lighting (--lighting;
	// default 1).
	Lighting float64
	// Noise scales the sensor noise, as Params.Noise (--noise; default 1).
	Noise float64
	// Blur is extra blur sigma in pixels, as Params.Blur (--blur; default 0).
	Blur float64
	// OKShare is the share of ok parts in [0, 1]; the rest is split equally
	// between the defect classes (--ok-share; default 0.25, a balanced set).
	OKShare float64
	// Width and Height are the size frames are rendered at before they are
	// reduced to the model input (--width, --height; default 320×240, the
	// demo camera's).
	Width, Height int
	// Workers is the number of frames rendered in parallel; the output does
	// not depend on it (--workers; default 0, one per CPU).
	Workers int
}

// DefaultDatasetOptions returns the defaults documented on DatasetOptions.
func DefaultDatasetOptions() DatasetOptions {
	return DatasetOptions{N: 1000, Seed: 1, Lighting: 1, Noise: 1, OKShare: 0.25,
		Width: DefaultWidth, Height: DefaultHeight}
}

// params returns the renderer parameters of o, validated.
func (o DatasetOptions) params() (Params, error) {
	if o.N < 1 || o.N > 10_000_000 {
		return Params{}, fmt.Errorf("n %d: must be between 1 and 10000000", o.N)
	}
	if !(o.OKShare >= 0 && o.OKShare <= 1) {
		return Params{}, fmt.Errorf("ok-share %g: must be between 0 and 1", o.OKShare)
	}
	if o.Workers < 0 {
		return Params{}, fmt.Errorf("workers %d: must not be negative", o.Workers)
	}
	p := Params{Width: o.Width, Height: o.Height, Parts: PartMixed,
		Lighting: o.Lighting, Noise: o.Noise, Blur: o.Blur}
	return p, p.Validate()
}

// datasetMeta is the content of meta.json.
type datasetMeta struct {
	Kind             string         `json:"kind"`
	Generator        string         `json:"generator"`
	GeneratorVersion string         `json:"generator_version"`
	Labels           []string       `json:"labels"`
	N                int            `json:"n"`
	Seed             uint64         `json:"seed"`
	Lighting         float64        `json:"lighting"`
	Noise            float64        `json:"noise"`
	Blur             float64        `json:"blur"`
	OKShare          float64        `json:"ok_share"`
	Width            int            `json:"width"`
	Height           int            `json:"height"`
	ClassCounts      map[string]int `json:"class_counts"`
	ImageSize        int            `json:"image_size"`
	Preprocessing    string         `json:"preprocessing"`
	Images           string         `json:"images"`
	LabelsFile       string         `json:"labels_file"`
}

// WriteDefectDataset renders o.N frames and writes, into dir (created if
// missing):
//
//   - images.npy: uint8, N×64×64, each frame reduced by ModelInput;
//   - labels.npy: int64, N, the class index in Labels order
//     (ok, scratch, spot, crack);
//   - meta.json: kind "defect", labels, n, seed, shift options, class
//     counts and GeneratorVersion.
//
// Classes are assigned exactly by OKShare and shuffled with the seed; image
// i is frame i of the seed rendered with its class (Renderer.RenderClass).
// meta.json is written last, so a directory holding it is complete.
func WriteDefectDataset(dir string, o DatasetOptions) error {
	p, err := o.params()
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dataset: create directory: %w", err)
	}
	classes, counts := assignClasses(o.N, o.Seed, o.OKShare)
	const px = ModelInputSize * ModelInputSize
	images := make([]uint8, o.N*px)
	workers := o.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, o.N)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r, _ := NewRenderer(p)
			defer r.Close()
			frame, tmp, gray := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
			defer frame.Close()
			defer tmp.Close()
			defer gray.Close()
			for i := w; i < o.N; i += workers {
				r.RenderClass(&frame, o.Seed, uint64(i), int(classes[i]))
				ModelInput(frame, &tmp, &gray)
				b, _ := gray.DataPtrUint8()
				copy(images[i*px:(i+1)*px], b)
			}
		})
	}
	wg.Wait()
	if err := npy.Write(filepath.Join(dir, "images.npy"), []int{o.N, ModelInputSize, ModelInputSize}, images); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := npy.Write(filepath.Join(dir, "labels.npy"), []int{o.N}, classes); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	meta := datasetMeta{Kind: "defect", Generator: "lineside synthetic conveyor", GeneratorVersion: GeneratorVersion,
		Labels: Labels, N: o.N, Seed: o.Seed, Lighting: o.Lighting, Noise: o.Noise, Blur: o.Blur,
		OKShare: o.OKShare, Width: o.Width, Height: o.Height, ClassCounts: map[string]int{},
		ImageSize: ModelInputSize, Preprocessing: "BGR to GRAY, then resize to 64x64 with INTER_AREA (as the agent)",
		Images: "images.npy", LabelsFile: "labels.npy"}
	for c, n := range counts {
		meta.ClassCounts[Labels[c]] = n
	}
	js, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	return nil
}

// assignClasses returns n class indices, round(n·okShare) of them ok and the
// rest split as equally as possible between the defect classes, shuffled
// deterministically by seed, with the count of each class.
func assignClasses(n int, seed uint64, okShare float64) ([]int64, []int) {
	counts := make([]int, len(Labels))
	counts[0] = int(float64(n)*okShare + 0.5)
	rest, nd := n-counts[0], len(Labels)-1
	for c := 1; c < len(Labels); c++ {
		counts[c] = rest / nd
		if c-1 < rest%nd {
			counts[c]++
		}
	}
	classes := make([]int64, 0, n)
	for c, k := range counts {
		for range k {
			classes = append(classes, int64(c))
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x636c6173736573))
	rng.Shuffle(n, func(i, j int) { classes[i], classes[j] = classes[j], classes[i] })
	return classes, counts
}
