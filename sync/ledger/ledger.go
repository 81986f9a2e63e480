package ledger

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// maxMissingRanges bounds the missing id ranges listed per stream.
const maxMissingRanges = 32

// latencySamples is the size of the latency reservoir.
const latencySamples = 100000

// Ledger follows streams of records. It is safe for concurrent use.
type Ledger struct {
	// FromStart counts gaps from seq 1 instead of from the first seq seen,
	// for a ledger that watched the streams from their beginning.
	FromStart bool

	mu        sync.Mutex
	streams   map[string]*stream
	other     uint64
	malformed uint64
	lat       []float64
	latN      uint64
	latMax    float64
	rng       *rand.Rand
}

type stream struct {
	seen, dropped      rangeSet
	received, dups     uint64
	outOfOrder, maxSeq uint64
}

// New returns an empty ledger.
func New(fromStart bool) *Ledger {
	return &Ledger{FromStart: fromStart, streams: map[string]*stream{}, rng: rand.New(rand.NewPCG(1, 2))}
}

func (l *Ledger) stream(key string) *stream {
	s := l.streams[key]
	if s == nil {
		s = &stream{}
		l.streams[key] = s
	}
	return s
}

// Observe accounts for one message received at at. Messages that are not
// records are counted and ignored; malformed records are counted and their
// error returned.
func (l *Ledger) Observe(topic string, payload []byte, at time.Time) error {
	r, err := Parse(topic, payload)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case errors.Is(err, ErrNotRecord):
		l.other++
		return nil
	case err != nil:
		l.malformed++
		return err
	}
	s := l.stream(r.Device + ":" + r.Stream)
	s.received++
	if !s.seen.add(r.Seq) {
		s.dups++
	} else {
		if r.Seq < s.maxSeq {
			s.outOfOrder++
		}
		s.maxSeq = max(s.maxSeq, r.Seq)
		if !r.TS.IsZero() {
			l.latency(at.Sub(r.TS))
		}
	}
	for _, d := range r.Drops {
		ds := l.stream(r.Device + ":" + d.Stream)
		for _, rg := range d.Ranges {
			for v := rg[0]; ; v++ {
				ds.dropped.add(v)
				if v == rg[1] {
					break
				}
			}
		}
	}
	return nil
}

// latency records one end-to-end latency (first arrivals only).
func (l *Ledger) latency(d time.Duration) {
	ms := float64(d) / float64(time.Millisecond)
	l.latN++
	l.latMax = max(l.latMax, ms)
	if len(l.lat) < latencySamples {
		l.lat = append(l.lat, ms)
	} else if i := l.rng.Uint64N(l.latN); i < latencySamples {
		l.lat[i] = ms
	}
}

// StreamReport is the ledger of one stream.
type StreamReport struct {
	First      uint64      `json:"first"`
	Last       uint64      `json:"last"`
	Received   uint64      `json:"received"`
	Unique     uint64      `json:"unique"`
	Duplicates uint64      `json:"duplicates"`
	OutOfOrder uint64      `json:"out_of_order"`
	Dropped    uint64      `json:"dropped"`
	Missing    uint64      `json:"missing"`
	MissingIDs [][2]uint64 `json:"missing_ranges,omitempty"`
}

// Report is the ledger of every stream and the totals.
type Report struct {
	Streams    map[string]StreamReport `json:"streams"`
	Received   uint64                  `json:"received"`
	Unique     uint64                  `json:"unique"`
	Duplicates uint64                  `json:"duplicates"`
	OutOfOrder uint64                  `json:"out_of_order"`
	Dropped    uint64                  `json:"dropped"`
	Missing    uint64                  `json:"missing"`
	Malformed  uint64                  `json:"malformed"`
	Other      uint64                  `json:"other"`
	Latency    LatencyReport           `json:"latency_ms"`
}

// LatencyReport summarises end-to-end latencies in milliseconds.
type LatencyReport struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Report returns the ledger now. A record still on its way counts as
// missing until it arrives.
func (l *Ledger) Report() Report {
	l.mu.Lock()
	defer l.mu.Unlock()
	rep := Report{Streams: map[string]StreamReport{}, Malformed: l.malformed, Other: l.other}
	for key, s := range l.streams {
		lo, hi, ok := s.seen.bounds()
		dlo, dhi, dok := s.dropped.bounds()
		switch {
		case !ok && !dok:
			continue
		case !ok:
			lo, hi = dlo, dhi
		case dok:
			lo, hi = min(lo, dlo), max(hi, dhi)
		}
		if l.FromStart {
			lo = 1
		}
		sr := StreamReport{First: lo, Last: hi, Received: s.received, Unique: s.seen.count(), Duplicates: s.dups, OutOfOrder: s.outOfOrder, Dropped: s.dropped.count()}
		for _, g := range s.seen.gaps(lo, hi, &s.dropped) {
			sr.Missing += g[1] - g[0] + 1
			if len(sr.MissingIDs) < maxMissingRanges {
				sr.MissingIDs = append(sr.MissingIDs, g)
			}
		}
		rep.Streams[key] = sr
		rep.Received += sr.Received
		rep.Unique += sr.Unique
		rep.Duplicates += sr.Duplicates
		rep.OutOfOrder += sr.OutOfOrder
		rep.Dropped += sr.Dropped
		rep.Missing += sr.Missing
	}
	rep.Latency = LatencyReport{Count: l.latN, Max: l.latMax}
	if len(l.lat) > 0 {
		s := slices.Clone(l.lat)
		slices.Sort(s)
		rep.Latency.P50 = s[len(s)/2]
		rep.Latency.P99 = s[min(len(s)-1, len(s)*99/100)]
	}
	return rep
}
