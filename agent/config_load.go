package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is one problem with one config key.
type FieldError struct {
	// Path is the key path, e.g. "cameras[1].fps" or "models.defect.path".
	Path string
	// Value is the offending value as written, quoted when it is a string
	// (e.g. `-3`, `"verbose"`), or "" when the problem is the key itself.
	Value string
	// Msg says what is wrong, e.g. "is not > 0".
	Msg string
	// Line is the line of the key in the config file, or 0 when unknown.
	Line int
	// Env is the environment variable that supplied the value, or "".
	Env string
}

// Error formats e as "path: value msg (line N)".
func (e FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	b.WriteString(": ")
	if e.Value != "" {
		b.WriteString(e.Value)
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	switch {
	case e.Env != "":
		b.WriteString(" (from " + e.Env + ")")
	case e.Line > 0:
		b.WriteString(" (line " + strconv.Itoa(e.Line) + ")")
	}
	return b.String()
}

// ConfigError lists every problem found in a config, in file order.
type ConfigError struct {
	// File is the config file's path as given to LoadConfig.
	File string
	// Errors are the problems found, at least one.
	Errors []FieldError
}

// Error lists the problems one per line.
func (e *ConfigError) Error() string {
	if len(e.Errors) == 1 {
		return e.File + ": " + e.Errors[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d errors:", e.File, len(e.Errors))
	for _, fe := range e.Errors {
		b.WriteString("\n  ")
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Unwrap returns the FieldErrors, so errors.As can find them.
func (e *ConfigError) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		errs[i] = fe
	}
	return errs
}

// LoadConfig reads the YAML config at path, applies the defaults and the
// LINESIDE_* environment overrides, and validates the result. Problems with
// keys or values are all reported together in a *ConfigError; a file that
// cannot be read or is not YAML gives a plain error. Referenced files are not
// checked here: see CheckFiles.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parseConfig(path, data)
}

// parseConfig is LoadConfig on data already read from the file name.
func parseConfig(name string, data []byte) (*Config, error) {
	root, err := parseYAML(name, data)
	if err != nil {
		return nil, err
	}
	tree, errs, err := buildTree(root)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	tree = applyEnv(tree)

	cfg := DefaultConfig()
	d := newDecoder()
	d.decode(tree, valueOf(cfg), "")
	errs = append(errs, d.errs...)
	cfg.origins = d.origins

	for _, fe := range cfg.Validate() {
		if !d.failedAt(fe.Path) {
			errs = append(errs, fe)
		}
	}
	if len(errs) > 0 {
		sortFieldErrors(errs)
		return nil, &ConfigError{File: name, Errors: errs}
	}
	return cfg, nil
}

// parseYAML parses exactly one YAML document. It returns nil for an empty
// file.
func parseYAML(name string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("config %s is not valid YAML: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("config %s is not valid YAML: %w", name, err)
		}
		return nil, fmt.Errorf("config %s: line %d: a second YAML document; the config is one document", name, extra.Line)
	}
	return &doc, nil
}

// sortFieldErrors orders errors by line; those without a line (environment,
// missing keys) come last in the order they were found.
func sortFieldErrors(errs []FieldError) {
	sort.SliceStable(errs, func(i, j int) bool {
		li, lj := errs[i].Line, errs[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
}
