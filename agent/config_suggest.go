package agent

import (
	"reflect"
	"strings"
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
		d := min(editDistance(w, c), editDistance(w, last))
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

// editDistance is the Levenshtein distance between a and b, counting a swap
// of two adjacent bytes as one edit (optimal string alignment), so that
// "fsp" is one edit from "fps".
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return max(len(a), len(b))
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
