package agent

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

var (
	// topicSafe matches names that go into MQTT topic levels.
	topicSafe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// modelName matches the keys of models.
	modelName = regexp.MustCompile(`^[a-z0-9_-]+$`)
	// urlScheme matches a URL scheme (RFC 3986).
	urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)
)

// validator collects FieldErrors.
type validator struct{ errs []FieldError }

func (v *validator) add(path, value, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Value: value, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks the values of c and how they fit together, and returns
// every problem found, each naming its key path and value; nil means valid.
// It does not look at the file system: see CheckFiles. LoadConfig calls it;
// call it again after changing c.
func (c *Config) Validate() []FieldError {
	v := &validator{}
	v.name("device.site", c.Device.Site)
	v.name("device.line", c.Device.Line)
	v.name("device.id", c.Device.ID)

	v.oneOf("log.level", c.Log.Level, logLevels)
	v.oneOf("log.format", c.Log.Format, logFormats)

	if c.Store.Path == "" {
		v.add("store.path", `""`, "is required")
	}
	if c.Store.MaxBytes < minStoreMaxBytes {
		v.add("store.max_bytes", c.Store.MaxBytes.String(), "is less than the minimum of %s", minStoreMaxBytes)
	}
	v.positive("store.lock_timeout", c.Store.LockTimeout)

	c.validateMQTT(v)

	if c.Inference.IntraThreads < 1 {
		v.add("inference.intra_threads", strconv.Itoa(c.Inference.IntraThreads), "is not >= 1")
	}
	if len(c.Inference.Providers) == 0 {
		v.add("inference.providers", "[]", "is empty; list one or more of %s", strings.Join(inferenceProviders, ", "))
	}
	for i, p := range c.Inference.Providers {
		path := indexPath("inference.providers", i)
		v.oneOf(path, p, inferenceProviders)
		if j := slices.Index(c.Inference.Providers, p); j < i {
			v.add(path, strconv.Quote(p), "is listed twice")
		}
	}

	c.validateModels(v)
	c.validateCameras(v)
	c.validateAssets(v, c.validateSensors(v))
	c.validateUpdates(v)

	if l := c.HTTP.Listen; l != "" {
		if _, port, err := net.SplitHostPort(l); err != nil || !validPort(port, true) {
			v.add("http.listen", strconv.Quote(l), "is not host:port (e.g. 127.0.0.1:9464, :9464; \"\" disables)")
		}
	}
	if c.Status.MetricsInterval < minMetricsInterval {
		v.add("status.metrics_interval", c.Status.MetricsInterval.String(), "is less than the minimum of %s", minMetricsInterval)
	}
	return c.locate(v.errs)
}

func (c *Config) validateMQTT(v *validator) {
	m := &c.MQTT
	if u, err := url.Parse(m.Broker); err != nil || u.Host == "" {
		v.add("mqtt.broker", strconv.Quote(m.Broker), "is not a broker URL (e.g. tcp://127.0.0.1:1883, ssl://mqtt.example.com:8883)")
	} else if !slices.Contains(mqttSchemes, u.Scheme) {
		v.add("mqtt.broker", strconv.Quote(m.Broker), "has scheme %q, want one of %s", u.Scheme, strings.Join(mqttSchemes, ", "))
	} else if !validPort(u.Port(), false) {
		v.add("mqtt.broker", strconv.Quote(m.Broker), "has no valid port (e.g. %s://%s:%d)", u.Scheme, u.Hostname(), defaultPort(m))
	}

	p := m.TopicPrefix
	switch {
	case p == "":
		v.add("mqtt.topic_prefix", `""`, "is required")
	case strings.ContainsAny(p, "+#\x00"):
		v.add("mqtt.topic_prefix", strconv.Quote(p), "must not contain '+', '#' or NUL")
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//"):
		v.add("mqtt.topic_prefix", strconv.Quote(p), "must not start or end with '/' or have empty levels")
	case strings.HasPrefix(p, "$"):
		v.add("mqtt.topic_prefix", strconv.Quote(p), "must not start with '$' (reserved by brokers)")
	}

	if m.PasswordFile != "" && m.Username == "" {
		v.add("mqtt.username", `""`, "is required when mqtt.password_file is set")
	}
	if m.TLS.CertFile != "" && m.TLS.KeyFile == "" {
		v.add("mqtt.tls.key_file", `""`, "is required when mqtt.tls.cert_file is set")
	}
	if m.TLS.KeyFile != "" && m.TLS.CertFile == "" {
		v.add("mqtt.tls.cert_file", `""`, "is required when mqtt.tls.key_file is set")
	}

	switch ka := m.Keepalive.Std(); {
	case ka < time.Second || ka > maxMQTTKeepaliveSecs*time.Second:
		v.add("mqtt.keepalive", m.Keepalive.String(), "is not between 1s and %s", time.Duration(maxMQTTKeepaliveSecs)*time.Second)
	case ka%time.Second != 0:
		v.add("mqtt.keepalive", m.Keepalive.String(), "is not a whole number of seconds")
	}
	if m.Inflight < 1 || m.Inflight > maxMQTTInflight {
		v.add("mqtt.inflight", strconv.Itoa(m.Inflight), "is not between 1 and %d", maxMQTTInflight)
	}
	v.positive("mqtt.connect_timeout", m.ConnectTimeout)
	if !(m.RateLimit >= 0 && m.RateLimit <= maxMQTTRateLimit) {
		v.add("mqtt.rate_limit", strconv.FormatFloat(m.RateLimit, 'g', -1, 64), "is not between 0 (no limit) and %d messages per second", maxMQTTRateLimit)
	}
}

func (c *Config) validateModels(v *validator) {
	names := make([]string, 0, len(c.Models))
	for name := range c.Models {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := c.Models[name]
		path := keyPath("models", name)
		if !modelName.MatchString(name) {
			v.add(path, "", "is not a valid model name: use lower-case letters, digits, '_' and '-'")
		}
		if m.Path == "" {
			v.add(path+".path", `""`, "is required")
		}
		keys := make([]string, 0, len(m.Metadata))
		for k := range m.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if slices.Contains(modelMetadataKeys, k) {
				continue
			}
			kp := path + ".metadata." + k
			switch short := strings.TrimPrefix(k, "lineside."); {
			case short != k && slices.Contains(modelMetadataKeys, short):
				v.add(kp, "", "unknown key; leave out the lineside. prefix: %s", short)
			case suggest(k, modelMetadataKeys) != "":
				v.add(kp, "", "unknown key; did you mean %s?", suggest(k, modelMetadataKeys))
			default:
				v.add(kp, "", "unknown key (want one of %s)", strings.Join(modelMetadataKeys, ", "))
			}
		}
	}
}

func (c *Config) validateCameras(v *validator) {
	seen := map[string]int{}
	models := make([]string, 0, len(c.Models))
	for name := range c.Models {
		models = append(models, name)
	}
	sort.Strings(models)
	for i, cam := range c.Cameras {
		path := indexPath("cameras", i)
		if v.name(path+".name", cam.Name) {
			if j, dup := seen[cam.Name]; dup {
				v.add(path+".name", strconv.Quote(cam.Name), "is already the name of cameras[%d]", j)
			} else {
				seen[cam.Name] = i
			}
		}
		if cam.Source == "" {
			v.add(path+".source", `""`, "is required")
		} else if u, err := url.Parse(cam.Source); err != nil || !urlScheme.MatchString(u.Scheme) || len(u.Scheme) < 2 {
			v.add(path+".source", strconv.Quote(cam.Source), "is not a URL with a scheme (e.g. file:///data/line3.mp4?loop=true, rtsp://10.0.0.5/stream1)")
		}
		if !(cam.FPS > 0 && cam.FPS <= maxCameraFPS) {
			msg := "is not > 0"
			if cam.FPS > 0 {
				msg = fmt.Sprintf("is more than %d", maxCameraFPS)
			}
			v.add(path+".fps", strconv.FormatFloat(cam.FPS, 'g', -1, 64), "%s", msg)
		}
		switch _, ok := c.Models[cam.Model]; {
		case cam.Model == "":
			v.add(path+".model", `""`, "is required")
		case !ok && len(models) == 0:
			v.add(path+".model", strconv.Quote(cam.Model), "is not a model: models is empty")
		case !ok:
			msg := "is not one of the models (" + strings.Join(models, ", ") + ")"
			if s := suggest(cam.Model, models); s != "" {
				msg += "; did you mean " + s + "?"
			}
			v.add(path+".model", strconv.Quote(cam.Model), "%s", msg)
		}
		v.validateVision(path, &cam)
		v.validateHealth(path, &cam)
	}
}

// name checks a required topic-safe name and reports whether it is valid.
func (v *validator) name(path, s string) bool {
	switch {
	case s == "":
		v.add(path, `""`, "is required")
	case !topicSafe.MatchString(s):
		v.add(path, strconv.Quote(s), "may only contain letters, digits, '_' and '-' (it is part of MQTT topics)")
	default:
		return true
	}
	return false
}

func (v *validator) oneOf(path, s string, allowed []string) {
	if !slices.Contains(allowed, s) {
		v.add(path, strconv.Quote(s), "is not one of %s", strings.Join(allowed, ", "))
	}
}

func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.add(path, d.String(), "is not > 0")
	}
}

// validPort reports whether s is a port number; zero is allowed only where
// it means "any free port".
func validPort(s string, zeroOK bool) bool {
	n, err := strconv.Atoi(s)
	if err != nil || n > math.MaxUint16 || n < 0 {
		return false
	}
	return n > 0 || zeroOK
}

func defaultPort(m *MQTTConfig) int {
	if m.UsesTLS() {
		return 8883
	}
	return 1883
}

func schemeOf(rawURL string) string {
	scheme, _, ok := strings.Cut(rawURL, "://")
	if !ok {
		return ""
	}
	return strings.ToLower(scheme)
}

// locate adds the file line or environment variable of each error's key,
// when c was loaded from a file. A key missing from the file gets the line
// of the closest section that is there.
func (c *Config) locate(errs []FieldError) []FieldError {
	for i := range errs {
		fe := &errs[i]
		if fe.Line != 0 || fe.Env != "" {
			continue
		}
		for p := fe.Path; p != ""; p = parentPath(p) {
			if o, ok := c.origins[p]; ok {
				if p == fe.Path {
					fe.Env = o.env
				}
				fe.Line = o.line
				break
			}
		}
	}
	return errs
}

// parentPath strips the last key or index from a key path.
func parentPath(p string) string {
	if i := strings.LastIndexAny(p, ".["); i > 0 {
		return p[:i]
	}
	return ""
}
