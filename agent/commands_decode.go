package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of what a command message may be.
const (
	maxCommandName    = 32
	maxCommandID      = 64
	maxCommandPayload = 16 << 10
)

// command is one decoded message on {base}/cmd/{name}.
type command struct {
	// Name is the command's name, the last topic level; "" when the topic
	// is not a command topic at all or its name is unusable even in a reply
	// topic.
	Name string
	// ID is the optional "id" argument, echoed in the reply.
	ID string
	// Args is the JSON object of arguments without "id", or nil.
	Args json.RawMessage
}

// decodeCommand checks one message of the {base}/cmd/+ subscription. The
// payload is empty or a JSON object of at most maxCommandPayload bytes whose
// optional "id" is a short string. On an error the returned command still
// carries the name when a reply can be sent for it.
func decodeCommand(base, topic string, payload []byte) (command, error) {
	prefix := base + "/cmd/"
	name, ok := strings.CutPrefix(topic, prefix)
	if !ok || name == "" || strings.ContainsAny(name, "/+#") {
		return command{}, fmt.Errorf("topic %q is not %s{name}", topic, prefix)
	}
	if !validCommandName(name) {
		if len(name) <= 2*maxCommandName && utf8.ValidString(name) && !strings.ContainsRune(name, 0) {
			return command{Name: name}, fmt.Errorf("invalid command name %q: want 1-%d of a-z, 0-9, '-' and '_'", name, maxCommandName)
		}
		return command{}, errors.New("invalid command name")
	}
	cmd := command{Name: name}
	p := bytes.TrimSpace(payload)
	if len(p) == 0 {
		return cmd, nil
	}
	if len(payload) > maxCommandPayload {
		return cmd, fmt.Errorf("arguments of %d bytes exceed %d", len(payload), maxCommandPayload)
	}
	if p[0] != '{' || !utf8.Valid(p) {
		return cmd, errors.New("arguments are not a JSON object")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(p, &fields); err != nil {
		return cmd, fmt.Errorf("arguments are not a JSON object: %w", err)
	}
	if raw, ok := fields["id"]; ok {
		if err := json.Unmarshal(raw, &cmd.ID); err != nil || len(cmd.ID) > maxCommandID {
			cmd.ID = ""
			return cmd, fmt.Errorf("id is not a string of at most %d bytes", maxCommandID)
		}
		delete(fields, "id")
	}
	if len(fields) > 0 {
		b, err := json.Marshal(fields)
		if err != nil {
			return cmd, fmt.Errorf("arguments: %w", err)
		}
		cmd.Args = b
	}
	return cmd, nil
}

// validCommandName reports whether name is 1 to maxCommandName characters of
// a-z, 0-9, '-' and '_', starting with a letter.
func validCommandName(name string) bool {
	if name == "" || len(name) > maxCommandName || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodeArgs decodes a command's arguments into v, refusing unknown fields so
// that a misspelt argument is reported instead of silently ignored. nil args
// leave v as it is. example shows the expected shape in the error.
func decodeArgs(args json.RawMessage, v any, example string) error {
	if args == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("arguments: %w; want a JSON object like %s", err, example)
	}
	return nil
}

// truncate shortens s to at most n bytes for logs.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
