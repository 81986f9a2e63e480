package agent

import (
	"time"

	"github.com/lineside/lineside/sync/topic"
)

// Defaults of the config keys that have one. DefaultConfig puts them together.
const (
	// DefaultLogLevel is log.level.
	DefaultLogLevel = "info"
	// DefaultLogFormat is log.format.
	DefaultLogFormat = "text"

	// DefaultStorePath is store.path.
	DefaultStorePath = "./var/lineside.db"
	// DefaultStoreMaxBytes is store.max_bytes.
	DefaultStoreMaxBytes = 2 * GiB
	// DefaultStoreLockTimeout is store.lock_timeout.
	DefaultStoreLockTimeout = Duration(5 * time.Second)

	// DefaultMQTTBroker is mqtt.broker.
	DefaultMQTTBroker = "tcp://127.0.0.1:1883"
	// DefaultMQTTTopicPrefix is mqtt.topic_prefix.
	DefaultMQTTTopicPrefix = topic.DefaultPrefix
	// DefaultMQTTKeepalive is mqtt.keepalive.
	DefaultMQTTKeepalive = Duration(30 * time.Second)
	// DefaultMQTTInflight is mqtt.inflight.
	DefaultMQTTInflight = 64
	// DefaultMQTTConnectTimeout is mqtt.connect_timeout.
	DefaultMQTTConnectTimeout = Duration(5 * time.Second)

	// DefaultInferenceIntraThreads is inference.intra_threads.
	DefaultInferenceIntraThreads = 1

	// DefaultCameraFPS is cameras[].fps.
	DefaultCameraFPS = 10.0

	// DefaultHTTPListen is http.listen.
	DefaultHTTPListen = "127.0.0.1:9464"

	// DefaultMetricsInterval is status.metrics_interval.
	DefaultMetricsInterval = Duration(10 * time.Second)
)

// DefaultInferenceProviders is inference.providers. Do not modify it; use
// DefaultConfig for a copy.
var DefaultInferenceProviders = []string{"cpu"}

// Limits and allowed values checked by Validate.
const (
	minStoreMaxBytes      = MiB
	minMetricsInterval    = Duration(100 * time.Millisecond)
	maxCameraFPS          = 1000
	maxMQTTInflight       = 65535
	maxMQTTKeepaliveSecs  = 65535
	maxMQTTRateLimit      = 1000000
	envPrefix             = "LINESIDE_"
	defaultClientIDPrefix = "lineside-"
)

var (
	logLevels          = []string{"debug", "info", "warn", "error"}
	logFormats         = []string{"text", "json"}
	mqttSchemes        = []string{"tcp", "ssl", "tls", "mqtt", "mqtts"}
	inferenceProviders = []string{"tensorrt", "cuda", "openvino", "cpu"}
	// modelMetadataKeys are the lineside.* model metadata keys (see DESIGN.md,
	// "Model contract") without their prefix.
	modelMetadataKeys = []string{
		"task", "version", "labels", "ok_label",
		"input.layout", "input.color", "input.scale", "input.mean", "input.std",
		"window", "features", "feature_mean", "feature_std",
		"threshold.warn", "threshold.alarm",
		"output", "period_s", "stride_s", "max_gap_s", "horizon_h",
	}
)

// DefaultConfig returns a Config holding every default. Device names, models
// and cameras have none.
func DefaultConfig() *Config {
	return &Config{
		Log: LogConfig{Level: DefaultLogLevel, Format: DefaultLogFormat},
		Store: StoreConfig{
			Path:        DefaultStorePath,
			MaxBytes:    DefaultStoreMaxBytes,
			LockTimeout: DefaultStoreLockTimeout,
		},
		MQTT: MQTTConfig{
			Broker:         DefaultMQTTBroker,
			TopicPrefix:    DefaultMQTTTopicPrefix,
			Keepalive:      DefaultMQTTKeepalive,
			Inflight:       DefaultMQTTInflight,
			ConnectTimeout: DefaultMQTTConnectTimeout,
		},
		Inference: InferenceConfig{
			IntraThreads: DefaultInferenceIntraThreads,
			Providers:    append([]string(nil), DefaultInferenceProviders...),
		},
		HTTP:    HTTPConfig{Listen: DefaultHTTPListen},
		Status:  StatusConfig{MetricsInterval: DefaultMetricsInterval},
		Updates: defaultUpdatesConfig(),
	}
}

// setDefaults fills in the defaults of a camera entry before it is decoded.
func (c *CameraConfig) setDefaults() {
	c.FPS = DefaultCameraFPS
	c.setVisionDefaults()
	c.setHealthDefaults()
}
