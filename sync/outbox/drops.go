package outbox

import (
	"encoding/json"
	"log/slog"
	"maps"
	"sync"
	"time"
)

// Drop reasons, the keys of Stats.Drops[stream].
const (
	// DropBudget: a stored record was dropped to keep the disk budget.
	DropBudget = "budget"
	// DropFull: Append refused a record because the budget had no room
	// for it even after dropping every record of its tier and below; it
	// never had a seq.
	DropFull = "full"
)

// maxDropRanges bounds the seq ranges kept per stream and reason in one
// report; beyond it only the count grows.
const maxDropRanges = 512

// DropEntry reports the records of one stream dropped for one reason since
// the previous report. Ranges lists the dropped seqs as inclusive [first,
// last] pairs, so that the cloud can tell a reported drop from a gap.
type DropEntry struct {
	Stream string      `json:"stream"`
	Reason string      `json:"reason"`
	Count  uint64      `json:"count"`
	Ranges [][2]uint64 `json:"ranges,omitempty"`
	// Truncated is set when more than maxDropRanges ranges were needed.
	Truncated bool `json:"ranges_truncated,omitempty"`
}

// dropEvent is one record dropped in the commit being built; seq 0 means it
// never had one (DropFull).
type dropEvent struct {
	stream, reason string
	seq            uint64
}

// dropLedger counts drops since Open and keeps the drops not yet reported.
// The pending list is stored in the meta bucket in the same transaction as
// the drops, so a crash cannot lose a report.
type dropLedger struct {
	mu      sync.Mutex
	total   map[string]map[string]uint64
	pending []DropEntry
	last    time.Time // last report written
}

// load restores the pending drops saved by a previous run.
func (l *dropLedger) load(b []byte, log *slog.Logger) {
	if len(b) == 0 {
		return
	}
	var p []DropEntry
	if err := json.Unmarshal(b, &p); err != nil {
		log.Warn("pending drop report unreadable; dropping it", "err", err)
		return
	}
	l.mu.Lock()
	l.pending = p
	l.mu.Unlock()
}

// merged returns the pending entries with ev added, leaving the ledger
// unchanged until the commit succeeds.
func (l *dropLedger) merged(ev []dropEvent) []DropEntry {
	l.mu.Lock()
	out := make([]DropEntry, len(l.pending))
	for i, e := range l.pending {
		out[i] = e
		out[i].Ranges = append([][2]uint64(nil), e.Ranges...)
	}
	l.mu.Unlock()
	for _, d := range ev {
		i := 0
		for i < len(out) && (out[i].Stream != d.stream || out[i].Reason != d.reason) {
			i++
		}
		if i == len(out) {
			out = append(out, DropEntry{Stream: d.stream, Reason: d.reason})
		}
		e := &out[i]
		e.Count++
		switch n := len(e.Ranges); {
		case d.seq == 0:
		case n > 0 && e.Ranges[n-1][1]+1 == d.seq:
			e.Ranges[n-1][1] = d.seq
		case n < maxDropRanges:
			e.Ranges = append(e.Ranges, [2]uint64{d.seq, d.seq})
		default:
			e.Truncated = true
		}
	}
	return out
}

// apply records a committed transaction's drops: merged becomes the pending
// list, or nothing is pending when the report was written.
func (l *dropLedger) apply(merged []DropEntry, ev []dropEvent, reported bool, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total == nil {
		l.total = map[string]map[string]uint64{}
	}
	for _, d := range ev {
		m := l.total[d.stream]
		if m == nil {
			m = map[string]uint64{}
			l.total[d.stream] = m
		}
		m[d.reason]++
	}
	if reported {
		l.pending, l.last = nil, now
	} else {
		l.pending = merged
	}
}

// due reports whether drops wait for a report and how long until it may be
// written.
func (l *dropLedger) due(interval time.Duration, enabled bool) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !enabled || len(l.pending) == 0 {
		return 0, false
	}
	return max(0, time.Until(l.last.Add(interval))), true
}

// reportDue reports whether a report may be written at now.
func (l *dropLedger) reportDue(now time.Time, interval time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !now.Before(l.last.Add(interval))
}

// totals returns a copy of the counts since Open.
func (l *dropLedger) totals() map[string]map[string]uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]map[string]uint64, len(l.total))
	for s, m := range l.total {
		out[s] = maps.Clone(m)
	}
	return out
}

// dropReport is the payload of a {base}/events/drops record.
func dropReport(now time.Time, entries []DropEntry) []byte {
	b, _ := json.Marshal(struct {
		TS    string      `json:"ts"`
		Drops []DropEntry `json:"drops"`
	}{now.UTC().Format(time.RFC3339Nano), entries})
	return b
}
