package agent

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lineside/lineside/sensors/assets"
)

// Defaults of the sensors and assets keys.
const (
	// DefaultSensorInterval is sensors[].interval.
	DefaultSensorInterval = Duration(time.Second)
	// DefaultSensorTimeout is sensors[].timeout.
	DefaultSensorTimeout = Duration(2 * time.Second)
	// DefaultAssetTelemetryInterval is assets[].telemetry_interval.
	DefaultAssetTelemetryInterval = Duration(time.Minute)
	// DefaultAssetK is assets[].k.
	DefaultAssetK = assets.DefaultDebounce
	// DefaultAssetTimeScale is assets[].time_scale.
	DefaultAssetTimeScale = 1.0
)

// Limits of the sensors and assets keys.
const (
	minSensorInterval       = Duration(10 * time.Millisecond)
	minTelemetryInterval    = Duration(time.Second)
	maxAssetTimeScale       = 7 * 24 * 3600
	maxAssetK               = 1000
	maxSensorPoints         = 10000
	sensorSourceExample     = "modbus://10.0.0.7:502, opc.tcp://10.0.0.8:4840, sim://motor?seed=1"
	sensorPointOptionsNames = "type, word_order, byte_order, scale, offset, min, max, field, time_field, max_age"
)

// SensorConfig is one sensor connection (a PLC, an OPC UA server, a broker,
// a simulated machine) and the points read through it.
type SensorConfig struct {
	// Name identifies the source in status and logs; unique, letters,
	// digits, '_' and '-'. Required.
	Name string `mapstructure:"name"`
	// Source is the connection URL; its scheme selects the implementation
	// (modbus, opc.tcp, mqtt, sim). Required.
	Source string `mapstructure:"source"`
	// Interval is the poll period of polled protocols, at least 10ms.
	// Default: 1s (DefaultSensorInterval).
	Interval Duration `mapstructure:"interval"`
	// Timeout bounds one request or connect attempt.
	// Default: 2s (DefaultSensorTimeout).
	Timeout Duration `mapstructure:"timeout"`
	// Points are the values read through this source; at least one.
	Points []PointConfig `mapstructure:"points"`
}

// PointConfig is one sensor point. Besides name and address, the keys are
// options passed to the source as text; a source refuses the ones its kind
// does not use when the agent starts.
type PointConfig struct {
	// Name is the point's name, unique across all sensors; assets refer to
	// it. Required.
	Name string `mapstructure:"name"`
	// Address locates the value: a Modbus register ("hr:100"), an OPC UA
	// node id, an MQTT topic, a simulated feature name. Required.
	Address string `mapstructure:"address"`
	// Type is the register type of Modbus points (e.g. float32, uint16).
	Type string `mapstructure:"type"`
	// WordOrder and ByteOrder are the Modbus word and byte order of
	// multi-register values.
	WordOrder string `mapstructure:"word_order"`
	ByteOrder string `mapstructure:"byte_order"`
	// Scale and Offset turn the raw value into engineering units:
	// value = raw·scale + offset. Defaults 1 and 0.
	Scale  string `mapstructure:"scale"`
	Offset string `mapstructure:"offset"`
	// Min and Max reject values outside the range. Default: no limits.
	Min string `mapstructure:"min"`
	Max string `mapstructure:"max"`
	// Field and TimeField are the JSON paths of the value and its timestamp
	// in MQTT payloads.
	Field     string `mapstructure:"field"`
	TimeField string `mapstructure:"time_field"`
	// MaxAge rejects values whose timestamp is older, e.g. 30s.
	MaxAge string `mapstructure:"max_age"`
}

// Options returns the point's option keys that are set, as the source
// receives them.
func (p PointConfig) Options() map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{
		"type": p.Type, "word_order": p.WordOrder, "byte_order": p.ByteOrder,
		"scale": p.Scale, "offset": p.Offset, "min": p.Min, "max": p.Max,
		"field": p.Field, "time_field": p.TimeField, "max_age": p.MaxAge,
	} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// AssetConfig is one machine watched by a failure-prediction model.
type AssetConfig struct {
	// Name identifies the asset in health events and telemetry topics;
	// unique, letters, digits, '_' and '-'. Required.
	Name string `mapstructure:"name"`
	// Model is the entry of models that judges the asset; its task must be
	// failure_prediction (checked when the model is loaded). Required.
	Model string `mapstructure:"model"`
	// Features maps each of the model's lineside.features to a point name;
	// it must cover exactly the model's features. Required.
	Features map[string]string `mapstructure:"features"`
	// Tolerance is how old a feature's last value may be and still fill a
	// grid sample (hold-last). Default: 0, meaning the model's
	// lineside.max_gap_s, or two sampling periods when it has none.
	Tolerance Duration `mapstructure:"tolerance"`
	// TelemetryInterval is the period of the {base}/telemetry/{asset}
	// summaries, 0 (disabled) or at least 1s.
	// Default: 1m (DefaultAssetTelemetryInterval).
	TelemetryInterval Duration `mapstructure:"telemetry_interval"`
	// Warn and Alarm override the model's lineside.threshold.warn and
	// .alarm for this asset, in (0, 1]. Default: 0, the model's.
	Warn  float64 `mapstructure:"warn"`
	Alarm float64 `mapstructure:"alarm"`
	// K is the number of consecutive windows a threshold must be reached
	// before warn or alarm is entered, 1 to 1000. Default: 3 (DefaultAssetK).
	K int `mapstructure:"k"`
	// TimeScale is how much faster than the sample timestamps the machine's
	// own time runs, for a simulator served over a real protocol at a speed
	// factor (lineside sim plc --speed X: time_scale X). Windows, the grid
	// and the tolerance then run on machine time, anchored at the model's
	// first sample and snapped to the grid; health events keep wall-clock
	// ts and add machine_ts. All assets of one model must share it.
	// Default: 1 (DefaultAssetTimeScale), real time.
	TimeScale float64 `mapstructure:"time_scale"`
}

// setDefaults fills in the defaults of a sensor entry before it is decoded.
func (s *SensorConfig) setDefaults() {
	s.Interval, s.Timeout = DefaultSensorInterval, DefaultSensorTimeout
}

// setDefaults fills in the defaults of an asset entry before it is decoded.
func (a *AssetConfig) setDefaults() {
	a.TelemetryInterval, a.K, a.TimeScale = DefaultAssetTelemetryInterval, DefaultAssetK, DefaultAssetTimeScale
}

// validateSensors checks sensors and returns the sensor of each point name.
func (c *Config) validateSensors(v *validator) map[string]string {
	seen := map[string]int{}
	points := map[string]string{}
	pointAt := map[string]string{}
	for i, s := range c.Sensors {
		path := indexPath("sensors", i)
		if v.name(path+".name", s.Name) {
			if j, dup := seen[s.Name]; dup {
				v.add(path+".name", strconv.Quote(s.Name), "is already the name of sensors[%d]", j)
			} else {
				seen[s.Name] = i
			}
		}
		if s.Source == "" {
			v.add(path+".source", `""`, "is required")
		} else if u, err := url.Parse(s.Source); err != nil || !urlScheme.MatchString(u.Scheme) || len(u.Scheme) < 2 {
			v.add(path+".source", strconv.Quote(s.Source), "is not a URL with a scheme (e.g. %s)", sensorSourceExample)
		}
		if s.Interval < minSensorInterval {
			v.add(path+".interval", s.Interval.String(), "is less than the minimum of %s", minSensorInterval)
		}
		v.positive(path+".timeout", s.Timeout)
		if len(s.Points) == 0 {
			v.add(path+".points", "[]", "is empty; list the points read through this source")
		}
		if len(s.Points) > maxSensorPoints {
			v.add(path+".points", strconv.Itoa(len(s.Points)), "has more than %d points", maxSensorPoints)
		}
		for j, p := range s.Points {
			pp := indexPath(path+".points", j)
			if v.name(pp+".name", p.Name) {
				if at, dup := pointAt[p.Name]; dup {
					v.add(pp+".name", strconv.Quote(p.Name), "is already the name of %s", at)
				} else {
					pointAt[p.Name], points[p.Name] = pp, s.Name
				}
			}
			if strings.TrimSpace(p.Address) == "" {
				v.add(pp+".address", strconv.Quote(p.Address), "is required")
			}
		}
	}
	return points
}

// validateAssets checks assets against the models and the sensor points.
func (c *Config) validateAssets(v *validator, points map[string]string) {
	seen := map[string]int{}
	scaleOf := map[string]int{} // model → first asset using it
	names := make([]string, 0, len(points))
	for p := range points {
		names = append(names, p)
	}
	sort.Strings(names)
	for i, a := range c.Assets {
		path := indexPath("assets", i)
		if v.name(path+".name", a.Name) {
			if j, dup := seen[a.Name]; dup {
				v.add(path+".name", strconv.Quote(a.Name), "is already the name of assets[%d]", j)
			} else {
				seen[a.Name] = i
			}
		}
		c.validateAssetModel(v, path, a)
		if len(a.Features) == 0 {
			v.add(path+".features", "{}", "is empty; map each of the model's features to a point")
		}
		keys := make([]string, 0, len(a.Features))
		for k := range a.Features {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := a.Features[k]
			if _, ok := points[p]; !ok {
				msg := "is not a point of any sensor"
				if s := suggest(p, names); s != "" {
					msg += "; did you mean " + s + "?"
				}
				v.add(path+".features."+k, strconv.Quote(p), "%s", msg)
			}
		}
		if a.Tolerance < 0 {
			v.add(path+".tolerance", a.Tolerance.String(), "is negative")
		}
		if a.TelemetryInterval != 0 && a.TelemetryInterval < minTelemetryInterval {
			v.add(path+".telemetry_interval", a.TelemetryInterval.String(), "is not 0 (disabled) or at least %s", minTelemetryInterval)
		}
		for _, th := range []struct {
			key string
			v   float64
		}{{"warn", a.Warn}, {"alarm", a.Alarm}} {
			if !(th.v >= 0 && th.v <= 1) {
				v.add(path+"."+th.key, strconv.FormatFloat(th.v, 'g', -1, 64), "is not in (0, 1] (0: the model's threshold)")
			}
		}
		if a.Warn > 0 && a.Alarm > 0 && a.Warn > a.Alarm {
			v.add(path+".warn", strconv.FormatFloat(a.Warn, 'g', -1, 64), "is above alarm %g", a.Alarm)
		}
		if a.K < 1 || a.K > maxAssetK {
			v.add(path+".k", strconv.Itoa(a.K), "is not between 1 and %d", maxAssetK)
		}
		if !(a.TimeScale > 0 && a.TimeScale <= maxAssetTimeScale) {
			v.add(path+".time_scale", strconv.FormatFloat(a.TimeScale, 'g', -1, 64), "is not in (0, %d]", maxAssetTimeScale)
		}
		if j, ok := scaleOf[a.Model]; !ok {
			scaleOf[a.Model] = i
		} else if o := c.Assets[j]; o.TimeScale != a.TimeScale {
			v.add(path+".time_scale", strconv.FormatFloat(a.TimeScale, 'g', -1, 64),
				"differs from assets[%d] (%s, %g): assets of one model share its batches and grid", j, o.Name, o.TimeScale)
		}
	}
}

// validateAssetModel checks an asset's model reference and, when the
// config itself gives the model's features, that the asset covers them.
func (c *Config) validateAssetModel(v *validator, path string, a AssetConfig) {
	m, ok := c.Models[a.Model]
	switch {
	case a.Model == "":
		v.add(path+".model", `""`, "is required")
		return
	case !ok:
		v.add(path+".model", strconv.Quote(a.Model), "is not one of the models")
		return
	}
	if task := m.Metadata["task"]; task != "" && task != "failure_prediction" {
		v.add(path+".model", strconv.Quote(a.Model), "has task %s, want failure_prediction", task)
	}
	if fs := m.Metadata["features"]; fs != "" && len(a.Features) > 0 {
		if err := CheckAssetFeatures(a, strings.Split(fs, ",")); err != "" {
			v.add(path+".features", "", "%s", err)
		}
	}
}

// CheckAssetFeatures compares an asset's features with a model's
// lineside.features and returns what is missing or extra, or "" when they
// match.
func CheckAssetFeatures(a AssetConfig, features []string) string {
	want := map[string]bool{}
	var missing, extra []string
	for _, f := range features {
		f = strings.TrimSpace(f)
		want[f] = true
		if _, ok := a.Features[f]; !ok {
			missing = append(missing, f)
		}
	}
	for f := range a.Features {
		if !want[f] {
			extra = append(extra, f)
		}
	}
	sort.Strings(extra)
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "lacks the model's feature(s) "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "has feature(s) the model does not use: "+strings.Join(extra, ", "))
	}
	return strings.Join(parts, "; ")
}
