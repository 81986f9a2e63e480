// Package synthetic is lineside's line simulator for cameras: it renders a
// top-down inspection view of machined parts (turned washers and milled
// plates) passing on a conveyor belt, some of them scratched, spotted or
// cracked.
//
// The same renderer drives the demo camera (scheme "synthetic", see Source)
// and writes the training data of the reference defect classifier (see
// WriteDefectDataset), so that the model is trained on exactly what the demo
// shows it. Frames are deterministic: frame i of seed S is always the same
// image, and each frame's ground truth is known (Truth) for tests and
// evaluation, but never published.
package synthetic

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// Labels are the defect classes in the order of the reference model's
// outputs and of the class indices in labels.npy.
var Labels = []string{LabelOK, LabelScratch, LabelSpot, LabelCrack}

// Class names; LabelOK is a good part.
const (
	// LabelOK is a part without a defect.
	LabelOK = "ok"
	// LabelScratch is a part with thin straight score marks across its face,
	// mostly bright (burnished), sometimes faint grooves.
	LabelScratch = "scratch"
	// LabelSpot is a part with a dent or stain: a dark soft blob.
	LabelSpot = "spot"
	// LabelCrack is a part with a jagged, branching dark line from an edge.
	LabelCrack = "crack"
)

// GeneratorVersion identifies the renderer's output. It changes whenever the
// same seed and index would render a different image, so that a dataset's
// meta.json says which generator produced it.
const GeneratorVersion = "conveyor/3"

// ClassOf returns the index of label in Labels.
func ClassOf(label string) (int, error) {
	for i, l := range Labels {
		if l == label {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown label %q (known: %v)", label, Labels)
}

// Truth is what a rendered frame shows. It is for tests and evaluation only
// and is never part of a published payload.
type Truth struct {
	// Seed and Index identify the frame: rendering them again gives the same
	// image.
	Seed, Index uint64
	// Label is the frame's class, one of Labels; Class is its index.
	Label string
	Class int
	// Part is the kind of part, PartWasher or PartPlate.
	Part string
	// CenterX and CenterY locate the part's centre in frame pixels.
	CenterX, CenterY float64
	// Size is the washer's outer radius or the plate's half length, in pixels.
	Size float64
	// Angle is the part's rotation in radians.
	Angle float64
	// Bounds is the part's bounding box in frame pixels.
	Bounds image.Rectangle
	// Defect is the bounding box of the defect in frame pixels, empty for ok.
	Defect image.Rectangle
}

// truth describes the frame just drawn.
func (p *part) truth(seed, index uint64, class int, defect image.Rectangle) Truth {
	ex, ey := p.r, p.r
	if p.kind == PartPlate {
		ex = p.r*abs(p.cos) + p.ri*abs(p.sin)
		ey = p.r*abs(p.sin) + p.ri*abs(p.cos)
	}
	return Truth{
		Seed: seed, Index: index, Label: Labels[class], Class: class, Part: p.kind,
		CenterX: p.cx, CenterY: p.cy, Size: p.r, Angle: p.angle,
		Bounds: image.Rect(int(p.cx-ex), int(p.cy-ey), int(p.cx+ex)+1, int(p.cy+ey)+1),
		Defect: defect,
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// ModelInputSize is the side of the square gray image the reference defect
// model takes.
const ModelInputSize = 64

// ModelInput converts a BGR frame into the defect model's input exactly as
// the agent does before inference (inference.ReduceFrame for a gray model):
// first gocv.CvtColor with gocv.ColorBGRToGray, then gocv.Resize to 64×64
// with gocv.InterpolationArea. Training data made with it is therefore what
// the model sees in service, byte for byte. tmp holds the full-size gray
// image; gray receives the result (CV_8UC1, 64×64).
func ModelInput(frame gocv.Mat, tmp, gray *gocv.Mat) {
	gocv.CvtColor(frame, tmp, gocv.ColorBGRToGray)
	gocv.Resize(*tmp, gray, image.Pt(ModelInputSize, ModelInputSize), 0, 0, gocv.InterpolationArea)
}
