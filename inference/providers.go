package inference

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// Execution providers besides ProviderCPU, by their config names.
const (
	// ProviderTensorRT runs models through NVIDIA TensorRT (Jetson, dGPU);
	// it builds an engine per model on first load, which can take minutes.
	ProviderTensorRT = "tensorrt"
	// ProviderCUDA runs models on an NVIDIA GPU through CUDA.
	ProviderCUDA = "cuda"
	// ProviderOpenVINO runs models through Intel OpenVINO (iGPU, VPU, CPU).
	ProviderOpenVINO = "openvino"
)

// knownProviders are the config names of execution providers; anything else
// is refused at start-up.
var knownProviders = map[string]bool{
	ProviderCPU: true, ProviderTensorRT: true, ProviderCUDA: true, ProviderOpenVINO: true,
}

// providerChain returns the providers to try, in order: the configured ones
// up to the first cpu (which always works, so nothing after it is tried),
// without duplicates, ending with cpu.
func providerChain(configured []string) []string {
	var out []string
	for _, p := range configured {
		p = strings.ToLower(p)
		if p == ProviderCPU {
			break
		}
		dup := false
		for _, q := range out {
			dup = dup || q == p
		}
		if !dup {
			out = append(out, p)
		}
	}
	return append(out, ProviderCPU)
}

// appendProvider registers execution provider name with opts. The returned
// release function frees the provider's options once the session exists.
func appendProvider(opts *ort.SessionOptions, name string) (func(), error) {
	switch name {
	case ProviderCPU:
		return func() {}, nil
	case ProviderCUDA:
		cuda, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return nil, err
		}
		if err := opts.AppendExecutionProviderCUDA(cuda); err != nil {
			cuda.Destroy()
			return nil, err
		}
		return func() { cuda.Destroy() }, nil
	case ProviderTensorRT:
		trt, err := ort.NewTensorRTProviderOptions()
		if err != nil {
			return nil, err
		}
		if err := opts.AppendExecutionProviderTensorRT(trt); err != nil {
			trt.Destroy()
			return nil, err
		}
		return func() { trt.Destroy() }, nil
	case ProviderOpenVINO:
		return func() {}, opts.AppendExecutionProviderOpenVINO(map[string]string{})
	}
	return nil, fmt.Errorf("unknown execution provider %q", name)
}

// providerFailure is why one execution provider could not serve a model.
type providerFailure struct {
	provider string
	err      error
}

// newSession creates a session for the model at path with the first
// execution provider of providers (in providerChain order) that works: an
// attempt registers that provider and every later one that registers (ONNX
// Runtime hands each graph node to the first provider that supports it, CPU
// last), then calls create. A provider that cannot be registered (not in
// this ONNX Runtime build, no GPU driver) or whose session cannot be created
// is skipped. It logs one line per call: the provider used and why the ones
// before it were skipped (a warning when any was). It returns the provider
// used; an error only when even the CPU provider fails.
func newSession(path string, threads int, providers []string, log *slog.Logger,
	create func(*ort.SessionOptions) error) (string, error) {
	chain := providerChain(providers)
	var skipped []providerFailure
	for i, p := range chain {
		err := tryProviders(threads, chain[i:], create)
		if err == nil {
			logProvider(log, path, p, chain, skipped)
			return p, nil
		}
		if p == ProviderCPU {
			return "", err
		}
		skipped = append(skipped, providerFailure{p, err})
	}
	return "", errors.New("no execution provider") // unreachable: chain ends with cpu
}

// tryProviders builds session options registering chain[0] (which must
// succeed) and the rest of chain where they can be, and calls create.
func tryProviders(threads int, chain []string, create func(*ort.SessionOptions) error) error {
	opts, release, err := sessionOptions(threads, nil)
	if err != nil {
		return err
	}
	defer release()
	for i, p := range chain {
		free, err := appendProvider(opts, p)
		if err != nil {
			if i == 0 {
				return fmt.Errorf("register: %w", err)
			}
			continue
		}
		defer free()
	}
	if err := create(opts); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return nil
}

// logProvider writes the one line newSession logs per model load.
func logProvider(log *slog.Logger, path, used string, chain []string, skipped []providerFailure) {
	if log == nil { // before Init; Init's logger is already scoped to inference
		return
	}
	if len(skipped) == 0 {
		log.Info("execution provider", "model", path, "provider", used)
		return
	}
	reasons := make([]string, len(skipped))
	for i, s := range skipped {
		reasons[i] = s.provider + ": " + firstLine(s.err.Error())
	}
	log.Warn("execution provider unavailable, falling back", "model", path, "provider", used,
		"tried", strings.Join(chain[:len(skipped)+1], ","), "unavailable", strings.Join(reasons, "; "))
}

// firstLine returns s up to its first newline; ONNX Runtime's messages can
// run over several lines.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// runtimeLogger returns the logger given to Init, or nil before Init.
func runtimeLogger() *slog.Logger {
	state.mu.Lock()
	defer state.mu.Unlock()
	return state.log
}
