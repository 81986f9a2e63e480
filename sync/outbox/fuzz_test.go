package outbox

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecodeValue feeds arbitrary stored values to the decoder: it must never
// panic, and a value it accepts must encode back to the same bytes.
func FuzzDecodeValue(f *testing.F) {
	v := encodeValue(nil, 1, time.Unix(1, 2), "defect.cam1", 42, "b/events/defect")
	v = append(v, `{"id":"d:defect.cam1:42","seq":42}`...)
	f.Add(sealValue(v, 0))
	f.Add(v)
	f.Add([]byte{valueVersion1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if decodeValue(&m, b) != nil || b[0] != valueVersion {
			return
		}
		re := encodeValue(nil, m.QoS, m.Created, m.Stream, m.Seq, m.Topic)
		re = sealValue(append(re, m.Payload...), 0)
		if !bytes.Equal(re, b) {
			t.Fatalf("decoded %+v re-encodes to %x, not %x", m, re, b)
		}
	})
}

// FuzzPageFile feeds arbitrary files to the checker and the salvage walk and
// scan: they must never panic or loop, whatever the bytes.
func FuzzPageFile(f *testing.F) {
	f.Add(make([]byte, 3*4096))
	f.Add([]byte("not a store"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		if pf, err := openPageFile(r, int64(len(b)), false); err == nil {
			lost := 0
			_ = pf.walk(pf.meta.root, nil, nil, 0, false, &lost, func(e element) error {
				if e.bucket {
					_, err := pf.bucket(e.value, 1, false, &lost, func(element) error { return nil })
					return err
				}
				return nil
			})
		}
		scanLeaves(r, int64(len(b)), 512, func(e element) {
			var m Message
			_ = decodeValue(&m, e.value)
		})
	})
}
