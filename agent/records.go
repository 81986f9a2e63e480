package agent

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/lineside/lineside/inference"
)

// errBadScores reports a model output that cannot be published (NaN or Inf).
var errBadScores = errors.New("model output is not finite")

// defectEncoder writes {base}/events/defect payloads (DESIGN.md) without
// reflection: the strings that do not change per frame (camera, model,
// version, labels) are quoted once, so a frame only formats numbers into a
// buffer the caller reuses. The outbox splices "id" and "seq" in front. It
// holds no per-frame state and is safe for concurrent use.
type defectEncoder struct {
	camera, model, version []byte
	labels                 [][]byte
}

func quoteJSON(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

func newDefectEncoder(camera, model, version string, labels []string) *defectEncoder {
	e := &defectEncoder{camera: quoteJSON(camera), model: quoteJSON(model), version: quoteJSON(version)}
	for _, l := range labels {
		e.labels = append(e.labels, quoteJSON(l))
	}
	return e
}

// encode writes the payload for one result into dst, reusing its memory, and
// returns it. snapshot is the id of the evidence snapshot, or "" for none.
func (e *defectEncoder) encode(dst []byte, ts time.Time, r inference.Result, latency time.Duration, snapshot string) ([]byte, error) {
	for _, s := range r.Scores {
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			return nil, errBadScores
		}
	}
	b := dst[:0]
	b = append(b, `{"ts":"`...)
	b = ts.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","camera":`...)
	b = append(b, e.camera...)
	b = append(b, `,"model":`...)
	b = append(b, e.model...)
	b = append(b, `,"model_version":`...)
	b = append(b, e.version...)
	b = append(b, `,"label":`...)
	b = append(b, e.labels[r.Index]...)
	b = append(b, `,"score":`...)
	b = strconv.AppendFloat(b, float64(r.Score), 'g', 6, 32)
	b = append(b, `,"scores":{`...)
	for i, s := range r.Scores {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.labels[i]...)
		b = append(b, ':')
		b = strconv.AppendFloat(b, float64(s), 'g', 6, 32)
	}
	b = append(b, `},"latency_ms":`...)
	b = strconv.AppendFloat(b, float64(latency.Microseconds())/1000, 'f', 3, 64)
	b = append(b, `,"snapshot":`...)
	if snapshot == "" {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = append(b, snapshot...)
		b = append(b, '"')
	}
	b = append(b, '}')
	return b, nil
}
