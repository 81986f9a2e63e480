package agent

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeCommand feeds arbitrary topics and payloads to the command
// decoder: it must never panic, and what it accepts must be well-formed.
func FuzzDecodeCommand(f *testing.F) {
	for _, s := range []struct{ topic, payload string }{
		{testBase + "/cmd/ping", ""},
		{testBase + "/cmd/trigger", `{"camera":"cam1","id":"x"}`},
		{testBase + "/cmd/reload", `  {}  `},
		{testBase + "/cmd/Reload", `{"id":1}`},
		{testBase + "/cmd/x", `{"a":[1,{"b":null}],"id":"` + strings.Repeat("y", 70) + `"}`},
		{testBase + "/cmd/", `[]`},
		{"other/cmd/ping", `{"camera":"\u0000"}`},
		{testBase + "/cmd/a/b", "\xff"},
	} {
		f.Add(s.topic, []byte(s.payload))
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		cmd, err := decodeCommand(testBase, topic, payload)
		if cmd.Name != "" {
			if strings.ContainsAny(cmd.Name, "/+#\x00") || !utf8.ValidString(cmd.Name) || len(cmd.Name) > 2*maxCommandName {
				t.Fatalf("name %q would make a bad reply topic", cmd.Name)
			}
		}
		if err != nil {
			return
		}
		if !validCommandName(cmd.Name) || len(cmd.ID) > maxCommandID {
			t.Fatalf("accepted %+v", cmd)
		}
		if cmd.Args != nil {
			var m map[string]json.RawMessage
			if json.Unmarshal(cmd.Args, &m) != nil {
				t.Fatalf("args %q are not an object", cmd.Args)
			}
			if _, ok := m["id"]; ok {
				t.Fatal("id left in the args")
			}
		}
	})
}
