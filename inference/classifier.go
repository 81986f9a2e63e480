package inference

import (
	"errors"
	"fmt"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
	"gocv.io/x/gocv"

	"github.com/lineside/lineside/internal/cmalloc"
)

// ErrClosed is returned by Classify after Close.
var ErrClosed = errors.New("classifier closed")

// ClassifierOptions tune how LoadClassifier loads one model.
type ClassifierOptions struct {
	// Overrides are model-contract values from the YAML config, keyed like
	// metadata_props without the "lineside." prefix (labels, input.layout,
	// ...). They win over the model's own metadata. Default: none.
	Overrides map[string]string
	// IntraThreads is the number of threads this model may use per
	// inference. Default 0: inference.intra_threads given to Init.
	IntraThreads int
}

// Classifier runs one defect-classification model on camera frames. It owns
// one ONNX Runtime session with pre-allocated input and output tensors and
// the OpenCV buffers for pre-processing, so Classify allocates nothing in
// steady state. A Classifier is NOT safe for concurrent use: give each
// camera goroutine its own, or serialise calls.
type Classifier struct {
	path     string
	provider string // execution provider serving the session
	meta     Metadata
	inShape  ort.Shape
	session  *ort.AdvancedSession
	input    *ort.Tensor[float32]
	output   *ort.Tensor[float32]
	pre      *preprocessor
	scores   []float32
}

// LoadClassifier loads the model at path, applies opts.Overrides to its
// metadata and checks that model and metadata agree: task
// defect_classification, one float32 input of rank 4 whose channel count
// matches the layout and colour, and one output with one score per label.
// Init must have succeeded first. Every error names the file.
func LoadClassifier(path string, opts ClassifierOptions) (*Classifier, error) {
	c, err := loadClassifier(path, opts)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return c, nil
}

// loadClassifier does the work of LoadClassifier; on error it frees
// everything it allocated.
func loadClassifier(path string, opts ClassifierOptions) (c *Classifier, err error) {
	defer cmalloc.Trim()
	cfg, threads, in, out, err := loadSetup(path, opts.IntraThreads)
	if err != nil {
		return nil, err
	}
	inShape, err := concreteShape("input", in, true)
	if err != nil {
		return nil, err
	}
	outShape, err := concreteShape("output", out, false)
	if err != nil {
		return nil, err
	}

	c = &Classifier{path: path, inShape: inShape}
	defer func() {
		if err != nil {
			c.Close()
			c = nil
		}
	}()
	if c.input, err = ort.NewEmptyTensor[float32](inShape); err != nil {
		return c, fmt.Errorf("input tensor %v: %w", inShape, err)
	}
	if c.output, err = ort.NewEmptyTensor[float32](outShape); err != nil {
		return c, fmt.Errorf("output tensor %v: %w", outShape, err)
	}
	c.provider, err = newSession(path, threads, cfg.Providers, runtimeLogger(), func(so *ort.SessionOptions) (err error) {
		c.session, err = ort.NewAdvancedSession(path, []string{in.Name}, []string{out.Name},
			[]ort.Value{c.input}, []ort.Value{c.output}, so)
		return err
	})
	if err != nil {
		return c, err
	}
	if c.meta, err = modelContract(c.session.GetModelMetadata, opts.Overrides, TaskDefectClassification); err != nil {
		return c, err
	}
	if err = c.checkShapes(in, out); err != nil {
		return c, err
	}
	c.scores = make([]float32, len(c.meta.Labels))
	c.pre = newPreprocessor(c.meta.Input, int(c.width()), int(c.height()))
	return c, nil
}

// checkShapes checks the model's I/O shapes against its metadata.
func (c *Classifier) checkShapes(in, out ort.InputOutputInfo) error {
	m := c.meta
	if len(c.inShape) != 4 {
		return fmt.Errorf("input %q rank %d (shape %v), want 4 (%s)", in.Name, len(in.Dimensions), in.Dimensions, m.Input.Layout)
	}
	want := map[string]int64{ColorGray: 1, ColorRGB: 3, ColorBGR: 3}[m.Input.Color]
	if got := c.channels(); got != want {
		return fmt.Errorf("input %q shape %v has %d channel(s) in %s layout, but lineside.input.color %s needs %d",
			in.Name, in.Dimensions, got, m.Input.Layout, m.Input.Color, want)
	}
	dims := out.Dimensions
	last := dims[len(dims)-1]
	if last != int64(len(m.Labels)) || c.output.GetShape().FlattenedSize() != last {
		return fmt.Errorf("output %q shape %v gives %d score(s) per image, but lineside.labels has %d (%s)",
			out.Name, dims, c.output.GetShape().FlattenedSize(), len(m.Labels), strings.Join(m.Labels, ","))
	}
	return nil
}

// channels, height and width read the input shape in the model's layout.
func (c *Classifier) channels() int64 {
	if c.meta.Input.Layout == LayoutNHWC {
		return c.inShape[3]
	}
	return c.inShape[1]
}

func (c *Classifier) height() int64 {
	if c.meta.Input.Layout == LayoutNHWC {
		return c.inShape[1]
	}
	return c.inShape[2]
}

func (c *Classifier) width() int64 {
	if c.meta.Input.Layout == LayoutNHWC {
		return c.inShape[2]
	}
	return c.inShape[3]
}

// Provider returns the execution provider that serves the model: the first
// of inference.providers that worked (cpu when none of the others did).
func (c *Classifier) Provider() string { return c.provider }

// Classify runs the model on img, an 8-bit BGR, BGRA or gray frame of any
// size, and returns the most likely label. Result.Scores is owned by the
// Classifier and valid until the next call. Steady-state calls allocate
// nothing on the Go heap.
func (c *Classifier) Classify(img gocv.Mat) (Result, error) {
	if c.session == nil {
		return Result{}, ErrClosed
	}
	if err := c.pre.run(img, c.input.GetData()); err != nil {
		return Result{}, fmt.Errorf("classify: %w", err)
	}
	if err := c.session.Run(); err != nil {
		return Result{}, fmt.Errorf("classify: run %s: %w", c.path, err)
	}
	return postprocess(c.output.GetData(), c.scores, c.meta.Labels, c.meta.Output), nil
}

// Labels returns the class names in output order. The slice is shared; do
// not modify it.
func (c *Classifier) Labels() []string { return c.meta.Labels }

// OKLabel returns the label that means a good part.
func (c *Classifier) OKLabel() string { return c.meta.OKLabel }

// Metadata returns the model contract in effect: the model's metadata with
// the overrides applied.
func (c *Classifier) Metadata() Metadata { return c.meta.clone() }

// InputShape returns the input tensor's shape as fed, with a dynamic batch
// dimension fixed to 1 (e.g. [1 1 64 64] for NCHW gray 64x64).
func (c *Classifier) InputShape() []int64 { return append([]int64(nil), c.inShape...) }

// Close frees the session, tensors and OpenCV buffers. It is safe to call
// more than once; Classify fails with ErrClosed afterwards.
func (c *Classifier) Close() error {
	var errs []error
	if c.session != nil {
		errs = append(errs, c.session.Destroy())
		c.session = nil
	}
	if c.input != nil {
		errs = append(errs, c.input.Destroy())
		c.input = nil
	}
	if c.output != nil {
		errs = append(errs, c.output.Destroy())
		c.output = nil
	}
	if c.pre != nil {
		c.pre.close()
		c.pre = nil
	}
	return errors.Join(errs...)
}
