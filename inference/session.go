package inference

import (
	"fmt"
	"os"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// sessionOptions builds ONNX Runtime session options for threads intra-op
// threads and the given execution providers (cpu is implicit and always
// last); any that cannot be registered is an error (newSession is the one
// that falls back). The returned release function frees the options and any
// provider options; call it once the session has been created.
func sessionOptions(threads int, providers []string) (*ort.SessionOptions, func(), error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("session options: %w", err)
	}
	var releases []func()
	release := func() {
		for _, r := range releases {
			r()
		}
		opts.Destroy()
	}
	fail := func(err error) (*ort.SessionOptions, func(), error) {
		release()
		return nil, nil, err
	}
	if err := opts.SetIntraOpNumThreads(threads); err != nil {
		return fail(fmt.Errorf("intra-op threads %d: %w", threads, err))
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return fail(fmt.Errorf("inter-op threads: %w", err))
	}
	if threads > 1 {
		// Idle worker threads spin by default, burning the cores that capture
		// and sync share with inference on a line PC.
		if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return fail(fmt.Errorf("disable spinning: %w", err))
		}
	}
	for _, p := range providers {
		free, err := appendProvider(opts, strings.ToLower(p))
		if err != nil {
			return fail(fmt.Errorf("provider %s: %w", p, err))
		}
		releases = append(releases, free)
	}
	return opts, release, nil
}

// ioInfo describes a model's inputs and outputs as ONNX Runtime reports them.
type ioInfo struct {
	inputs, outputs []ort.InputOutputInfo
}

// probeIO loads the model at path into a temporary single-threaded CPU
// session to read its input and output descriptions.
func probeIO(path string) (ioInfo, error) {
	opts, release, err := sessionOptions(1, nil)
	if err != nil {
		return ioInfo{}, err
	}
	defer release()
	in, out, err := ort.GetInputOutputInfoWithOptions(path, opts)
	if err != nil {
		return ioInfo{}, fmt.Errorf("load: %w", err)
	}
	return ioInfo{inputs: in, outputs: out}, nil
}

// single returns the only tensor of kind ("input"/"output") in infos and
// checks it is float32.
func single(kind string, infos []ort.InputOutputInfo) (ort.InputOutputInfo, error) {
	if len(infos) != 1 {
		names := make([]string, len(infos))
		for i, in := range infos {
			names[i] = in.Name
		}
		return ort.InputOutputInfo{}, fmt.Errorf("has %d %ss %q, want 1", len(infos), kind, names)
	}
	info := infos[0]
	if info.OrtValueType != ort.ONNXTypeTensor {
		return info, fmt.Errorf("%s %q is a %s, want a float32 tensor", kind, info.Name, info.OrtValueType)
	}
	if info.DataType != ort.TensorElementDataTypeFloat {
		return info, fmt.Errorf("%s %q has element type %s, want float32", kind, info.Name, info.DataType)
	}
	return info, nil
}

// concreteShape replaces a dynamic batch dimension (the first) by 1. Any
// other dynamic dimension is an error since the classifier feeds exactly one
// image of a fixed size; so is, when batched, a fixed batch other than 1.
func concreteShape(kind string, info ort.InputOutputInfo, batched bool) (ort.Shape, error) {
	shape := info.Dimensions.Clone()
	if len(shape) == 0 {
		return nil, fmt.Errorf("%s %q is a scalar, want a tensor", kind, info.Name)
	}
	for i, d := range shape {
		switch {
		case i == 0 && d <= 0:
			shape[0] = 1
		case i == 0 && batched && d != 1:
			return nil, fmt.Errorf("%s %q has batch size %d (shape %v), want 1 or dynamic", kind, info.Name, d, info.Dimensions)
		case i > 0 && d <= 0:
			return nil, fmt.Errorf("%s %q dimension %d is dynamic (shape %v); want a fixed size", kind, info.Name, i, info.Dimensions)
		}
	}
	return shape, nil
}

// loadSetup is what every model load starts with: the runtime's settings,
// the intra-op thread count (the model's own, else the runtime's), and the
// model's single input and single output as ONNX Runtime reports them.
func loadSetup(path string, intraThreads int) (cfg RuntimeConfig, threads int, in, out ort.InputOutputInfo, err error) {
	if cfg, err = runtimeConfig(); err != nil {
		return
	}
	if intraThreads < 0 {
		err = fmt.Errorf("intra_threads: %d is negative", intraThreads)
		return
	}
	threads = intraThreads
	if threads == 0 {
		threads = cfg.IntraThreads
	}
	if _, err = os.Stat(path); err != nil {
		return
	}
	info, err := probeIO(path)
	if err != nil {
		return
	}
	if in, err = single("input", info.inputs); err != nil {
		return
	}
	out, err = single("output", info.outputs)
	return
}
