package testutil

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// Relay is a TCP relay between a client and mosquitto that a test can
// close (new connections are dropped right after accept), freeze (bytes from
// the broker stop moving) and cut (live connections are closed without
// an MQTT DISCONNECT, as a network failure would).
type Relay struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	open   bool
	frozen bool
	conns  map[net.Conn]struct{}
}

// NewRelay listens on a free loopback port and relays connections to
// target while open; it stops when the test ends.
func NewRelay(t testing.TB, target string, open bool) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Relay{ln: ln, target: target, open: open, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.Cut() })
	go p.accept()
	return p
}

// URL is the tcp:// address clients connect to instead of the broker.
func (p *Relay) URL() string { return fmt.Sprintf("tcp://%s", p.ln.Addr()) }

// SetOpen opens or closes the relay to new connections; live ones stay.
func (p *Relay) SetOpen(open bool) {
	p.mu.Lock()
	p.open = open
	p.mu.Unlock()
}

// SetFrozen stops or resumes bytes from the broker to the client, so that
// publishes still arrive but their acknowledgements are held back.
func (p *Relay) SetFrozen(frozen bool) {
	p.mu.Lock()
	p.frozen = frozen
	p.mu.Unlock()
}

// Cut closes every relayed connection on both sides, without an MQTT
// DISCONNECT, as a network failure would.
func (p *Relay) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *Relay) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		open := p.open
		p.mu.Unlock()
		if !open {
			in.Close()
			continue
		}
		out, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go p.relay(out, in, false)
		go p.relay(in, out, true)
	}
}

// relay copies src to dst; freezing holds only the downstream direction
// (broker to client), so publishes still reach the broker while their
// PUBACKs are held back.
func (p *Relay) relay(dst, src net.Conn, downstream bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for downstream && p.isFrozen() {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Relay) isFrozen() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frozen
}
