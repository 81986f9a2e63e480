package agent

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/lineside/lineside/sensors/assets"
	"github.com/lineside/lineside/sync/outbox"
	"github.com/lineside/lineside/sync/topic"
)

// assetRun is one asset's state in the sensor pipeline.
type assetRun struct {
	name     string
	model    *pdmModel
	features []string // the model's features, in input order
	win      *assets.Windower
	alert    *assets.Alert
	tele     *telemetry
	stream   string // health.<asset>
	// alarmStream (alarm.<asset>) carries the records that enter alarm.
	// They go out at alarm priority, ahead of the event tier, so they are
	// a stream of their own: the order within every stream is kept.
	alarmStream string
	telStream   string // telemetry.<asset>
	topic       string

	insufficient bool          // the last due window was not inferred
	inferred     atomic.Uint64 // windows inferred
	skipped      atomic.Uint64 // windows not inferred: insufficient data
}

// newAssetRun builds an asset's windows, alert and telemetry from its
// config and its model's contract.
func newAssetRun(ac AssetConfig, m *pdmModel, layout topic.Layout) (*assetRun, error) {
	md := m.pred.Metadata()
	if msg := CheckAssetFeatures(ac, md.Features); msg != "" {
		return nil, fmt.Errorf("features %s (model %s has %v)", msg, m.name, md.Features)
	}
	if md.PeriodS <= 0 {
		return nil, fmt.Errorf("model %s has no lineside.period_s; set models.%s.metadata.period_s", m.name, m.name)
	}
	period := time.Duration(md.PeriodS * float64(time.Second))
	stride := time.Duration(md.StrideS * float64(time.Second))
	tol := ac.Tolerance.Std()
	if tol == 0 {
		tol = time.Duration(md.MaxGapS * float64(time.Second))
	}
	if tol == 0 {
		tol = 2 * period
	}
	if m.tl == nil {
		m.tl = newTimeline(ac.TimeScale, period)
	} else if m.tl.scale != ac.TimeScale {
		return nil, fmt.Errorf("time_scale %g differs from %g of model %s's other assets, which share its batches and grid",
			ac.TimeScale, m.tl.scale, m.name)
	}
	win, err := assets.NewWindower(assets.Spec{
		Features: len(md.Features), Period: period, Window: md.Window, Stride: stride,
		Tolerance: tol, Mean: md.FeatureMean, Std: md.FeatureStd,
	})
	if err != nil {
		return nil, err
	}
	alert, err := assets.NewAlert(assetThresholds(ac, md.Threshold.Warn, md.Threshold.Alarm))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.name, err)
	}
	points := make([]string, len(md.Features))
	for i, f := range md.Features {
		points[i] = ac.Features[f]
	}
	return &assetRun{
		name: ac.Name, model: m, features: md.Features, win: win, alert: alert,
		tele:   newTelemetry(md.Features, points, ac.TelemetryInterval.Std()),
		stream: "health." + ac.Name, alarmStream: "alarm." + ac.Name, telStream: "telemetry." + ac.Name,
		topic: layout.HealthEvents(),
	}, nil
}

// scaled maps a sample time to the asset's machine time (sensors_time.go).
func (a *assetRun) scaled(t time.Time) time.Time { return a.model.tl.machine(t) }

// due handles a window that fell due: it joins the model's pending batch,
// or is counted and reported as insufficient data.
func (a *assetRun) due(d assets.Due) {
	m := a.model
	if len(m.slots) > 0 && d.End.After(m.end) {
		m.hub.runBatch(m)
	}
	if !d.Ready {
		a.skipped.Add(1)
		if !a.insufficient {
			a.insufficient = true
			m.hub.log.Warn("asset window not inferred: insufficient data", "asset", a.name,
				"missing", a.missing(d.Missing), "samples", d.Rows)
			m.hub.append(a.stream, a.topic, outbox.PriorityEvent,
				a.encode(d.End, math.NaN(), assets.StateInsufficientData, d.Missing))
		}
		return
	}
	if a.insufficient {
		a.insufficient = false
		m.hub.log.Info("asset window inferred again", "asset", a.name)
	}
	if len(m.slots) == 0 {
		m.since, m.end = time.Now(), d.End
	}
	a.win.Fill(m.pred.Window(len(m.slots)))
	m.slots = append(m.slots, a)
}

// runBatch infers the pending windows of m in one run and publishes a
// health event per asset; the window that raises an alarm goes at the
// alarm priority.
func (h *sensorHub) runBatch(m *pdmModel) {
	n := len(m.slots)
	out, err := m.pred.Run(n)
	err = m.stats.observe(m.version, out, err)
	if err != nil {
		h.log.Error("failure prediction failed", "model", m.name, "windows", n, "err", err)
		m.slots = m.slots[:0]
		return
	}
	for i, a := range m.slots {
		p := float64(out[i])
		prev := a.alert.State()
		st, changed := a.alert.Step(p)
		a.inferred.Add(1)
		stream, prio := a.stream, outbox.PriorityEvent
		if changed {
			h.log.Info("asset state", "asset", a.name, "state", st, "was", prev, "p_fail", p)
			if st == assets.StateAlarm {
				stream, prio = a.alarmStream, outbox.PriorityAlarm
			}
		}
		h.append(stream, a.topic, prio, a.encode(m.end, p, st, 0))
	}
	m.slots = m.slots[:0]
}

// missing names the features of a mask.
func (a *assetRun) missing(mask uint64) []string {
	var out []string
	for mask != 0 {
		f := bits.TrailingZeros64(mask)
		out = append(out, a.features[f])
		mask &^= 1 << f
	}
	return out
}

// encode writes a {base}/events/health payload for the window ending at
// grid instant end (machine time); ts is its wall-clock time. p is NaN
// (null) for an insufficient-data event, which lists the features with
// gaps. With a time_scale other than 1, machine_ts gives the window's end
// in machine time too.
func (a *assetRun) encode(end time.Time, p float64, st assets.State, missing uint64) []byte {
	b := make([]byte, 0, 192)
	b = append(b, `{"ts":"`...)
	b = a.model.tl.wall(end).UTC().AppendFormat(b, time.RFC3339Nano)
	if a.model.tl.scale != 1 {
		b = append(b, `","machine_ts":"`...)
		b = end.UTC().AppendFormat(b, time.RFC3339)
	}
	b = append(b, `","asset":`...)
	b = append(b, quoteJSON(a.name)...)
	b = append(b, `,"model":`...)
	b = append(b, quoteJSON(a.model.name)...)
	b = append(b, `,"model_version":`...)
	b = append(b, quoteJSON(a.model.version)...)
	b = append(b, `,"p_fail":`...)
	if math.IsNaN(p) {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendFloat(b, p, 'g', 6, 64)
	}
	b = append(b, `,"state":"`...)
	b = append(b, st...)
	b = append(b, '"')
	if missing != 0 {
		b = append(b, `,"missing":[`...)
		for i, f := range a.missing(missing) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, quoteJSON(f)...)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
