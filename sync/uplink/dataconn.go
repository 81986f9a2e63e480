package uplink

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/lineside/lineside/sync/outbox"
)

// DataClientSuffix is appended to Config.ClientID to form the client id of
// the data connection, which carries the outbox records.
const DataClientSuffix = "-out"

// Errors of the data connection.
var (
	// ErrRefused wraps a CONNACK that refused the data connection; the
	// return code's error (packets.ErrorRefusedNotAuthorised, ...) is
	// wrapped too.
	ErrRefused = errors.New("connection refused by the broker")
	// errProtocol means the broker sent something the data connection
	// cannot account for, such as a PUBACK for a packet id not in flight.
	errProtocol = errors.New("protocol error")
	// errTooLarge marks a record that does not fit in an MQTT packet.
	errTooLarge = errors.New("record too large for an MQTT packet")
)

// maxRemaining is the largest MQTT remaining length (four length bytes).
const maxRemaining = 268435455

// Slot states: what a packet id in flight waits for.
const (
	slotFree = iota
	slotPuback
	slotPubrec
	slotPubcomp
)

// slot is one packet id of the data connection.
type slot struct {
	key      outbox.Key
	state    uint8
	deadline int64 // nanoseconds since dataConn.start
}

// dataConn is the data connection: a lean MQTT 3.1.1 publisher for outbox
// records, with clean session and no will. The drain loop owns everything
// but the fields under mu; the reader goroutine only reads the socket and
// hands what it parsed to the drain loop in batches.
//
// Packet ids cycle through 1..len(slots)-1 (twice the window, at most 65535),
// and the slot of an id holds the record it carries, so that an
// acknowledgement finds its record by indexing. PUBLISH frames are encoded
// straight into bw and written with one flush per batch.
type dataConn struct {
	sock      net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	timeout   time.Duration // write deadline and the wait for an answer
	keepAlive time.Duration
	start     time.Time

	// Owned by the drain loop.
	slots    []slot
	next     uint16 // the id to hand out next
	oldest   uint16 // no id before it (in ring order) is in flight
	inFlight int
	qos0     []outbox.Key // QoS 0 records encoded and not yet flushed
	writing  bool         // a write deadline is set for the pending batch
	lastSend int64        // since start: the last flush
	pingSent int64        // since start: the PINGREQ awaiting its PINGRESP, or -1

	closed atomic.Bool
	kick   chan struct{} // the reader has news

	mu     sync.Mutex
	events []uint32 // packet type << 16 | packet id, in arrival order
	err    error    // why the reader stopped
}

// brokerURL parses the broker address as paho does.
func brokerURL(broker string) (*url.URL, error) {
	if strings.HasPrefix(broker, ":") {
		broker = "127.0.0.1" + broker
	}
	if !strings.Contains(broker, "://") {
		broker = "tcp://" + broker
	}
	return url.Parse(broker)
}

// dialBroker opens a socket to the broker for either connection: TCP for
// tcp:// and mqtt://, TLS with a clone of tlsCfg for ssl://, tls://,
// mqtts:// and tcps://.
func dialBroker(ctx context.Context, uri *url.URL, tlsCfg *tls.Config, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	switch uri.Scheme {
	case "tcp", "mqtt":
		return d.DialContext(ctx, "tcp", uri.Host)
	case "ssl", "tls", "mqtts", "tcps":
		cfg := &tls.Config{}
		if tlsCfg != nil {
			cfg = tlsCfg.Clone()
		}
		return (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(ctx, "tcp", uri.Host)
	default:
		return nil, fmt.Errorf("unsupported broker scheme %q", uri.Scheme)
	}
}

// dialData opens the data connection: dial, CONNECT with clean session and
// ClientID+DataClientSuffix, CONNACK, all within ConnectTimeout; then it
// starts the reader.
func (u *Uplink) dialData(ctx context.Context) (*dataConn, error) {
	uri, err := brokerURL(u.cfg.Broker)
	if err != nil {
		return nil, fmt.Errorf("broker url: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, u.cfg.ConnectTimeout)
	defer cancel()
	sock, err := dialBroker(ctx, uri, u.cfg.TLS, u.cfg.ConnectTimeout)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = sock.Close() })
	d, err := u.handshake(sock)
	if !stop() { // the context ended and closed the socket
		return nil, fmt.Errorf("handshake: %w", ctx.Err())
	}
	if err != nil {
		_ = sock.Close()
		return nil, err
	}
	go d.read()
	return d, nil
}

// newDataConn sets up the state of a data connection on sock.
func (u *Uplink) newDataConn(sock net.Conn) *dataConn {
	window := min(u.cfg.Window, 65535)
	return &dataConn{
		sock:      sock,
		br:        bufio.NewReaderSize(sock, 16<<10),
		bw:        bufio.NewWriterSize(sock, 64<<10),
		timeout:   u.cfg.PublishTimeout,
		keepAlive: u.cfg.KeepAlive,
		start:     time.Now(),
		slots:     make([]slot, min(2*window, 65535)+1),
		next:      1,
		oldest:    1,
		pingSent:  -1,
		kick:      make(chan struct{}, 1),
	}
}

// handshake sends CONNECT and waits for an accepting CONNACK, within
// ConnectTimeout.
func (u *Uplink) handshake(sock net.Conn) (*dataConn, error) {
	d := u.newDataConn(sock)
	_ = sock.SetDeadline(time.Now().Add(u.cfg.ConnectTimeout))
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion = "MQTT", 4
	cp.CleanSession = true
	cp.ClientIdentifier = u.cfg.ClientID + DataClientSuffix
	cp.Keepalive = uint16(min(65535, (u.cfg.KeepAlive+time.Second-1)/time.Second))
	if u.cfg.Username != "" {
		cp.UsernameFlag, cp.Username = true, u.cfg.Username
	}
	if u.cfg.Password != "" {
		cp.PasswordFlag, cp.Password = true, []byte(u.cfg.Password)
	}
	if err := cp.Write(d.bw); err != nil {
		return nil, fmt.Errorf("send CONNECT: %w", err)
	}
	if err := d.bw.Flush(); err != nil {
		return nil, fmt.Errorf("send CONNECT: %w", err)
	}
	p, err := packets.ReadPacket(d.br)
	if err != nil {
		return nil, fmt.Errorf("read CONNACK: %w", err)
	}
	ack, ok := p.(*packets.ConnackPacket)
	if !ok {
		return nil, fmt.Errorf("%w: %s instead of CONNACK", errProtocol, packetName(p))
	}
	if err := connackError(ack.ReturnCode); err != nil {
		return nil, err
	}
	_ = sock.SetDeadline(time.Time{})
	return d, nil
}

// connackError names a CONNACK return code; nil for accepted.
func connackError(rc byte) error {
	switch rc {
	case packets.Accepted:
		return nil
	case packets.ErrRefusedBadUsernameOrPassword:
		return fmt.Errorf("%w: bad user name or password: %w", ErrRefused, packets.ErrorRefusedBadUsernameOrPassword)
	case packets.ErrRefusedNotAuthorised:
		return fmt.Errorf("%w: not Authorized (wrong credentials or not allowed to connect): %w", ErrRefused, packets.ErrorRefusedNotAuthorised)
	}
	if err, ok := packets.ConnErrors[rc]; ok {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return fmt.Errorf("%w: return code %d", ErrRefused, rc)
}

func packetName(p packets.ControlPacket) string {
	if p == nil {
		return "nothing"
	}
	name, _, _ := strings.Cut(p.String(), ":")
	return name
}

// alive reports whether the connection has not been closed or lost.
func (d *dataConn) alive() bool { return !d.closed.Load() }

// close cuts the socket; the reader then ends.
func (d *dataConn) close() {
	d.closed.Store(true)
	_ = d.sock.Close()
}

// disconnect sends DISCONNECT (best effort, bounded by the write timeout)
// and closes the socket.
func (d *dataConn) disconnect() {
	_ = d.sock.SetWriteDeadline(time.Now().Add(d.timeout))
	if err := packets.NewControlPacket(packets.Disconnect).Write(d.bw); err == nil {
		_ = d.bw.Flush()
	}
	d.close()
}

// read runs in its own goroutine until the socket fails. It parses
// acknowledgements and PINGRESPs and hands them over whenever no further
// complete packet is buffered, so a burst of PUBACKs costs one hand-over.
func (d *dataConn) read() {
	var batch []uint32
	for {
		ev, err := d.readPacket()
		if err != nil {
			d.mu.Lock()
			d.events = append(d.events, batch...)
			d.err = err
			d.mu.Unlock()
			d.closed.Store(true)
			poke(d.kick)
			return
		}
		batch = append(batch, ev)
		if !d.packetBuffered() || len(batch) >= 4096 {
			d.mu.Lock()
			d.events = append(d.events, batch...)
			d.mu.Unlock()
			batch = batch[:0]
			poke(d.kick)
		}
	}
}

// packetBuffered reports whether a whole packet is buffered, so that the
// next readPacket will not block.
func (d *dataConn) packetBuffered() bool {
	n := d.br.Buffered()
	if n < 2 {
		return false
	}
	b, _ := d.br.Peek(2)
	return b[1]&0x80 == 0 && n >= 2+int(b[1])
}

// readPacket reads one packet: PUBACK, PUBREC and PUBCOMP in their only
// valid form directly from the buffer, anything else through paho's codec.
func (d *dataConn) readPacket() (uint32, error) {
	b, err := d.br.Peek(2)
	if err != nil {
		return 0, err
	}
	if b[1] == 2 && (b[0] == 0x40 || b[0] == 0x50 || b[0] == 0x70) {
		if b, err = d.br.Peek(4); err != nil {
			return 0, err
		}
		ev := uint32(b[0]>>4)<<16 | uint32(b[2])<<8 | uint32(b[3])
		_, _ = d.br.Discard(4)
		return ev, nil
	}
	p, err := packets.ReadPacket(d.br)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		return 0, err
	}
	switch p := p.(type) {
	case *packets.PingrespPacket:
		return packets.Pingresp << 16, nil
	case *packets.PubackPacket:
		return packets.Puback<<16 | uint32(p.MessageID), nil
	case *packets.PubrecPacket:
		return packets.Pubrec<<16 | uint32(p.MessageID), nil
	case *packets.PubcompPacket:
		return packets.Pubcomp<<16 | uint32(p.MessageID), nil
	}
	return 0, fmt.Errorf("%w: unexpected %s", errProtocol, packetName(p))
}

// take returns the events the reader handed over and the reader's error,
// if it stopped; spare is reused for the next hand-over.
func (d *dataConn) take(spare []uint32) ([]uint32, error) {
	d.mu.Lock()
	ev, err := d.events, d.err
	d.events = spare[:0]
	d.mu.Unlock()
	return ev, err
}

// since converts t to the connection's clock.
func (d *dataConn) since(t time.Time) int64 { return int64(t.Sub(d.start)) }

// free reports whether a packet id is available for a QoS 1 or 2 publish.
func (d *dataConn) free() bool { return d.slots[d.next].state == slotFree }

// publish encodes m into the write buffer; a QoS 1 or 2 record takes the
// next packet id, which must be free. The frame reaches the socket with the
// next flush (or earlier, when the buffer fills).
func (d *dataConn) publish(m *outbox.Message, now time.Time) error {
	if !d.writing {
		_ = d.sock.SetWriteDeadline(now.Add(d.timeout))
		d.writing = true
	}
	qos := min(m.QoS, 2)
	var id uint16
	if qos > 0 {
		id = d.next
	}
	if err := writePublish(d.bw, m.Topic, qos, id, m.Payload); err != nil {
		return err
	}
	if qos == 0 {
		d.qos0 = append(d.qos0, m.Key)
		return nil
	}
	s := &d.slots[id]
	s.key, s.deadline = m.Key, d.since(now)+int64(d.timeout)
	s.state = slotPuback
	if qos == 2 {
		s.state = slotPubrec
	}
	d.inFlight++
	if d.next++; int(d.next) == len(d.slots) {
		d.next = 1
	}
	return nil
}

// writePublish encodes one PUBLISH frame (no DUP, no RETAIN) into w
// without allocating.
func writePublish(w *bufio.Writer, topic string, qos byte, id uint16, payload []byte) error {
	rl := 2 + len(topic) + len(payload)
	if qos > 0 {
		rl += 2
	}
	if len(topic) > 65535 || rl > maxRemaining {
		return errTooLarge
	}
	// Byte by byte: a header array handed to Write would escape to the
	// heap.
	_ = w.WriteByte(0x30 | qos<<1)
	for {
		b := byte(rl & 0x7f)
		if rl >>= 7; rl > 0 {
			b |= 0x80
		}
		_ = w.WriteByte(b)
		if rl == 0 {
			break
		}
	}
	_ = w.WriteByte(byte(len(topic) >> 8))
	_ = w.WriteByte(byte(len(topic)))
	_, _ = w.WriteString(topic)
	if qos > 0 {
		_ = w.WriteByte(byte(id >> 8))
		_ = w.WriteByte(byte(id))
	}
	_, err := w.Write(payload)
	return err
}

// writeShort encodes a two-byte-body packet (PUBREL) or a bodiless one
// (PINGREQ) into the write buffer.
func (d *dataConn) writeShort(now time.Time, b ...byte) {
	if !d.writing {
		_ = d.sock.SetWriteDeadline(now.Add(d.timeout))
		d.writing = true
	}
	for _, c := range b {
		_ = d.bw.WriteByte(c)
	}
}

// flush writes the buffered frames with one write, bounded by the write
// deadline set when the batch began. It returns the QoS 0 keys that are now
// done.
func (d *dataConn) flush(now time.Time) ([]outbox.Key, error) {
	if d.bw.Buffered() == 0 && !d.writing {
		return nil, nil
	}
	err := d.bw.Flush()
	d.writing = false
	if err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	d.lastSend = d.since(now)
	done := d.qos0
	d.qos0 = d.qos0[:0]
	return done, nil
}

// settle applies one event from the reader. A completed publish returns its
// key; a PUBREC is answered with PUBREL; anything that does not match a
// packet id in flight is a protocol error.
func (d *dataConn) settle(ev uint32, now time.Time) (outbox.Key, bool, error) {
	kind, id := byte(ev>>16), uint16(ev)
	if kind == packets.Pingresp {
		d.pingSent = -1
		return outbox.Key{}, false, nil
	}
	want := uint8(slotPuback)
	switch kind {
	case packets.Pubrec:
		want = slotPubrec
	case packets.Pubcomp:
		want = slotPubcomp
	}
	if id == 0 || int(id) >= len(d.slots) || d.slots[id].state != want {
		return outbox.Key{}, false, fmt.Errorf("%w: %s for packet id %d, which is not awaiting one", errProtocol, packets.PacketNames[kind], id)
	}
	s := &d.slots[id]
	if kind == packets.Pubrec {
		s.state = slotPubcomp
		d.writeShort(now, 0x62, 0x02, byte(id>>8), byte(id))
		return outbox.Key{}, false, nil
	}
	s.state = slotFree
	d.inFlight--
	d.advance()
	return s.key, true, nil
}

// advance moves oldest past ids no longer in flight.
func (d *dataConn) advance() {
	for d.inFlight > 0 && d.slots[d.oldest].state == slotFree {
		if d.oldest++; int(d.oldest) == len(d.slots) {
			d.oldest = 1
		}
	}
	if d.inFlight == 0 {
		d.oldest = d.next
	}
}

// overdue reports whether the oldest publish in flight, or a PINGREQ, has
// waited longer than the timeout.
func (d *dataConn) overdue(now time.Time) error {
	t := d.since(now)
	if d.inFlight > 0 && t >= d.slots[d.oldest].deadline {
		return fmt.Errorf("no acknowledgement for record %s within %v: %w", d.slots[d.oldest].key, d.timeout, ErrTimeout)
	}
	if d.pingSent >= 0 && t >= d.pingSent+int64(d.timeout) {
		return fmt.Errorf("no PINGRESP within %v: %w", d.timeout, ErrTimeout)
	}
	return nil
}

// keepalive queues a PINGREQ when nothing was sent for the keep-alive
// interval and no PINGREQ is outstanding.
func (d *dataConn) keepalive(now time.Time) {
	if t := d.since(now); d.pingSent < 0 && t >= d.lastSend+int64(d.keepAlive) {
		d.writeShort(now, 0xc0, 0x00)
		d.pingSent = t
	}
}

// wakeAt is when the drain loop must look at the connection again without
// other news: the oldest deadline, the PINGRESP deadline or the next ping.
func (d *dataConn) wakeAt() time.Time {
	w := d.lastSend + int64(d.keepAlive)
	if d.pingSent >= 0 {
		w = d.pingSent + int64(d.timeout)
	}
	if d.inFlight > 0 {
		w = min(w, d.slots[d.oldest].deadline)
	}
	return d.start.Add(time.Duration(w))
}

// abandon returns the keys of every record encoded on this connection and
// not completed, and forgets them.
func (d *dataConn) abandon() []outbox.Key {
	keys := append([]outbox.Key(nil), d.qos0...)
	d.qos0 = d.qos0[:0]
	for i := range d.slots {
		if d.slots[i].state != slotFree {
			keys = append(keys, d.slots[i].key)
			d.slots[i].state = slotFree
		}
	}
	d.inFlight = 0
	return keys
}
