package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/inference"
	"github.com/lineside/lineside/internal/npy"
)

// Classifier is what Defect needs of inference.Classifier.
type Classifier interface {
	// Classify runs the model on one 8-bit frame.
	Classify(img gocv.Mat) (inference.Result, error)
	// Labels returns the class names in output order.
	Labels() []string
}

var _ Classifier = (*inference.Classifier)(nil)

// DefectResult are the figures of a defect classifier on one dataset.
type DefectResult struct {
	// Labels are the classes, in the model's (and the dataset's) order.
	Labels []string `json:"labels"`
	// N is the number of images and Correct those classified right.
	N       int `json:"n"`
	Correct int `json:"correct"`
	// Accuracy is Correct / N.
	Accuracy float64 `json:"accuracy"`
	// Recall[c] is the share of class c's images predicted as c; NaN when
	// the dataset has none of class c.
	Recall []float64 `json:"recall"`
	// Confusion[t][p] counts images of true class t predicted as p.
	Confusion [][]int `json:"confusion"`
	// Lighting, Noise and Blur are the dataset's shift options.
	Lighting float64 `json:"lighting"`
	Noise    float64 `json:"noise"`
	Blur     float64 `json:"blur"`
}

// MinRecall returns the lowest recall over the classes present.
func (r DefectResult) MinRecall() float64 {
	m := math.Inf(1)
	for _, v := range r.Recall {
		if !math.IsNaN(v) {
			m = min(m, v)
		}
	}
	return m
}

// MarshalJSON writes the result with null for the recall of an absent
// class, which JSON cannot hold as NaN.
func (r DefectResult) MarshalJSON() ([]byte, error) {
	type plain DefectResult
	recall := make([]*float64, len(r.Recall))
	for i, v := range r.Recall {
		if !math.IsNaN(v) {
			recall[i] = &v
		}
	}
	return json.Marshal(struct {
		plain
		Recall []*float64 `json:"recall"`
	}{plain(r), recall})
}

// defectMeta is the part of a defect dataset's meta.json Defect reads.
type defectMeta struct {
	Kind       string   `json:"kind"`
	Labels     []string `json:"labels"`
	Images     string   `json:"images"`
	LabelsFile string   `json:"labels_file"`
	Lighting   float64  `json:"lighting"`
	Noise      float64  `json:"noise"`
	Blur       float64  `json:"blur"`
}

// Defect classifies every image of the defect dataset in dir with c, one
// 8-bit gray Mat per image, exactly as the agent classifies a frame, and
// scores the predictions against labels.npy. The dataset's labels must be
// the model's, in the same order.
func Defect(dir string, c Classifier) (DefectResult, error) {
	m, images, labels, err := readDefect(dir, c.Labels())
	if err != nil {
		return DefectResult{}, fmt.Errorf("dataset %s: %w", dir, err)
	}
	k := len(m.Labels)
	res := DefectResult{Labels: m.Labels, N: len(labels), Confusion: make([][]int, k),
		Lighting: m.Lighting, Noise: m.Noise, Blur: m.Blur}
	for t := range res.Confusion {
		res.Confusion[t] = make([]int, k)
	}
	h, w := images.Shape[1], images.Shape[2]
	px := images.Data.([]uint8)
	img := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	defer img.Close()
	buf, err := img.DataPtrUint8()
	if err != nil {
		return res, fmt.Errorf("dataset %s: %w", dir, err)
	}
	for i, t := range labels {
		copy(buf, px[i*h*w:(i+1)*h*w])
		out, err := c.Classify(img)
		if err != nil {
			return res, fmt.Errorf("dataset %s: image %d: %w", dir, i, err)
		}
		res.Confusion[t][out.Index]++
		if out.Index == int(t) {
			res.Correct++
		}
	}
	res.Accuracy = float64(res.Correct) / float64(res.N)
	res.Recall = make([]float64, k)
	for t, row := range res.Confusion {
		total := 0
		for _, v := range row {
			total += v
		}
		res.Recall[t] = math.NaN()
		if total > 0 {
			res.Recall[t] = float64(row[t]) / float64(total)
		}
	}
	return res, nil
}

// readDefect loads and checks meta.json, images.npy and labels.npy.
func readDefect(dir string, modelLabels []string) (defectMeta, *npy.Array, []int64, error) {
	var m defectMeta
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return m, nil, nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, nil, nil, fmt.Errorf("meta.json: %w", err)
	}
	if m.Kind != KindDefect {
		return m, nil, nil, fmt.Errorf("meta.json kind %q, want %s", m.Kind, KindDefect)
	}
	if !slices.Equal(m.Labels, modelLabels) {
		return m, nil, nil, fmt.Errorf("labels %s differ from the model's %s (names and order must agree)",
			strings.Join(m.Labels, ","), strings.Join(modelLabels, ","))
	}
	m.Images = cmp(m.Images, "images.npy")
	m.LabelsFile = cmp(m.LabelsFile, "labels.npy")
	images, err := npy.Read(filepath.Join(dir, m.Images))
	if err != nil {
		return m, nil, nil, err
	}
	if _, ok := images.Data.([]uint8); !ok || len(images.Shape) != 3 || images.Shape[0] < 1 {
		return m, nil, nil, fmt.Errorf("%s: %s %v, want uint8 N×H×W", m.Images, images.Dtype, images.Shape)
	}
	la, err := npy.Read(filepath.Join(dir, m.LabelsFile))
	if err != nil {
		return m, nil, nil, err
	}
	labels, ok := la.Data.([]int64)
	if !ok || len(la.Shape) != 1 || la.Shape[0] != images.Shape[0] {
		return m, nil, nil, fmt.Errorf("%s: %s %v, want int64 of %d", m.LabelsFile, la.Dtype, la.Shape, images.Shape[0])
	}
	for i, l := range labels {
		if l < 0 || int(l) >= len(m.Labels) {
			return m, nil, nil, fmt.Errorf("%s: label %d of image %d: not a class index (%d classes)", m.LabelsFile, l, i, len(m.Labels))
		}
	}
	return m, images, labels, nil
}

// cmp returns v, or def when v is empty.
func cmp(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
