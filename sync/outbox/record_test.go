package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestSplice(t *testing.T) {
	const id = "lpc-07:defect:42"
	cases := []struct {
		name, in, want string
	}{
		{"empty object", `{}`, `{"id":"lpc-07:defect:42","seq":42}`},
		{"empty with space", `{ }`, `{"id":"lpc-07:defect:42","seq":42 }`},
		{"one member", `{"a":1}`, `{"id":"lpc-07:defect:42","seq":42,"a":1}`},
		{"leading whitespace", " \n{\"a\":[1,{}]}", " \n{\"id\":\"lpc-07:defect:42\",\"seq\":42,\"a\":[1,{}]}"},
		{"spaced member", `{ "label":"scratch" , "score":0.9}`, `{"id":"lpc-07:defect:42","seq":42, "label":"scratch" , "score":0.9}`},
		{"nested first", `{"scores":{"ok":0.1}}`, `{"id":"lpc-07:defect:42","seq":42,"scores":{"ok":0.1}}`},
		{"trailing newline", "{\"a\":null}\n", "{\"id\":\"lpc-07:defect:42\",\"seq\":42,\"a\":null}\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(splice(nil, []byte(c.in), id, 42))
			if got != c.want {
				t.Fatalf("splice(%q) = %q, want %q", c.in, got, c.want)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(got), &v); err != nil {
				t.Fatalf("spliced payload is not valid JSON: %v", err)
			}
			if v["id"] != id || v["seq"] != float64(42) {
				t.Fatalf("decoded id/seq = %v/%v", v["id"], v["seq"])
			}
		})
	}
}

func TestAppendSplicesAndExpandsTopic(t *testing.T) {
	o := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{Device: "lpc-07"})
	defer o.Close()
	ctx := context.Background()
	ev := Record{Stream: "defect", Topic: "b/events/defect", QoS: 1, JSON: true, Payload: []byte(`{"label":"scratch"}`)}
	snap := Record{Stream: "snap", Topic: "b/snapshots/{id}", QoS: 1, Priority: PrioritySnapshot, Payload: []byte{0xff, 0xd8, '{'}}
	for range 2 {
		if _, err := o.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := o.Append(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	msgs := all(t, o)
	if len(msgs) != 3 {
		t.Fatalf("%d records", len(msgs))
	}
	if want := `{"id":"lpc-07:defect:2","seq":2,"label":"scratch"}`; string(msgs[1].Payload) != want {
		t.Fatalf("payload %s, want %s", msgs[1].Payload, want)
	}
	if msgs[2].Topic != "b/snapshots/"+rc.ID || rc.ID != "lpc-07:snap:1" {
		t.Fatalf("snapshot topic %q, id %q", msgs[2].Topic, rc.ID)
	}
	if string(msgs[2].Payload) != string(snap.Payload) {
		t.Fatalf("binary payload changed: %x", msgs[2].Payload)
	}
}

func TestNotify(t *testing.T) {
	o := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{})
	defer o.Close()
	select {
	case <-o.Notify():
		t.Fatal("notified before any append")
	default:
	}
	if _, err := o.Append(context.Background(), rec("defect", PriorityEvent, "x")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-o.Notify():
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after append")
	}
}

func TestInvalidRecords(t *testing.T) {
	o := openT(t, filepath.Join(t.TempDir(), "ob.db"), Options{})
	defer o.Close()
	cases := map[string]Record{
		"no stream":      {Topic: "t", Payload: []byte("x")},
		"colon stream":   {Stream: "a:b", Topic: "t"},
		"no topic":       {Stream: "s"},
		"qos 3":          {Stream: "s", Topic: "t", QoS: 3},
		"priority":       {Stream: "s", Topic: "t", Priority: 9},
		"json array":     {Stream: "s", Topic: "t", JSON: true, Payload: []byte(`[1]`)},
		"json empty":     {Stream: "s", Topic: "t", JSON: true},
		"json not first": {Stream: "s", Topic: "t", JSON: true, Payload: []byte(`x{}`)},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := o.Append(context.Background(), r); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("err = %v, want ErrInvalidRecord", err)
			}
		})
	}
	if o.Depth() != 0 {
		t.Fatalf("depth %d after invalid appends", o.Depth())
	}
}
