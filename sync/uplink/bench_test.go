package uplink

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lineside/lineside/internal/testutil"
	"github.com/lineside/lineside/sync/outbox"
)

// benchBacklog is the number of records drained by the drain benchmark.
const benchBacklog = 100000

// benchWindow is the in-flight window of the drain benchmark: the
// default, as an agent runs it.
var benchWindow = DefaultWindow

// fillBacklog appends n defect-event-sized records (about 300 bytes) and
// writes the exact payloads the uplink will publish, one per line, to
// lines for mosquitto_pub -l.
func fillBacklog(tb testing.TB, ob *outbox.Outbox, n int, lines string) {
	tb.Helper()
	pad := bytes.Repeat([]byte("x"), 200)
	done := make(chan error, 256)
	for i := range n {
		if i >= cap(done) {
			if err := <-done; err != nil {
				tb.Fatal(err)
			}
		}
		r := outbox.Record{Stream: "defect.cam1", Topic: prefix + "/events/defect", QoS: 1, Priority: outbox.PriorityEvent, JSON: true,
			Payload: fmt.Appendf(nil, `{"ts":"2026-01-01T00:00:00Z","label":"scratch","score":0.93,"pad":"%s","n":%d}`, pad, i)}
		if err := ob.AppendAsync(context.Background(), r, func(_ outbox.Receipt, err error) { done <- err }); err != nil {
			tb.Fatal(err)
		}
	}
	for range min(n, cap(done)) {
		if err := <-done; err != nil {
			tb.Fatal(err)
		}
	}
	f, err := os.Create(lines)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	var after outbox.Key
	var buf []outbox.Message
	for {
		buf, after, err = ob.Next(after, 4096, buf, nil)
		if err != nil {
			tb.Fatal(err)
		}
		if len(buf) == 0 {
			break
		}
		for _, m := range buf {
			w.Write(m.Payload)
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
}

// drainBacklog measures the uplink draining benchBacklog records to a local
// mosquitto at QoS 1 (each record deleted after its PUBACK) and, in the same
// run, mosquitto_pub -l -q 1 sending the same payloads, every one of them
// acknowledged. It returns both rates in messages per second.
func drainBacklog(tb testing.TB) (uplinkRate, pubRate float64) {
	broker := testutil.StartBroker(tb)
	dir := tb.TempDir()
	ob, err := outbox.Open(filepath.Join(dir, "ob.db"), outbox.Options{Device: "lpc-07"}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer ob.Close()
	lines := filepath.Join(dir, "lines.txt")
	fillBacklog(tb, ob, benchBacklog, lines)

	cfg := testConfig(broker.URL())
	cfg.Window = benchWindow
	u := New(cfg, ob, nil)
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	for ob.Depth() > 0 {
		time.Sleep(time.Millisecond)
		if time.Since(start) > 10*time.Minute {
			tb.Fatalf("drain stuck at depth %d", ob.Depth())
		}
	}
	uplinkRate = benchBacklog / time.Since(start).Seconds()
	cancel()
	<-done

	start = time.Now()
	acked := publishLines(tb, broker.Port, lines)
	pubRate = benchBacklog / time.Since(start).Seconds()
	if acked != benchBacklog {
		tb.Fatalf("mosquitto_pub: %d of %d messages acknowledged", acked, benchBacklog)
	}
	return uplinkRate, pubRate
}

// pubMaxLines is how many lines one mosquitto_pub -l takes. Its message ids
// are 16 bits wide and, in line mode, it disconnects once the id of the
// last line read is acknowledged: with more than 65,535 lines queued that id
// comes round early and the rest are never sent (mosquitto_pub 2.0.11 sent
// 34,465 of 100,000 lines and exited 0). So the lines go in parts, and the
// PUBACKs are counted from its -d output.
const pubMaxLines = 50000

// publishLines sends every line of the file at QoS 1 with mosquitto_pub -l
// and the uplink's in-flight window (-M), one process per pubMaxLines lines
// in turn, and returns how many PUBACKs the processes received.
func publishLines(tb testing.TB, port int, lines string) int {
	tb.Helper()
	data, err := os.ReadFile(lines)
	if err != nil {
		tb.Fatal(err)
	}
	acked := 0
	for len(data) > 0 {
		part := data
		if i := nthLineEnd(data, pubMaxLines); i >= 0 {
			part = data[:i+1]
		}
		data = data[len(part):]
		cmd := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-q", "1", "-l", "-d", "-M", strconv.Itoa(benchWindow),
			"-t", prefix+"/events/defect", "-i", "bench-pub")
		cmd.Stdin = bytes.NewReader(part)
		out, err := cmd.CombinedOutput()
		if err != nil {
			tb.Fatalf("mosquitto_pub: %v: %s", err, tail(out, 2000))
		}
		acked += bytes.Count(out, []byte(" received PUBACK "))
	}
	return acked
}

// nthLineEnd returns the index of the n-th newline in b, or -1.
func nthLineEnd(b []byte, n int) int {
	off := 0
	for range n {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	return off - 1
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) []byte { return b[max(0, len(b)-n):] }
