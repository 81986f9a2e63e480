package agent

import (
	"math"
	"strconv"
	"time"
)

// pointStats summarises one point's good readings over a telemetry
// interval.
type pointStats struct {
	min, max, sum, last float64
	count               uint64
}

// telemetry collects an asset's readings between two {base}/telemetry/
// {asset} records: min, max, mean, last and count of each feature's point.
type telemetry struct {
	features, points []string
	every            time.Duration // 0: disabled
	next             time.Time     // wall time of the next record
	stats            []pointStats
}

func newTelemetry(features, points []string, every time.Duration) *telemetry {
	return &telemetry{features: features, points: points, every: every, stats: make([]pointStats, len(features))}
}

// add counts one good reading of feature f.
func (t *telemetry) add(f int, v float64) {
	if t.every == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	s := &t.stats[f]
	if s.count == 0 {
		s.min, s.max = v, v
	}
	s.min, s.max = min(s.min, v), max(s.max, v)
	s.sum += v
	s.last = v
	s.count++
}

// due returns the telemetry payload when its interval has passed at wall
// time now, and starts the next interval.
func (t *telemetry) due(now time.Time, asset string) ([]byte, bool) {
	if t.every == 0 {
		return nil, false
	}
	if t.next.IsZero() {
		t.next = now.Add(t.every)
		return nil, false
	}
	if now.Before(t.next) {
		return nil, false
	}
	t.next = now.Add(t.every)
	b := make([]byte, 0, 128+96*len(t.stats))
	b = append(b, `{"ts":"`...)
	b = now.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","asset":`...)
	b = append(b, quoteJSON(asset)...)
	b = append(b, `,"interval_s":`...)
	b = strconv.AppendFloat(b, t.every.Seconds(), 'g', -1, 64)
	b = append(b, `,"samples":{`...)
	for i := range t.stats {
		s := &t.stats[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, quoteJSON(t.features[i])...)
		b = append(b, `:{"point":`...)
		b = append(b, quoteJSON(t.points[i])...)
		b = append(b, `,"count":`...)
		b = strconv.AppendUint(b, s.count, 10)
		if s.count > 0 {
			for _, kv := range [...]struct {
				k string
				v float64
			}{{"min", s.min}, {"max", s.max}, {"mean", s.sum / float64(s.count)}, {"last", s.last}} {
				b = append(b, `,"`...)
				b = append(b, kv.k...)
				b = append(b, `":`...)
				b = strconv.AppendFloat(b, kv.v, 'g', 7, 64)
			}
		}
		b = append(b, '}')
		*s = pointStats{}
	}
	return append(b, "}}"...), true
}
