package main

import (
	"fmt"
	"net"
	"sync"
	"testing"
)

// proxy is a TCP relay in front of the broker that a test opens and closes:
// closed, it cuts every live connection (as a network failure would, no MQTT
// DISCONNECT) and drops new ones right after accept. The agent connects
// through it; the ledger connects to the broker directly, so an outage is
// seen by the agent only.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	open  bool
	conns map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string, open bool) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, open: open, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.setOpen(false) })
	go p.accept()
	return p
}

func (p *proxy) URL() string { return fmt.Sprintf("tcp://%s", p.ln.Addr()) }

// setOpen opens or closes the relay; closing cuts live connections.
func (p *proxy) setOpen(open bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open = open
	if !open {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		open := p.open
		p.mu.Unlock()
		if !open {
			c.Close()
			continue
		}
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[b] = struct{}{}, struct{}{}
		p.mu.Unlock()
		relay := func(dst, src net.Conn) {
			buf := make([]byte, 32<<10)
			for {
				n, err := src.Read(buf)
				if n > 0 {
					if _, werr := dst.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			dst.Close()
			src.Close()
		}
		go relay(b, c)
		go relay(c, b)
	}
}
