package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"
)

// Priority is a record's drain tier. Lower values drain first; the named
// tiers are the only valid values.
type Priority uint8

// Priority tiers, highest first. The uplink drains a tier completely before
// it starts the next one; a later disk budget drops from the lowest tier.
const (
	PriorityAlarm Priority = iota
	PriorityEvent
	PrioritySnapshot
	PriorityTelemetry
	PriorityMetrics

	numPriorities = int(PriorityMetrics) + 1
)

var priorityNames = [numPriorities]string{"alarm", "event", "snapshot", "telemetry", "metrics"}

// String returns the tier name ("alarm", "event", ...).
func (p Priority) String() string {
	if int(p) < numPriorities {
		return priorityNames[p]
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

// Record is one message a producer hands to the outbox. Topic may contain the
// placeholder "{id}", replaced by the record's id at commit time. When JSON is
// set, Payload must be a JSON object; "id" and "seq" are spliced in as its
// first members.
type Record struct {
	Stream   string
	Topic    string
	QoS      byte
	Priority Priority
	Payload  []byte
	JSON     bool
}

// Receipt identifies a durable record: its stream, its per-stream sequence
// number and its id "{device}:{stream}:{seq}".
type Receipt struct {
	Stream string
	Seq    uint64
	ID     string
}

// Key locates a stored record: one priority byte followed by a big-endian
// commit counter. Byte order equals drain order, so the oldest record of a
// tier is the first key with that prefix. The zero Key sorts before every
// record and means "from the start" in Next.
type Key [9]byte

// Priority returns the tier encoded in the key.
func (k Key) Priority() Priority { return Priority(k[0]) }

// String renders the key as "tier/counter" for logs.
func (k Key) String() string {
	return k.Priority().String() + "/" + strconv.FormatUint(binary.BigEndian.Uint64(k[1:]), 10)
}

func makeKey(p Priority, n uint64) Key {
	var k Key
	k[0] = byte(p)
	binary.BigEndian.PutUint64(k[1:], n)
	return k
}

// Message is a stored record as read back for publishing. Payload is the exact
// byte string to publish on Topic; it is a private copy the caller may keep.
type Message struct {
	Key     Key
	Topic   string
	QoS     byte
	Payload []byte
	Stream  string
	Seq     uint64
	Created time.Time
}

// ErrInvalidRecord is wrapped by Append errors about the record itself.
var ErrInvalidRecord = errors.New("invalid record")

// validName reports whether s may appear in an id: ASCII letters, digits,
// '.', '_' and '-', 1 to 64 bytes. The restriction keeps ids unambiguous
// (':' separates the parts), safe as a topic level and free of JSON escapes.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (r *Record) validate() error {
	switch {
	case !validName(r.Stream):
		return fmt.Errorf("%w: stream %q must be 1-64 characters of [A-Za-z0-9._-]", ErrInvalidRecord, r.Stream)
	case r.Topic == "" || len(r.Topic) > 65535:
		return fmt.Errorf("%w: stream %s: topic must be 1-65535 bytes", ErrInvalidRecord, r.Stream)
	case r.QoS > 2:
		return fmt.Errorf("%w: stream %s: qos %d out of range 0-2", ErrInvalidRecord, r.Stream, r.QoS)
	case int(r.Priority) >= numPriorities:
		return fmt.Errorf("%w: stream %s: unknown priority %d", ErrInvalidRecord, r.Stream, r.Priority)
	case r.JSON && objectStart(r.Payload) < 0:
		return fmt.Errorf("%w: stream %s: json payload must be an object starting with '{'", ErrInvalidRecord, r.Stream)
	}
	return nil
}

// objectStart returns the index of the opening '{' after optional JSON
// whitespace, or -1 when the payload does not start with an object.
func objectStart(p []byte) int {
	for i, c := range p {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return i
		default:
			return -1
		}
	}
	return -1
}

// splice writes payload into dst with "id" and "seq" inserted as the first
// members of the top-level object. The payload was checked by validate; id
// holds only characters that need no JSON escaping.
func splice(dst, payload []byte, id string, seq uint64) []byte {
	open := objectStart(payload)
	dst = append(dst, payload[:open+1]...)
	dst = append(dst, `"id":"`...)
	dst = append(dst, id...)
	dst = append(dst, `","seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	rest := payload[open+1:]
	if !emptyObject(rest) {
		dst = append(dst, ',')
	}
	return append(dst, rest...)
}

// emptyObject reports whether rest (the bytes after '{') closes the object
// without members.
func emptyObject(rest []byte) bool {
	for _, c := range rest {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		default:
			return c == '}'
		}
	}
	return false
}

func makeID(device, stream string, seq uint64) string {
	return device + ":" + stream + ":" + strconv.FormatUint(seq, 10)
}

func expandTopic(topic, id string) string {
	if !strings.Contains(topic, "{id}") {
		return topic
	}
	return strings.ReplaceAll(topic, "{id}", id)
}

// Stored values: version(1) qos(1) created(8) seq(8) len(stream)(1) stream
// len(topic)(2) topic payload crc(4). The CRC-32C covers everything before
// it, so that a damaged record is found instead of published; version 1
// values (no CRC) are still read.
const (
	valueVersion1 = 1
	valueVersion  = 2
	valueFixed    = 1 + 1 + 8 + 8 + 1
	crcSize       = 4
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func encodeValue(dst []byte, qos byte, created time.Time, stream string, seq uint64, topic string) []byte {
	dst = append(dst, valueVersion, qos)
	dst = binary.BigEndian.AppendUint64(dst, uint64(created.UnixNano()))
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = append(dst, byte(len(stream)))
	dst = append(dst, stream...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(topic)))
	return append(dst, topic...)
}

// sealValue appends the CRC of the value that starts at dst[mark:].
func sealValue(dst []byte, mark int) []byte {
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[mark:], crcTable))
}

// storedValue is a stored value taken apart; stream, topic and payload
// alias the value, which is only valid during its transaction.
type storedValue struct {
	qos                    byte
	created                time.Time
	seq                    uint64
	stream, topic, payload []byte
}

// parseValue checks the stored value v of the record at key (layout and
// checksum) and takes it apart.
func parseValue(key Key, v []byte) (storedValue, error) {
	var sv storedValue
	if len(v) < valueFixed || (v[0] != valueVersion && v[0] != valueVersion1) {
		return sv, fmt.Errorf("%w: record %s: bad header", ErrCorrupt, key)
	}
	if v[0] == valueVersion {
		if len(v) < valueFixed+crcSize {
			return sv, fmt.Errorf("%w: record %s: truncated", ErrCorrupt, key)
		}
		body := v[:len(v)-crcSize]
		if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(v[len(body):]) {
			return sv, fmt.Errorf("%w: record %s: checksum mismatch", ErrCorrupt, key)
		}
		v = body
	}
	sv.qos = v[1]
	sv.created = time.Unix(0, int64(binary.BigEndian.Uint64(v[2:10])))
	sv.seq = binary.BigEndian.Uint64(v[10:18])
	n := int(v[18])
	v = v[valueFixed:]
	if len(v) < n+2 {
		return sv, fmt.Errorf("%w: record %s: truncated stream", ErrCorrupt, key)
	}
	sv.stream = v[:n]
	v = v[n:]
	tl := int(binary.BigEndian.Uint16(v))
	v = v[2:]
	if len(v) < tl {
		return sv, fmt.Errorf("%w: record %s: truncated topic", ErrCorrupt, key)
	}
	sv.topic, sv.payload = v[:tl], v[tl:]
	return sv, nil
}

// decodeValue fills m (whose Key is set) from a stored value, copying
// everything out of v.
func decodeValue(m *Message, v []byte) error {
	sv, err := parseValue(m.Key, v)
	if err != nil {
		return err
	}
	m.QoS, m.Created, m.Seq = sv.qos, sv.created, sv.seq
	m.Stream, m.Topic = string(sv.stream), string(sv.topic)
	m.Payload = append([]byte(nil), sv.payload...)
	return nil
}
