package agent

import (
	"reflect"
	"strings"

	"github.com/lineside/lineside/internal/textdist"
)

// notYetSupported are top-level sections of the full design that this version
// does not read; naming them gives a clearer message than "unknown key".
var notYetSupported = map[string]bool{}

// unknownKeyMsg explains an unknown key in the struct type t at path,
// suggesting the closest known key, including nested ones ("tls.ca_file"
// for a ca_file put directly under mqtt).
func unknownKeyMsg(path, key string, t reflect.Type) string {
	if path == "" && notYetSupported[key] {
		return "unknown key; " + key + " are not supported by this version of lineside"
	}
	names := fieldNames(t)
	if s := suggest(key, append(names, nestedKeys(t, "")...)); s != "" {
		return "unknown key; did you mean " + s + "?"
	}
	return "unknown key (want one of " + strings.Join(names, ", ") + ")"
}

// nestedKeys lists the dotted paths of the keys inside t's struct fields.
func nestedKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := tagName(f)
		if name == "" || f.Type.Kind() != reflect.Struct || f.Type == durationType {
			continue
		}
		p := keyPath(prefix, name)
		for _, sub := range fieldNames(f.Type) {
			keys = append(keys, p+"."+sub)
		}
		keys = append(keys, nestedKeys(f.Type, p)...)
	}
	return keys
}

// suggest returns the candidate closest to word, or "" when none is close
// enough to be a likely typo. A dotted candidate also matches on its last
// part.
func suggest(word string, candidates []string) string {
	w := strings.ToLower(word)
	best, bestDist := "", -1
	for _, c := range candidates {
		last := c[strings.LastIndexByte(c, '.')+1:]
		d := min(textdist.Edits(w, c), textdist.Edits(w, last))
		if d <= maxTypoDistance(len(w)) && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// maxTypoDistance is how many edits a word of n bytes may be away from a
// known key to still count as a typo of it.
func maxTypoDistance(n int) int {
	switch {
	case n <= 4:
		return 1
	case n <= 8:
		return 2
	}
	return 3
}
