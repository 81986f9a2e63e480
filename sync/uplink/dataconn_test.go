package uplink

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/outbox"
)

func TestWritePublishDecodes(t *testing.T) {
	// Payload sizes around the boundaries of the remaining-length encoding
	// (1, 2, 3 and 4 bytes).
	for _, size := range []int{0, 1, 100, 127 - 20, 128, 16383 - 20, 16384, 2097152} {
		for _, qos := range []byte{0, 1, 2} {
			topic := prefix + "/events/defect"
			payload := bytes.Repeat([]byte{'p'}, size)
			var buf bytes.Buffer
			w := bufio.NewWriter(&buf)
			if err := writePublish(w, topic, qos, 0xbeef, payload); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			p, err := packets.ReadPacket(&buf)
			if err != nil {
				t.Fatalf("size %d qos %d: %v", size, qos, err)
			}
			pub, ok := p.(*packets.PublishPacket)
			if !ok {
				t.Fatalf("size %d qos %d: decoded as %T", size, qos, p)
			}
			wantID := uint16(0xbeef)
			if qos == 0 {
				wantID = 0
			}
			if pub.TopicName != topic || pub.Qos != qos || pub.MessageID != wantID || pub.Dup || pub.Retain || !bytes.Equal(pub.Payload, payload) {
				t.Fatalf("size %d qos %d: decoded topic %q qos %d id %d dup %t retain %t payload %d bytes", size, qos, pub.TopicName, pub.Qos, pub.MessageID, pub.Dup, pub.Retain, len(pub.Payload))
			}
			if buf.Len() != 0 {
				t.Fatalf("size %d qos %d: %d bytes left after the packet", size, qos, buf.Len())
			}
		}
	}
}

func TestWritePublishRefusesOversize(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := writePublish(w, strings.Repeat("t", 65536), 1, 1, nil); !errors.Is(err, errTooLarge) {
		t.Fatalf("65536-byte topic: %v, want errTooLarge", err)
	}
	if w.Buffered() != 0 {
		t.Fatalf("%d bytes written for a refused record", w.Buffered())
	}
}

// discardConn is a net.Conn that swallows writes.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }
func (discardConn) Close() error                     { return nil }

func TestPublishPathAllocatesNothing(t *testing.T) {
	u := New(Config{Window: 64}, nil, nil)
	d := u.newDataConn(discardConn{})
	m := outbox.Message{Topic: prefix + "/events/defect", QoS: 1, Payload: bytes.Repeat([]byte("x"), 300)}
	now := time.Now()
	var n uint64
	allocs := testing.AllocsPerRun(10000, func() {
		n++
		m.Key[8] = byte(n)
		if err := d.publish(&m, now); err != nil {
			t.Fatal(err)
		}
		if _, err := d.flush(now); err != nil {
			t.Fatal(err)
		}
		// The PUBACK the broker would send.
		id := d.oldest
		if _, ok, err := d.settle(uint32(packets.Puback)<<16|uint32(id), now); !ok || err != nil {
			t.Fatalf("settle %d: %v %v", id, ok, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("encode, flush and acknowledgement of a record allocate %v times, want 0", allocs)
	}
}

func BenchmarkWritePublish(b *testing.B) {
	w := bufio.NewWriterSize(io.Discard, 64<<10)
	payload := bytes.Repeat([]byte("x"), 300)
	topic := prefix + "/events/defect"
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for i := 0; b.Loop(); i++ {
		if err := writePublish(w, topic, 1, uint16(i|1), payload); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPacketIDs(t *testing.T) {
	u := New(Config{Window: 3}, nil, nil)
	d := u.newDataConn(discardConn{})
	if len(d.slots) != 7 { // ids 1..6
		t.Fatalf("%d slots for window 3, want 7", len(d.slots))
	}
	now := time.Now()
	send := func() uint16 {
		t.Helper()
		id := d.next
		if !d.free() {
			t.Fatalf("id %d not free", id)
		}
		if err := d.publish(&outbox.Message{Key: outbox.Key{1, 0, 0, 0, 0, 0, 0, 0, byte(id)}, Topic: "t", QoS: 1}, now); err != nil {
			t.Fatal(err)
		}
		return id
	}
	ack := func(id uint16) error {
		_, _, err := d.settle(uint32(packets.Puback)<<16|uint32(id), now)
		return err
	}
	var ids []uint16
	for range 3 {
		ids = append(ids, send())
	}
	if fmt.Sprint(ids) != "[1 2 3]" || d.inFlight != 3 {
		t.Fatalf("ids %v, in flight %d", ids, d.inFlight)
	}
	// Out of order: 2 first; the oldest stays 1.
	if err := ack(2); err != nil {
		t.Fatal(err)
	}
	if d.oldest != 1 {
		t.Fatalf("oldest %d after PUBACK 2, want 1", d.oldest)
	}
	if err := ack(2); !errors.Is(err, errProtocol) {
		t.Fatalf("second PUBACK for 2: %v, want a protocol error", err)
	}
	for _, id := range []uint16{0, 5, 7, 65535} {
		if err := ack(id); !errors.Is(err, errProtocol) {
			t.Fatalf("PUBACK for %d, never sent: %v, want a protocol error", id, err)
		}
	}
	if _, _, err := d.settle(uint32(packets.Pubcomp)<<16|1, now); !errors.Is(err, errProtocol) {
		t.Fatalf("PUBCOMP for a QoS 1 publish: %v, want a protocol error", err)
	}
	if err := ack(1); err != nil {
		t.Fatal(err)
	}
	if d.oldest != 3 {
		t.Fatalf("oldest %d after PUBACK 1, want 3", d.oldest)
	}
	// The ring wraps from 6 to 1.
	for range 4 {
		ids = append(ids, send())
	}
	if fmt.Sprint(ids[3:]) != "[4 5 6 1]" {
		t.Fatalf("ids after the wrap %v, want [4 5 6 1]", ids[3:])
	}
	keys := d.abandon()
	if len(keys) != 5 || d.inFlight != 0 {
		t.Fatalf("abandoned %d keys, in flight %d; want 5, 0", len(keys), d.inFlight)
	}
}

func TestConnackErrors(t *testing.T) {
	for rc, want := range map[byte]error{
		packets.ErrRefusedBadUsernameOrPassword: packets.ErrorRefusedBadUsernameOrPassword,
		packets.ErrRefusedNotAuthorised:         packets.ErrorRefusedNotAuthorised,
		packets.ErrRefusedIDRejected:            packets.ErrorRefusedIDRejected,
		packets.ErrRefusedServerUnavailable:     packets.ErrorRefusedServerUnavailable,
	} {
		err := connackError(rc)
		if !errors.Is(err, ErrRefused) || !errors.Is(err, want) {
			t.Errorf("return code %d: %v, want ErrRefused and %v", rc, err, want)
		}
	}
	if err := connackError(0x42); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "66") {
		t.Errorf("unknown return code: %v", err)
	}
	if err := connackError(packets.Accepted); err != nil {
		t.Errorf("accepted: %v", err)
	}
	if err := connackError(packets.ErrRefusedBadUsernameOrPassword); !strings.Contains(err.Error(), "bad user name or password") {
		t.Errorf("return code 4 says %q", err)
	}
	if err := connackError(packets.ErrRefusedNotAuthorised); !strings.Contains(err.Error(), "not Authorized") {
		t.Errorf("return code 5 says %q", err)
	}
}

func TestDataConnBadCredentials(t *testing.T) {
	dir := t.TempDir()
	passwd := testutil.PasswordFile(t, dir, "dev1:s3cret-pw")
	b := testutil.NewBroker(t)
	b.Extra = append(testutil.FileAccess(), "allow_anonymous false", "password_file "+passwd)
	b.Start()
	for _, tc := range []struct {
		name, user, pass string
		ok               bool
	}{
		{"right", "dev1", "s3cret-pw", true},
		{"wrong password", "dev1", "wrong-pw", false},
		{"anonymous", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(b.URL())
			cfg.Username, cfg.Password = tc.user, tc.pass
			u := New(cfg, nil, testLogger(t))
			d, err := u.dialData(context.Background())
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				d.disconnect()
				return
			}
			if err == nil {
				d.disconnect()
				t.Fatal("connected, want refused")
			}
			if !errors.Is(err, ErrRefused) || !errors.Is(err, packets.ErrorRefusedNotAuthorised) || !strings.Contains(err.Error(), "not Authorized") {
				t.Fatalf("error %q does not name the refusal", err)
			}
			if tc.pass != "" && strings.Contains(err.Error(), tc.pass) {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

// A PUBLISH reaches the broker but its PUBACK does not reach the uplink
// before the connection breaks: the record must stay stored and go out
// again on the next connection.
func TestRecordLeavesOnlyAfterItsPuback(t *testing.T) {
	b := testutil.StartBroker(t)
	p := testutil.NewRelay(t, b.Addr(), true)
	sub := subscribe(t, b.URL(), prefix+"/events/#")
	ob := openOutbox(t)
	u := New(testConfig(p.URL()), ob, testLogger(t))
	runUplink(t, u)
	eventually(t, 20*time.Second, "connect", u.Connected)

	p.SetFrozen(true) // the broker's answers stop at the relay
	const n = 20
	appendEvents(t, ob, "defect", outbox.PriorityEvent, n)
	eventually(t, 20*time.Second, "the publishes reach the broker", func() bool { _, unique := sub.counts(); return unique == n })
	time.Sleep(200 * time.Millisecond)
	if st := u.Stats(); ob.Depth() != n || st.Acked != 0 || st.InFlight != n {
		t.Fatalf("without PUBACKs: depth %d, stats %+v; want every record stored and in flight", ob.Depth(), st)
	}

	p.Cut()
	p.SetFrozen(false)
	eventually(t, 30*time.Second, "re-published and deleted", func() bool { return ob.Depth() == 0 })
	eventually(t, 10*time.Second, "the second copies", func() bool { total, _ := sub.counts(); return total == 2*n })
	st := u.Stats()
	if st.Reconnects < 1 || st.Published != 2*n || st.Acked != n || st.InFlight != 0 {
		t.Fatalf("stats %+v; want a reconnect, %d publishes, %d acked", st, 2*n, n)
	}
}

func TestQoS2RecordDeliveredOnce(t *testing.T) {
	b := testutil.StartBroker(t)
	sub := subscribe(t, b.URL(), prefix+"/events/#")
	ob := openOutbox(t)
	u := New(testConfig(b.URL()), ob, testLogger(t))
	runUplink(t, u)
	for i := range 5 {
		if _, err := ob.Append(context.Background(), outbox.Record{Stream: "exact", Topic: prefix + "/events/exact", QoS: 2,
			Priority: outbox.PriorityEvent, JSON: true, Payload: fmt.Appendf(nil, `{"i":%d}`, i)}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, "QoS 2 records delivered and deleted", func() bool {
		_, unique := sub.counts()
		return unique == 5 && ob.Depth() == 0
	})
	time.Sleep(200 * time.Millisecond)
	if total, _ := sub.counts(); total != 5 {
		t.Fatalf("%d messages for 5 records", total)
	}
	if st := u.Stats(); st.Acked != 5 || st.InFlight != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDataKeepAlive(t *testing.T) {
	b := testutil.StartBroker(t)
	p := testutil.NewRelay(t, b.Addr(), true)
	cfg := testConfig(p.URL())
	// Below a second paho turns its own keep-alive off, so only the data
	// connection's can notice the silence.
	cfg.KeepAlive = 300 * time.Millisecond
	cfg.PublishTimeout = 500 * time.Millisecond
	u := New(cfg, openOutbox(t), testLogger(t))
	runUplink(t, u)
	eventually(t, 20*time.Second, "connect", u.Connected)

	// Several keep-alive periods with nothing to publish: PINGREQs go out
	// (or the broker would drop the connection after 1.5 s) and their
	// PINGRESPs are taken.
	time.Sleep(2 * time.Second)
	if st := u.Stats(); !st.Connected || st.Reconnects != 0 || st.LastError != "" {
		t.Fatalf("idle connection did not stay up: %+v", st)
	}

	p.SetFrozen(true) // the broker falls silent
	eventually(t, 10*time.Second, "the silence noticed", func() bool {
		return strings.Contains(u.Stats().LastError, "PINGRESP")
	})
	if u.Connected() {
		t.Fatal("connected after the keep-alive failed")
	}
	p.Cut()
	p.SetFrozen(false)
	eventually(t, 20*time.Second, "reconnect", func() bool { st := u.Stats(); return st.Reconnects >= 1 && st.Connected })
}

// fakeBroker accepts MQTT connections and answers just enough for the
// uplink: CONNACK, PUBACK (through ack, for the data connection), SUBACK,
// PINGRESP.
type fakeBroker struct {
	ln         net.Listener
	ack        func(id uint16) uint16 // the id the data connection's PUBACK carries
	refuseData byte                   // CONNACK return code for data connections
	dataConn   atomic.Int32           // data connections accepted
	published  atomic.Int32           // PUBLISHes on control connections
	// controlClosed counts control connections the client closed.
	controlClosed atomic.Int32
	mu            sync.Mutex
	conns         []net.Conn
}

func newFakeBroker(t *testing.T, ack func(uint16) uint16) *fakeBroker {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBroker{ln: ln, ack: ack}
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeBroker) url() string { return "tcp://" + f.ln.Addr().String() }

func (f *fakeBroker) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	p, err := packets.ReadPacket(r)
	if err != nil {
		return
	}
	data := strings.HasSuffix(p.(*packets.ConnectPacket).ClientIdentifier, DataClientSuffix)
	ca := packets.NewControlPacket(packets.Connack).(*packets.ConnackPacket)
	if data {
		f.dataConn.Add(1)
		ca.ReturnCode = f.refuseData
	}
	if ca.Write(c) != nil || ca.ReturnCode != 0 {
		return
	}
	for {
		p, err := packets.ReadPacket(r)
		if err != nil {
			if !data {
				f.controlClosed.Add(1)
			}
			return
		}
		var reply packets.ControlPacket
		switch p := p.(type) {
		case *packets.PublishPacket:
			if !data {
				f.published.Add(1)
			}
			if p.Qos == 1 {
				pa := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
				pa.MessageID = p.MessageID
				if data {
					pa.MessageID = f.ack(p.MessageID)
				}
				reply = pa
			}
		case *packets.SubscribePacket:
			sa := packets.NewControlPacket(packets.Suback).(*packets.SubackPacket)
			sa.MessageID, sa.ReturnCodes = p.MessageID, p.Qoss
			reply = sa
		case *packets.PingreqPacket:
			reply = packets.NewControlPacket(packets.Pingresp)
		case *packets.DisconnectPacket:
			return
		}
		if reply != nil && reply.Write(c) != nil {
			return
		}
	}
}

func TestUnknownPubackEndsTheConnection(t *testing.T) {
	f := newFakeBroker(t, func(id uint16) uint16 { return id + 30000 })
	ob := openOutbox(t)
	appendEvents(t, ob, "defect", outbox.PriorityEvent, 3)
	u := New(testConfig(f.url()), ob, testLogger(t))
	runUplink(t, u)
	eventually(t, 20*time.Second, "the protocol error", func() bool {
		return strings.Contains(u.Stats().LastError, "protocol error")
	})
	eventually(t, 20*time.Second, "a new data connection", func() bool { return f.dataConn.Load() >= 2 })
	if st := u.Stats(); ob.Depth() != 3 || st.Acked != 0 {
		t.Fatalf("depth %d, stats %+v: a record left without its own PUBACK", ob.Depth(), st)
	}
	if msg := u.Stats().LastError; !strings.Contains(msg, "not awaiting") {
		t.Fatalf("error %q does not say the id was not in flight", msg)
	}
}

func TestFakeBrokerAcks(t *testing.T) {
	// The same fake broker with correct PUBACKs: the records leave, so the
	// test above fails for the right reason.
	f := newFakeBroker(t, func(id uint16) uint16 { return id })
	ob := openOutbox(t)
	appendEvents(t, ob, "defect", outbox.PriorityEvent, 3)
	u := New(testConfig(f.url()), ob, testLogger(t))
	stop := runUplink(t, u)
	eventually(t, 20*time.Second, "records acknowledged", func() bool { return ob.Depth() == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := u.Stats(); st.Acked != 3 || st.Reconnects != 0 || f.dataConn.Load() != 1 {
		t.Fatalf("stats %+v, %d data connections", st, f.dataConn.Load())
	}
}

func TestDataConnRefusedTearsDownBoth(t *testing.T) {
	// The broker lets the control connection in and refuses the data
	// connection: connect must fail as a whole, without a birth, and close
	// the control connection.
	f := newFakeBroker(t, func(id uint16) uint16 { return id })
	f.refuseData = packets.ErrRefusedNotAuthorised
	u := New(testConfig(f.url()), openOutbox(t), testLogger(t))
	c, err := u.connect(context.Background())
	if err == nil {
		u.close(c)
		t.Fatal("connected with the data connection refused")
	}
	if !strings.Contains(err.Error(), "data connection") || !errors.Is(err, packets.ErrorRefusedNotAuthorised) {
		t.Fatalf("error %q does not name the data connection's refusal", err)
	}
	if u.Connected() {
		t.Fatal("connected after a failed connect")
	}
	eventually(t, 5*time.Second, "the control connection closed", func() bool { return f.controlClosed.Load() == 1 })
	if n := f.published.Load(); n != 0 {
		t.Fatalf("%d publishes on the control connection; the birth must wait for both connections", n)
	}
}
