package inference

import (
	"errors"
	"fmt"
	"math"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/lineside/lineside/internal/cmalloc"
)

// DefaultMaxBatch is PredictorOptions.MaxBatch when it is zero.
const DefaultMaxBatch = 64

// PredictorOptions tune how LoadPredictor loads one failure-prediction model.
type PredictorOptions struct {
	// Overrides are model-contract values from the YAML config, keyed like
	// metadata_props without the "lineside." prefix (window, features,
	// threshold.warn, period_s, ...). They win over the model's own
	// metadata. Default: none.
	Overrides map[string]string
	// IntraThreads is the number of threads this model may use per run.
	// Default 0: inference.intra_threads given to Init.
	IntraThreads int
	// MaxBatch is the most windows one Run infers, typically the number of
	// assets sharing the model. Default 0: DefaultMaxBatch.
	MaxBatch int
}

// Predictor runs one failure-prediction model (an LSTM over sensor windows)
// for many assets at once. It owns one ONNX Runtime session and, for every
// batch size from 1 to MaxBatch, an input and output tensor over the same
// pre-allocated memory and an I/O binding to them, so that Run infers
// exactly the windows it is given without padding and allocates nothing on
// the Go heap. A Predictor is NOT safe for concurrent use: fill the windows
// with Window, then call Run, from one goroutine.
type Predictor struct {
	path     string
	provider string
	meta     Metadata
	window   int
	features int
	inName   string
	outName  string
	session  *ort.DynamicAdvancedSession
	in       []float32              // MaxBatch×window×features
	out      []float32              // MaxBatch
	inputs   []*ort.Tensor[float32] // inputs[n-1] is [n, window, features] over in
	outputs  []*ort.Tensor[float32] // outputs[n-1] is [n, 1] over out
	bindings []*ort.IoBinding       // bindings[n-1] binds inputs[n-1], outputs[n-1]
}

// LoadPredictor loads the model at path, applies opts.Overrides to its
// metadata and checks that model and metadata agree: task
// failure_prediction, one float32 input of rank 3 [batch, window, features]
// whose window and feature count match lineside.window and
// lineside.features, a dynamic (or MaxBatch) batch dimension, and one
// float32 output of one value per window. Init must have succeeded first.
// Every error names the file.
func LoadPredictor(path string, opts PredictorOptions) (*Predictor, error) {
	p, err := loadPredictor(path, opts)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return p, nil
}

// loadPredictor does the work of LoadPredictor; on error it frees
// everything it allocated.
func loadPredictor(path string, opts PredictorOptions) (p *Predictor, err error) {
	defer cmalloc.Trim()
	if opts.MaxBatch < 0 {
		return nil, fmt.Errorf("max batch: %d is negative", opts.MaxBatch)
	}
	maxBatch := opts.MaxBatch
	if maxBatch == 0 {
		maxBatch = DefaultMaxBatch
	}
	cfg, threads, in, out, err := loadSetup(path, opts.IntraThreads)
	if err != nil {
		return nil, err
	}
	p = &Predictor{path: path, inName: in.Name, outName: out.Name}
	defer func() {
		if err != nil {
			p.Close()
			p = nil
		}
	}()
	p.provider, err = newSession(path, threads, cfg.Providers, runtimeLogger(), func(so *ort.SessionOptions) (err error) {
		p.session, err = ort.NewDynamicAdvancedSession(path, []string{in.Name}, []string{out.Name}, so)
		return err
	})
	if err != nil {
		return p, err
	}
	if p.meta, err = modelContract(p.session.GetModelMetadata, opts.Overrides, TaskFailurePrediction); err != nil {
		return p, err
	}
	if err = p.checkShapes(in, out, maxBatch); err != nil {
		return p, err
	}
	return p, p.allocate(maxBatch)
}

// checkShapes checks the model's I/O shapes against its metadata.
func (p *Predictor) checkShapes(in, out ort.InputOutputInfo, maxBatch int) error {
	m := p.meta
	d := in.Dimensions
	if len(d) != 3 {
		return fmt.Errorf("input %q rank %d (shape %v), want 3 [batch, window, features]", in.Name, len(d), d)
	}
	if d[0] > 0 && d[0] != int64(maxBatch) {
		return fmt.Errorf("input %q has a fixed batch of %d (shape %v); want a dynamic batch or %d", in.Name, d[0], d, maxBatch)
	}
	if d[1] != int64(m.Window) {
		return fmt.Errorf("input %q shape %v holds windows of %d samples, but lineside.window is %d", in.Name, d, d[1], m.Window)
	}
	if d[2] != int64(len(m.Features)) {
		return fmt.Errorf("input %q shape %v has %d features, but lineside.features has %d (%s)",
			in.Name, d, d[2], len(m.Features), strings.Join(m.Features, ","))
	}
	o := out.Dimensions
	perWindow := int64(1)
	for _, v := range o[min(1, len(o)):] {
		perWindow *= v
	}
	if len(o) == 0 || perWindow != 1 {
		return fmt.Errorf("output %q shape %v gives %d value(s) per window, want 1", out.Name, o, perWindow)
	}
	p.window, p.features = m.Window, len(m.Features)
	return nil
}

// allocate creates the tensors and bindings of every batch size.
func (p *Predictor) allocate(maxBatch int) error {
	row := p.window * p.features
	p.in = make([]float32, maxBatch*row)
	p.out = make([]float32, maxBatch)
	for n := 1; n <= maxBatch; n++ {
		it, err := ort.NewTensor(ort.NewShape(int64(n), int64(p.window), int64(p.features)), p.in[:n*row])
		if err != nil {
			return fmt.Errorf("input tensor of batch %d: %w", n, err)
		}
		p.inputs = append(p.inputs, it)
		ot, err := ort.NewTensor(ort.NewShape(int64(n), 1), p.out[:n])
		if err != nil {
			return fmt.Errorf("output tensor of batch %d: %w", n, err)
		}
		p.outputs = append(p.outputs, ot)
		b, err := p.session.CreateIoBinding()
		if err != nil {
			return fmt.Errorf("io binding: %w", err)
		}
		p.bindings = append(p.bindings, b)
		if err := b.BindInput(p.inName, it); err != nil {
			return fmt.Errorf("bind input %q: %w", p.inName, err)
		}
		if err := b.BindOutput(p.outName, ot); err != nil {
			return fmt.Errorf("bind output %q: %w", p.outName, err)
		}
	}
	return nil
}

// Window returns the input buffer of window i of the next Run, window×
// features values in time order, each sample's features in
// lineside.features order, already normalised. It is valid until Close.
func (p *Predictor) Window(i int) []float32 {
	row := p.window * p.features
	return p.in[i*row : (i+1)*row : (i+1)*row]
}

// Run infers windows 0 to n-1 in one ONNX Runtime run and returns their
// outputs (p_fail), owned by the Predictor and valid until the next Run.
// n must be between 1 and MaxBatch. Steady-state calls allocate nothing on
// the Go heap.
func (p *Predictor) Run(n int) ([]float32, error) {
	if p.session == nil {
		return nil, ErrPredictorClosed
	}
	if n < 1 || n > len(p.bindings) {
		return nil, fmt.Errorf("predict: batch of %d windows: want 1 to %d", n, len(p.bindings))
	}
	if err := p.session.RunWithBinding(p.bindings[n-1]); err != nil {
		return nil, fmt.Errorf("predict: run %s: %w", p.path, err)
	}
	out := p.out[:n:n]
	if p.meta.Output == OutputLogits {
		for i, v := range out {
			out[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	}
	return out, nil
}

// ErrPredictorClosed is returned by Run after Close.
var ErrPredictorClosed = errors.New("predictor closed")

// MaxBatch returns the most windows one Run infers.
func (p *Predictor) MaxBatch() int { return len(p.bindings) }

// WindowLen returns the number of samples per window (lineside.window).
func (p *Predictor) WindowLen() int { return p.window }

// Metadata returns the model contract in effect: the model's metadata with
// the overrides applied.
func (p *Predictor) Metadata() Metadata { return p.meta.clone() }

// Provider returns the execution provider that serves the model.
func (p *Predictor) Provider() string { return p.provider }

// Close frees the session, bindings and tensors. It is safe to call more
// than once; Run fails with ErrPredictorClosed afterwards.
func (p *Predictor) Close() error {
	var errs []error
	for _, b := range p.bindings {
		errs = append(errs, b.Destroy())
	}
	for _, t := range p.inputs {
		errs = append(errs, t.Destroy())
	}
	for _, t := range p.outputs {
		errs = append(errs, t.Destroy())
	}
	p.bindings, p.inputs, p.outputs = nil, nil, nil
	if p.session != nil {
		errs = append(errs, p.session.Destroy())
		p.session = nil
	}
	return errors.Join(errs...)
}
