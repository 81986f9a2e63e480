package uplink

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// proxy is a TCP relay between the uplink and mosquitto that a test can
// close (new connections are dropped right after accept), freeze (bytes from
// the broker stop moving) and cut (live connections are closed without
// an MQTT DISCONNECT, as a network failure would).
type proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	open   bool
	frozen bool
	conns  map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string, open bool) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, open: open, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.accept()
	return p
}

func (p *proxy) URL() string { return fmt.Sprintf("tcp://%s", p.ln.Addr()) }

func (p *proxy) setOpen(open bool) {
	p.mu.Lock()
	p.open = open
	p.mu.Unlock()
}

func (p *proxy) setFrozen(frozen bool) {
	p.mu.Lock()
	p.frozen = frozen
	p.mu.Unlock()
}

// cut closes every relayed connection on both sides.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) accept() {
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
func (p *proxy) relay(dst, src net.Conn, downstream bool) {
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

func (p *proxy) isFrozen() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frozen
}
