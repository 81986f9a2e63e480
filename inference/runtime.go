// Package inference runs ONNX models on the line PC: it loads the ONNX Runtime
// shared library once per process, reads the lineside model contract from a
// model's metadata_props, and turns camera frames into class scores with a
// pre-allocated, allocation-free pipeline (pre-process → ONNX Runtime →
// post-process).
package inference

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv is the environment variable that names the ONNX Runtime shared
// library when the config leaves inference.library empty.
const LibraryEnv = "LINESIDE_ORT_LIBRARY"

// libraryName is the file name of the ONNX Runtime shared library on Linux.
const libraryName = "libonnxruntime.so.1"

// Defaults of RuntimeConfig.
const (
	// DefaultIntraThreads keeps inference to one core so capture, sync and the
	// rest of the line PC keep theirs.
	DefaultIntraThreads = 1
	// ProviderCPU is the default execution provider, always available.
	ProviderCPU = "cpu"
)

// ErrLibraryNotFound is returned (wrapped) by Init when no candidate path
// holds a loadable ONNX Runtime library.
var ErrLibraryNotFound = errors.New("onnx runtime library not found")

// RuntimeConfig is the `inference:` section of the agent config.
type RuntimeConfig struct {
	// Library is the path of libonnxruntime.so.1. Default "": search the
	// places listed by LibraryCandidates.
	Library string `mapstructure:"library" yaml:"library"`
	// IntraThreads is the number of threads one model may use for one
	// inference. Default 1 (0 means the default).
	IntraThreads int `mapstructure:"intra_threads" yaml:"intra_threads"`
	// Providers lists execution providers in order of preference: tensorrt,
	// cuda, openvino, cpu. Each model load uses the first that works and
	// falls back to the CPU provider, which is always the last resort.
	// Default [cpu].
	Providers []string `mapstructure:"providers" yaml:"providers"`
}

// withDefaults returns cfg with zero values replaced by the defaults.
func (cfg RuntimeConfig) withDefaults() RuntimeConfig {
	if cfg.IntraThreads == 0 {
		cfg.IntraThreads = DefaultIntraThreads
	}
	if len(cfg.Providers) == 0 {
		cfg.Providers = []string{ProviderCPU}
	}
	return cfg
}

// validate checks the values Init cannot work with.
func (cfg RuntimeConfig) validate() error {
	if cfg.IntraThreads < 0 {
		return fmt.Errorf("inference.intra_threads: %d is negative", cfg.IntraThreads)
	}
	for i, p := range cfg.Providers {
		if !knownProviders[p] {
			return fmt.Errorf("inference.providers[%d]: %q is not tensorrt, cuda, openvino or cpu", i, p)
		}
	}
	return nil
}

// state is the process-wide ONNX Runtime environment; ONNX Runtime allows
// one per process.
var state struct {
	mu      sync.Mutex
	library string // path the environment was loaded from; "" before Init
	cfg     RuntimeConfig
	log     *slog.Logger // Init's logger, for what model loads report
}

// Init loads the ONNX Runtime library and creates its environment. It does
// the work once per process: later calls with the same (or an empty) library
// are no-ops, while a different library is an error, as ONNX Runtime cannot be
// loaded twice. A failed Init may be retried. It is safe for concurrent use.
func Init(cfg RuntimeConfig, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "inference")
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.library != "" {
		if cfg.Library != "" && !sameFile(cfg.Library, state.library) {
			return fmt.Errorf("onnx runtime already initialised from %s; cannot switch to %s without a restart", state.library, cfg.Library)
		}
		return nil
	}
	var tried []string
	for _, cand := range LibraryCandidates(cfg.Library) {
		if _, err := os.Stat(cand); err != nil {
			tried = append(tried, fmt.Sprintf("%s: missing", cand))
			continue
		}
		ort.SetSharedLibraryPath(cand)
		if err := ort.InitializeEnvironment(ort.WithLogLevelWarning()); err != nil {
			tried = append(tried, fmt.Sprintf("%s: failed to load: %s", cand, loadError(cand, err)))
			log.Debug("onnx runtime candidate refused", "path", cand, "err", err)
			continue
		}
		state.library, state.cfg, state.log = cand, cfg, log
		log.Info("onnx runtime loaded", "path", cand, "version", ort.GetVersion(),
			"intra_threads", cfg.IntraThreads, "providers", strings.Join(cfg.Providers, ","))
		return nil
	}
	return fmt.Errorf("%w; looked in:\n  %s", ErrLibraryNotFound, strings.Join(tried, "\n  "))
}

// RuntimeVersion returns the version of the loaded ONNX Runtime library, or
// "" before Init has succeeded.
func RuntimeVersion() string {
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.library == "" {
		return ""
	}
	return ort.GetVersion()
}

// runtimeConfig returns the config Init succeeded with, or an error when the
// runtime is not initialised.
func runtimeConfig() (RuntimeConfig, error) {
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.library == "" {
		return RuntimeConfig{}, errors.New("onnx runtime not initialised: call inference.Init first")
	}
	return state.cfg, nil
}

// LibraryCandidates lists, in search order, the paths Init tries for the
// ONNX Runtime library. A configured path is the only candidate; otherwise:
// $LINESIDE_ORT_LIBRARY, <exe dir>/../lib/lineside, <exe dir>,
// third_party/onnxruntime/<arch>/ in the working directory and each parent up
// to the one holding go.mod, /usr/lib/lineside and /usr/local/lib.
func LibraryCandidates(configured string) []string {
	exe, _ := os.Executable()
	wd, _ := os.Getwd()
	return libraryCandidates(configured, os.Getenv(LibraryEnv), exe, wd, runtime.GOARCH)
}

// libraryCandidates is LibraryCandidates with its inputs made explicit.
func libraryCandidates(configured, env, exe, wd, goarch string) []string {
	if configured != "" {
		return []string{configured}
	}
	var out []string
	add := func(p string) {
		for _, q := range out {
			if q == p {
				return
			}
		}
		out = append(out, p)
	}
	if env != "" {
		add(env)
	}
	if exe != "" {
		dir := filepath.Dir(exe)
		add(filepath.Join(dir, "..", "lib", "lineside", libraryName))
		add(filepath.Join(dir, libraryName))
	}
	if arch, ok := map[string]string{"amd64": "linux-x64", "arm64": "linux-arm64"}[goarch]; ok && wd != "" {
		for dir := wd; ; {
			add(filepath.Join(dir, "third_party", "onnxruntime", arch, libraryName))
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	add(filepath.Join("/usr/lib/lineside", libraryName))
	add(filepath.Join("/usr/local/lib", libraryName))
	return out
}

// sameFile reports whether a and b name the same file, following symlinks.
func sameFile(a, b string) bool {
	if a == b {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// loadError returns the innermost message of a failed load of path, without
// the wrappers onnxruntime_go adds ("Platform-specific initialization failed:
// Error loading ONNX shared library ...") so the dlopen message itself reaches
// the operator.
func loadError(path string, err error) string {
	for next := errors.Unwrap(err); next != nil; next = errors.Unwrap(err) {
		err = next
	}
	return strings.TrimPrefix(err.Error(), fmt.Sprintf("Error loading ONNX shared library %q: ", path))
}
