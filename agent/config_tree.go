package agent

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The config is decoded in three steps: the YAML nodes become a tree of
// tnodes that keeps the case of keys, dotted keys (metadata's input.layout)
// and line numbers; the environment overlays its values onto that tree; the
// tree is decoded strictly into Config, collecting every problem.

type tkind uint8

const (
	kindNull tkind = iota
	kindScalar
	kindMap
	kindList
)

// tnode is one value of the config tree.
type tnode struct {
	kind tkind
	// line is the line of the key (for map values) or of the item (for list
	// items) in the file, 0 for values from the environment.
	line int
	// tag is the short YAML tag of a scalar ("!!str", "!!int", ...).
	tag string
	// text is the scalar's text as written.
	text string
	// env is the environment variable a value came from, or "".
	env    string
	keys   []string // map keys in file order
	fields map[string]*tnode
	items  []*tnode
}

// Limits that keep hostile or broken YAML (alias bombs, deep nesting) from
// exhausting memory or the stack.
const (
	maxTreeDepth = 64
	maxTreeNodes = 100000
)

type treeBuilder struct {
	nodes int
	errs  []FieldError
}

// buildTree converts a parsed YAML document into a tnode tree. Problems that
// affect one key (duplicate keys, keys that are not strings) are returned as
// FieldErrors; a document that cannot be a config gives an error.
func buildTree(doc *yaml.Node) (*tnode, []FieldError, error) {
	if doc == nil || (doc.Kind == yaml.DocumentNode && len(doc.Content) == 0) {
		return &tnode{kind: kindNull}, nil, nil
	}
	n := doc
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	b := &treeBuilder{}
	t, err := b.build(n, "", 0, n.Line)
	if err != nil {
		return nil, nil, err
	}
	if t.kind != kindMap && t.kind != kindNull {
		return nil, nil, fmt.Errorf("line %d: the top level is %s, want a mapping of sections (device:, mqtt:, ...)", n.Line, display(t))
	}
	return t, b.errs, nil
}

func (b *treeBuilder) build(n *yaml.Node, path string, depth, line int) (*tnode, error) {
	b.nodes++
	if b.nodes > maxTreeNodes {
		return nil, fmt.Errorf("more than %d values (aliases expanding too far?)", maxTreeNodes)
	}
	if depth > maxTreeDepth {
		return nil, fmt.Errorf("line %d: nested deeper than %d levels", n.Line, maxTreeDepth)
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: alias %q has no anchor", n.Line, n.Value)
		}
		return b.build(n.Alias, path, depth+1, line)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		tag := n.ShortTag()
		if tag == "!!null" {
			return &tnode{kind: kindNull, line: line}, nil
		}
		return &tnode{kind: kindScalar, line: line, tag: tag, text: n.Value}, nil
	case yaml.SequenceNode:
		t := &tnode{kind: kindList, line: line}
		for i, c := range n.Content {
			it, err := b.build(c, indexPath(path, i), depth+1, c.Line)
			if err != nil {
				return nil, err
			}
			t.items = append(t.items, it)
		}
		return t, nil
	case yaml.MappingNode:
		return b.buildMap(n, path, depth, line)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

func (b *treeBuilder) buildMap(n *yaml.Node, path string, depth, line int) (*tnode, error) {
	t := &tnode{kind: kindMap, line: line, fields: map[string]*tnode{}}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			b.errs = append(b.errs, FieldError{Path: orTop(path), Msg: "has a key that is not a plain string", Line: k.Line})
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		p := keyPath(path, k.Value)
		if prev, ok := t.fields[k.Value]; ok {
			b.errs = append(b.errs, FieldError{Path: p, Msg: fmt.Sprintf("duplicate key (first at line %d)", prev.line), Line: k.Line})
			continue
		}
		c, err := b.build(v, p, depth+1, k.Line)
		if err != nil {
			return nil, err
		}
		t.keys = append(t.keys, k.Value)
		t.fields[k.Value] = c
	}
	// Merge keys (<<: *base) add the keys the mapping does not set itself;
	// with a list of bases the earlier one wins.
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if r := resolveAlias(m); r.Kind == yaml.SequenceNode {
			srcs = r.Content
		}
		for _, s := range srcs {
			mt, err := b.build(s, path, depth+1, line)
			if err != nil {
				return nil, err
			}
			if mt.kind != kindMap {
				b.errs = append(b.errs, FieldError{Path: keyPath(path, "<<"), Value: display(mt), Msg: "is not a mapping to merge", Line: s.Line})
				continue
			}
			for _, k := range mt.keys {
				if _, ok := t.fields[k]; !ok {
					t.keys = append(t.keys, k)
					t.fields[k] = mt.fields[k]
				}
			}
		}
	}
	return t, nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxTreeDepth; i++ {
		n = n.Alias
	}
	return n
}

// display shows a value in an error message: strings quoted, numbers and
// booleans as written, mappings and lists by their kind.
func display(n *tnode) string {
	switch n.kind {
	case kindNull:
		return "null"
	case kindMap:
		return "a mapping"
	case kindList:
		return "a list"
	}
	s := n.text
	const maxLen = 64
	if utf8.RuneCountInString(s) > maxLen {
		s = string([]rune(s)[:maxLen-3]) + "..."
	}
	switch n.tag {
	case "!!int", "!!float", "!!bool":
		if n.env == "" {
			return s
		}
	}
	return strconv.Quote(s)
}

func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func orTop(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}
