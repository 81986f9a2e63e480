// Package ledger follows the records lineside publishes, as the cloud sees
// them: per stream ({device}:{stream}) it tracks which seqs arrived, and
// reports gaps (missing ids), duplicates, records that arrived out of order,
// drops the agent reported on {base}/events/drops, and the end-to-end
// latency from a record's "ts" to its arrival. `lineside watch --ledger`
// runs it against a broker.
package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrNotRecord is returned by Parse for messages that are not outbox
// records (status, metrics, commands): they carry no id.
var ErrNotRecord = errors.New("not a record")

// ErrMalformed is wrapped by Parse errors about a record whose id, seq or
// drop list cannot be read.
var ErrMalformed = errors.New("malformed record")

// Record is what the ledger needs of one message.
type Record struct {
	// Device and Stream come from the id {device}:{stream}:{seq}.
	Device, Stream string
	Seq            uint64
	// TS is the record's own timestamp (zero when it has none, e.g. a
	// snapshot, whose payload is an image).
	TS time.Time
	// Drops lists the dropped records a drop report announces.
	Drops []Drop
}

// Drop is one entry of a drop report: the seqs of Stream (on the report's
// device) dropped for Reason, as inclusive ranges.
type Drop struct {
	Stream string      `json:"stream"`
	Reason string      `json:"reason"`
	Count  uint64      `json:"count"`
	Ranges [][2]uint64 `json:"ranges"`
}

// maxDropSpan bounds the seqs one drop range may cover, so that a hostile
// report cannot make the ledger do unbounded work.
const maxDropSpan = 1 << 24

// Parse reads a message: JSON records carry "id" and "seq"; snapshots carry
// their id as the last topic level. Drop reports ({base}/events/drops) also
// yield their drop list.
func Parse(topic string, payload []byte) (Record, error) {
	if i := strings.LastIndex(topic, "/snapshots/"); i >= 0 {
		return parseID(topic[i+len("/snapshots/"):])
	}
	if len(payload) == 0 || payload[0] != '{' {
		return Record{}, ErrNotRecord
	}
	var p struct {
		ID    *string         `json:"id"`
		Seq   *uint64         `json:"seq"`
		TS    string          `json:"ts"`
		Drops json.RawMessage `json:"drops"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return Record{}, ErrNotRecord
	}
	if p.ID == nil {
		return Record{}, ErrNotRecord
	}
	r, err := parseID(*p.ID)
	if err != nil {
		return Record{}, err
	}
	if p.Seq == nil || *p.Seq != r.Seq {
		return Record{}, fmt.Errorf("%w: id %s and seq field disagree", ErrMalformed, *p.ID)
	}
	if p.TS != "" {
		if r.TS, err = time.Parse(time.RFC3339Nano, p.TS); err != nil {
			return Record{}, fmt.Errorf("%w: id %s: ts %q", ErrMalformed, *p.ID, p.TS)
		}
	}
	if strings.HasSuffix(topic, "/events/drops") && len(p.Drops) > 0 {
		if err := json.Unmarshal(p.Drops, &r.Drops); err != nil {
			return Record{}, fmt.Errorf("%w: drop report %s: %w", ErrMalformed, *p.ID, err)
		}
		for _, d := range r.Drops {
			for _, rg := range d.Ranges {
				if rg[0] == 0 || rg[1] < rg[0] || rg[1]-rg[0] >= maxDropSpan {
					return Record{}, fmt.Errorf("%w: drop report %s: range %v", ErrMalformed, *p.ID, rg)
				}
			}
		}
	}
	return r, nil
}

// parseID splits {device}:{stream}:{seq}.
func parseID(id string) (Record, error) {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return Record{}, fmt.Errorf("%w: id %q", ErrMalformed, id)
	}
	j := strings.LastIndexByte(id[:i], ':')
	seq, err := strconv.ParseUint(id[i+1:], 10, 64)
	if j <= 0 || j+1 == i || err != nil || seq == 0 {
		return Record{}, fmt.Errorf("%w: id %q", ErrMalformed, id)
	}
	return Record{Device: id[:j], Stream: id[j+1 : i], Seq: seq}, nil
}
