package dashboard

import (
	"encoding/json"
	"fmt"
	"testing"
)

const base = "lineside/v1/s/l/d"

func TestStateStaysBounded(t *testing.T) {
	s := NewState()
	for i := range 3 * MaxPoints {
		if !s.Handle("lineside/v1", base+"/metrics", fmt.Appendf(nil, `{"cameras":{"c":{"fps":%d,"latency_ms":{"p50":1,"p99":2}}},"outbox":{"depth":3,"runway_hours":4}}`, i)) {
			t.Fatal("metrics not understood")
		}
	}
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3}
	for i := range 3 * MaxSnapshots {
		id := fmt.Sprintf("d:snapshot.c:%d", i)
		s.Handle("lineside/v1", base+"/snapshots/"+id, jpeg)
		s.Handle("lineside/v1", base+"/events/defect", fmt.Appendf(nil, `{"id":"d:defect.c:%d","label":"crack","score":0.9,"snapshot":%q}`, i, id))
	}
	var devs []Device
	if err := json.Unmarshal(s.JSON(nil), &devs); err != nil || len(devs) != 1 {
		t.Fatalf("%d devices (%v)", len(devs), err)
	}
	d := devs[0]
	if d.Key != "s/l/d" || !d.Online || len(d.Series["fps"]) != MaxPoints || d.Series["fps"][MaxPoints-1].V != 3*MaxPoints-1 {
		t.Fatalf("device %s online %v, %d fps points", d.Key, d.Online, len(d.Series["fps"]))
	}
	if len(d.Defects) != MaxDefects || d.Defects[0].ID != fmt.Sprintf("d:defect.c:%d", 3*MaxSnapshots-1) {
		t.Fatalf("%d defects, newest %s", len(d.Defects), d.Defects[0].ID)
	}
	if _, ok := s.Snapshot("s/l/d", "d:snapshot.c:0"); ok {
		t.Fatal("oldest snapshot still kept")
	}
	if b, ok := s.Snapshot("s/l/d", fmt.Sprintf("d:snapshot.c:%d", 3*MaxSnapshots-1)); !ok || len(b) != len(jpeg) {
		t.Fatal("newest snapshot not kept")
	}
}

func TestStateRefusesBadInput(t *testing.T) {
	s := NewState()
	for _, m := range []struct{ topic, payload string }{
		{"other/s/l/d/status", `{"state":"online"}`},
		{base + "/status", `not json`},
		{base + "/metrics", `{"cameras":[1,2]}`},
		{base + "/snapshots/../../etc/passwd", "\xff\xd8\xff\xe0"},
		{base + "/snapshots/ok-id", "GIF89a"},
		{base + "/events/health", `{"asset":"","p_fail":1}`},
		{base + "/models/state", `{"models":`},
		{"lineside/v1/s/l", `{}`},
	} {
		if s.Handle("lineside/v1", m.topic, []byte(m.payload)) {
			t.Errorf("%s %q accepted", m.topic, m.payload)
		}
	}
	if _, ok := s.Snapshot("s/l/d", "../../etc/passwd"); ok {
		t.Fatal("a path served as a snapshot")
	}
	// A defect naming a snapshot id outside the safe alphabet is kept
	// without it, so the page never builds a URL from it.
	s.Handle("lineside/v1", base+"/events/defect", []byte(`{"id":"x","snapshot":"<script>"}`))
	var devs []Device
	json.Unmarshal(s.JSON(nil), &devs)
	if len(devs) != 1 || devs[0].Defects[0].Snapshot != "" {
		t.Fatalf("defect kept a hostile snapshot id: %+v", devs)
	}
}
