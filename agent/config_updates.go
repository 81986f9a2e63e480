package agent

import (
	"path/filepath"
	"strconv"
	"time"
)

// UpdatesConfig is the `updates:` section: model updates over MQTT (README,
// "Model updates"). DESIGN.md calls the trusted keys models.trusted_keys, but
// models maps model names to models, where a trusted_keys entry would read
// as a model; the update settings therefore have a section of their own.
type UpdatesConfig struct {
	// TrustedKeys are the ed25519 public keys whose signed manifests are
	// accepted, each as base64 text (from `lineside models keygen`) or the
	// path of a .pub file. Default: none, which turns updates off.
	TrustedKeys []string `mapstructure:"trusted_keys"`
	// Dir holds staged, serving and previous versions.
	// Default: "" meaning "models" beside store.path.
	Dir string `mapstructure:"dir"`
	// MaxBytes refuses models larger than this. Default: 64MiB
	// (DefaultUpdatesMaxBytes).
	MaxBytes ByteSize `mapstructure:"max_bytes"`
	// ChunkTimeout gives up a transfer when no missing chunk arrived for
	// this long; it resumes on the next delivery of the manifest (every
	// reconnect). Default: 2m (DefaultUpdatesChunkTimeout).
	ChunkTimeout Duration `mapstructure:"chunk_timeout"`
	// Rollback sets when a new version is rolled back automatically.
	Rollback RollbackConfig `mapstructure:"rollback"`
}

// RollbackConfig is updates.rollback: the probation of a new version.
type RollbackConfig struct {
	// Window is how long after a swap the new version is watched.
	// Default: 5m (DefaultRollbackWindow).
	Window Duration `mapstructure:"window"`
	// MaxErrors rolls back once a worker counts this many inference errors
	// on the new version within the window, at least 1.
	// Default: 3 (DefaultRollbackMaxErrors).
	MaxErrors int `mapstructure:"max_errors"`
	// LatencyFactor rolls back when the new version's median latency exceeds
	// this multiple of the old version's; 0 turns the check off.
	// Default: 3 (DefaultRollbackLatencyFactor).
	LatencyFactor float64 `mapstructure:"latency_factor"`
	// MinFrames is how many frames the new version must have served before
	// its latency is judged, at least 1. Default: 20 (DefaultRollbackMinFrames).
	MinFrames int `mapstructure:"min_frames"`
}

// Defaults of the updates section.
const (
	// DefaultUpdatesMaxBytes is updates.max_bytes.
	DefaultUpdatesMaxBytes = 64 * MiB
	// DefaultUpdatesChunkTimeout is updates.chunk_timeout.
	DefaultUpdatesChunkTimeout = Duration(2 * time.Minute)
	// DefaultRollbackWindow is updates.rollback.window.
	DefaultRollbackWindow = Duration(5 * time.Minute)
	// DefaultRollbackMaxErrors is updates.rollback.max_errors.
	DefaultRollbackMaxErrors = 3
	// DefaultRollbackLatencyFactor is updates.rollback.latency_factor.
	DefaultRollbackLatencyFactor = 3.0
	// DefaultRollbackMinFrames is updates.rollback.min_frames.
	DefaultRollbackMinFrames = 20
)

// defaultUpdatesConfig returns the updates section's defaults.
func defaultUpdatesConfig() UpdatesConfig {
	return UpdatesConfig{
		MaxBytes:     DefaultUpdatesMaxBytes,
		ChunkTimeout: DefaultUpdatesChunkTimeout,
		Rollback: RollbackConfig{
			Window:        DefaultRollbackWindow,
			MaxErrors:     DefaultRollbackMaxErrors,
			LatencyFactor: DefaultRollbackLatencyFactor,
			MinFrames:     DefaultRollbackMinFrames,
		},
	}
}

// UpdatesDir returns updates.dir, or "models" beside store.path when empty.
func (c *Config) UpdatesDir() string {
	if c.Updates.Dir != "" {
		return c.Updates.Dir
	}
	return filepath.Join(filepath.Dir(c.Store.Path), "models")
}

// validateUpdates checks the updates section.
func (c *Config) validateUpdates(v *validator) {
	u := &c.Updates
	for i, k := range u.TrustedKeys {
		if k == "" {
			v.add(indexPath("updates.trusted_keys", i), `""`, "is empty; give a base64 public key or a .pub file")
		}
	}
	if u.MaxBytes < 1 {
		v.add("updates.max_bytes", u.MaxBytes.String(), "is not > 0")
	}
	v.positive("updates.chunk_timeout", u.ChunkTimeout)
	v.positive("updates.rollback.window", u.Rollback.Window)
	if u.Rollback.MaxErrors < 1 {
		v.add("updates.rollback.max_errors", strconv.Itoa(u.Rollback.MaxErrors), "is not >= 1")
	}
	if f := u.Rollback.LatencyFactor; !(f == 0 || f >= 1) {
		v.add("updates.rollback.latency_factor", strconv.FormatFloat(f, 'g', -1, 64), "is not 0 (off) or >= 1")
	}
	if u.Rollback.MinFrames < 1 {
		v.add("updates.rollback.min_frames", strconv.Itoa(u.Rollback.MinFrames), "is not >= 1")
	}
}
