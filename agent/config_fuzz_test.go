package agent

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadConfig feeds arbitrary bytes to LoadConfig: it must never panic,
// must describe every rejection, and must only accept configs that pass
// Validate.
func FuzzLoadConfig(f *testing.F) {
	samples, _ := filepath.Glob(filepath.Join("..", "configs", "*.yaml"))
	for _, s := range samples {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		validYAML,
		"",
		"~",
		"device: &d {site: a, line: b, id: c}\nx: *d\n",
		"a: &a [*a]\n",
		"cameras: [{<<: [{name: c}, {fps: 1}]}]\n",
		"models: {m: {path: p, metadata: {labels: [a, {b: c}]}}}\n",
		"mqtt: {keepalive: .inf, inflight: 0x40}\ncameras: [{fps: .nan}]\n",
		"store: {max_bytes: 99999999999999999999GiB}\n",
		"? [a]\n: b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(p)
		var ce *ConfigError
		switch {
		case err == nil:
			if errs := cfg.Validate(); len(errs) > 0 {
				t.Fatalf("accepted a config that Validate rejects: %v", errs)
			}
		case errors.As(err, &ce):
			if len(ce.Errors) == 0 || ce.Error() == "" {
				t.Fatalf("empty ConfigError")
			}
		case err.Error() == "":
			t.Fatal("empty error")
		}
	})
}
