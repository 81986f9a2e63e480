// Package agent wires lineside's components into the daemon and owns its
// configuration: one YAML file, overridable key by key from the environment.
package agent

import (
	"github.com/lineside/lineside/sync/topic"
)

// Config is the whole agent configuration, read from one YAML file by
// LoadConfig. The mapstructure tags are the YAML keys; every leaf key can also
// be set from the environment as LINESIDE_ + the key path in capitals with
// '_' for '.', e.g. LINESIDE_MQTT_TLS_CA_FILE for mqtt.tls.ca_file.
//
// Relative file paths anywhere in the config (store.path, models.*.path,
// mqtt.password_file, mqtt.tls.*, inference.library) are resolved against the
// working directory of the process, not the directory of the config file: the
// demo runs from the repository root and the systemd unit sets
// WorkingDirectory, so one rule serves both.
type Config struct {
	// Device names this line PC; the three names form the MQTT topic base.
	Device DeviceConfig `mapstructure:"device"`
	// Log sets the level and format of the agent's log.
	Log LogConfig `mapstructure:"log"`
	// Store is the bbolt outbox that holds results until the broker has them.
	Store StoreConfig `mapstructure:"store"`
	// MQTT is the connection to the broker.
	MQTT MQTTConfig `mapstructure:"mqtt"`
	// Inference sets up ONNX Runtime.
	Inference InferenceConfig `mapstructure:"inference"`
	// Models are the ONNX models by name; cameras refer to them by that name.
	// The name must match [a-z0-9_-]+. Default: none.
	Models map[string]ModelConfig `mapstructure:"models"`
	// Cameras are the image sources, each feeding one model. Default: none.
	Cameras []CameraConfig `mapstructure:"cameras"`
	// Sensors are the sensor connections and their points. Default: none.
	Sensors []SensorConfig `mapstructure:"sensors"`
	// Assets are the machines watched by failure-prediction models, each
	// fed by sensor points. Default: none.
	Assets []AssetConfig `mapstructure:"assets"`
	// HTTP is the local endpoint for /metrics (Prometheus) and /healthz.
	HTTP HTTPConfig `mapstructure:"http"`
	// Status sets how often the agent reports on itself.
	Status StatusConfig `mapstructure:"status"`
	// Updates accepts signed model updates over MQTT. Default: off (no
	// trusted keys).
	Updates UpdatesConfig `mapstructure:"updates"`

	// origins maps key paths to where their values came from, so that
	// Validate and CheckFiles can name the line or environment variable.
	origins map[string]origin
}

// DeviceConfig identifies the device. Each name goes into MQTT topics and may
// only contain letters, digits, '_' and '-'.
type DeviceConfig struct {
	// Site is the plant, e.g. "plant1". Required.
	Site string `mapstructure:"site"`
	// Line is the production line within the site, e.g. "line3". Required.
	Line string `mapstructure:"line"`
	// ID is this line PC, unique within the line, e.g. "lpc-07". Required.
	ID string `mapstructure:"id"`
}

// LogConfig sets up the agent's log.
type LogConfig struct {
	// Level is the lowest level logged: debug, info, warn or error.
	// Default: info (DefaultLogLevel).
	Level string `mapstructure:"level"`
	// Format is text (key=value) or json. Default: text (DefaultLogFormat).
	Format string `mapstructure:"format"`
}

// StoreConfig sets up the bbolt outbox.
type StoreConfig struct {
	// Path is the bbolt file; its directory is created if missing.
	// Default: ./var/lineside.db (DefaultStorePath).
	Path string `mapstructure:"path"`
	// MaxBytes caps the file; when full, the lowest-priority oldest records
	// are dropped first. At least 1MiB. Default: 2GiB (DefaultStoreMaxBytes).
	MaxBytes ByteSize `mapstructure:"max_bytes"`
	// LockTimeout is how long start-up waits for another process holding the
	// file to let go. Default: 5s (DefaultStoreLockTimeout).
	LockTimeout Duration `mapstructure:"lock_timeout"`
}

// MQTTConfig is the connection to the broker.
type MQTTConfig struct {
	// Broker is the broker URL, host and port, with scheme tcp:// or mqtt://
	// (plain) or ssl://, tls://, mqtts:// (TLS).
	// Default: tcp://127.0.0.1:1883 (DefaultMQTTBroker).
	Broker string `mapstructure:"broker"`
	// TopicPrefix starts every topic: {prefix}/{site}/{line}/{device}/...
	// Default: lineside/v1 (DefaultMQTTTopicPrefix).
	TopicPrefix string `mapstructure:"topic_prefix"`
	// ClientID is the MQTT client identifier; it must be unique on the broker.
	// Default: "" which means "lineside-" + device.id (see Config.MQTTClientID).
	ClientID string `mapstructure:"client_id"`
	// Username authenticates to the broker. Default: "" (anonymous).
	Username string `mapstructure:"username"`
	// PasswordFile is a file holding the password (trailing newline ignored),
	// kept out of the config so the config can be shared. Needs Username.
	// Without it the password is taken from the environment variable
	// LINESIDE_MQTT_PASSWORD, if set. The password is never logged.
	// Default: "" (no password).
	PasswordFile string `mapstructure:"password_file"`
	// TLS holds the certificate files used by TLS schemes.
	TLS TLSConfig `mapstructure:"tls"`
	// Keepalive is the MQTT keep-alive period; the broker declares the agent
	// offline after 1.5 times this without traffic. Whole seconds, 1s to
	// 65535s. Default: 30s (DefaultMQTTKeepalive).
	Keepalive Duration `mapstructure:"keepalive"`
	// Inflight is the most QoS 1 publishes awaiting PUBACK at once, 1 to
	// 65535. Default: 64 (DefaultMQTTInflight).
	Inflight int `mapstructure:"inflight"`
	// ConnectTimeout bounds one connection attempt.
	// Default: 5s (DefaultMQTTConnectTimeout).
	ConnectTimeout Duration `mapstructure:"connect_timeout"`
	// CleanSession makes the broker forget the agent's session on every
	// connect. Default: false, a persistent session under the stable client
	// id, so that commands sent while the agent was away are delivered.
	CleanSession bool `mapstructure:"clean_session"`
	// RateLimit caps the results published per second, e.g. on a metered
	// link; 0 means no limit. Default: 0.
	RateLimit float64 `mapstructure:"rate_limit"`
}

// TLSConfig holds PEM files for a TLS broker connection.
type TLSConfig struct {
	// CAFile is the CA bundle that signed the broker's certificate.
	// Default: "" (the system's CA pool).
	CAFile string `mapstructure:"ca_file"`
	// CertFile is the client certificate for mutual TLS; set together with
	// KeyFile. Default: "" (no client certificate).
	CertFile string `mapstructure:"cert_file"`
	// KeyFile is the private key of CertFile. Default: "".
	KeyFile string `mapstructure:"key_file"`
}

// InferenceConfig sets up ONNX Runtime.
type InferenceConfig struct {
	// Library is the ONNX Runtime shared library. A bare file name is searched
	// by the dynamic loader. Default: "" (the inference package's own search:
	// the bundled library, then the system's).
	Library string `mapstructure:"library"`
	// IntraThreads is the number of threads one inference may use, at least 1.
	// Default: 1 (DefaultInferenceIntraThreads).
	IntraThreads int `mapstructure:"intra_threads"`
	// Providers are the execution providers to try, in order of preference:
	// tensorrt, cuda, openvino, cpu. Default: [cpu] (DefaultInferenceProviders).
	Providers []string `mapstructure:"providers"`
}

// ModelConfig is one ONNX model.
type ModelConfig struct {
	// Path is the .onnx file. Required.
	Path string `mapstructure:"path"`
	// Metadata overrides or supplies the model's lineside.* metadata, with the
	// "lineside." prefix left out: task, version, labels, ok_label,
	// input.layout, input.color, input.scale, input.mean, input.std, window,
	// features, feature_mean, feature_std, threshold.warn, threshold.alarm.
	// A YAML list is joined with commas, e.g. labels: [ok, scratch].
	// Default: none (the model's own metadata).
	Metadata map[string]string `mapstructure:"metadata"`
}

// CameraConfig is one camera.
type CameraConfig struct {
	// Name identifies the camera in records and topics; unique, letters,
	// digits, '_' and '-'. Required.
	Name string `mapstructure:"name"`
	// Source is the capture URL; its scheme selects the implementation, e.g.
	// "file:///data/line3.mp4?loop=true" or "rtsp://10.0.0.5/stream1". Required.
	Source string `mapstructure:"source"`
	// FPS is the frame rate to process, above 0 and at most 1000.
	// Default: 10 (DefaultCameraFPS).
	FPS float64 `mapstructure:"fps"`
	// Model is the name of the entry in models that judges this camera's
	// frames. Required.
	Model string `mapstructure:"model"`
	// Queue is how many captured frames may wait for inference, 1 to 100.
	// When inference falls behind, a live camera drops the oldest and counts
	// it; a file, folder or simulated camera waits for room instead.
	// Default: 2 (DefaultCameraQueue).
	Queue int `mapstructure:"queue"`
	// EveryNth infers only every n-th captured frame, at least 1.
	// Default: 1 (DefaultCameraEveryNth).
	EveryNth int `mapstructure:"every_nth"`
	// MaxRate caps inferences per second, 0 to 1000; 0 is unlimited.
	// Default: 0.
	MaxRate float64 `mapstructure:"max_rate"`
	// Motion skips frames without motion. Default: disabled.
	Motion MotionConfig `mapstructure:"motion"`
	// Trigger infers only frames shortly after an external trigger.
	// Default: mode none.
	Trigger TriggerConfig `mapstructure:"trigger"`
	// Snapshots sends JPEG evidence frames. Default: mode never.
	Snapshots SnapshotConfig `mapstructure:"snapshots"`
	// StallTimeout is how long the camera may go without a frame before it
	// is stalled; 0 or at least 100ms. Default: 0, meaning five frame
	// periods, at least 2s (DefaultCameraStallTimeout).
	StallTimeout Duration `mapstructure:"stall_timeout"`
	// BackoffMin is the first reopen delay after a failure, 10ms to 1h;
	// delays double up to BackoffMax, with ±20% jitter.
	// Default: 500ms (DefaultCameraBackoffMin).
	BackoffMin Duration `mapstructure:"backoff_min"`
	// BackoffMax caps the reopen delay, backoff_min to 1h.
	// Default: 30s (DefaultCameraBackoffMax).
	BackoffMax Duration `mapstructure:"backoff_max"`
}

// HTTPConfig is the local HTTP endpoint.
type HTTPConfig struct {
	// Listen is the host:port for /metrics and /healthz; "" disables it and
	// ":9464" listens on every interface.
	// Default: 127.0.0.1:9464 (DefaultHTTPListen).
	Listen string `mapstructure:"listen"`
}

// StatusConfig sets how the agent reports on itself.
type StatusConfig struct {
	// MetricsInterval is the period of {base}/metrics publishes, at least
	// 100ms. Default: 10s (DefaultMetricsInterval).
	MetricsInterval Duration `mapstructure:"metrics_interval"`
}

// MQTTClientID returns the client identifier to connect with: mqtt.client_id,
// or "lineside-" + device.id when that is empty.
func (c *Config) MQTTClientID() string {
	if c.MQTT.ClientID != "" {
		return c.MQTT.ClientID
	}
	return "lineside-" + c.Device.ID
}

// TopicLayout returns the MQTT topic layout of this device.
func (c *Config) TopicLayout() topic.Layout {
	return topic.Layout{
		Prefix: c.MQTT.TopicPrefix,
		Site:   c.Device.Site,
		Line:   c.Device.Line,
		Device: c.Device.ID,
	}
}

// ModelPath returns the file of the named model, or "" when there is no such
// model. A relative path is relative to the working directory.
func (c *Config) ModelPath(name string) string {
	return c.Models[name].Path
}

// UsesTLS reports whether the broker URL asks for TLS.
func (m *MQTTConfig) UsesTLS() bool {
	switch schemeOf(m.Broker) {
	case "ssl", "tls", "mqtts":
		return true
	}
	return false
}
