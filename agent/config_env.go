package agent

import (
	"reflect"
	"regexp"
	"strings"

	"github.com/spf13/viper"
)

// EnvVar returns the environment variable that overrides the config key at
// path: LINESIDE_ + the path in capitals with '_' for '.' and '-', e.g.
// LINESIDE_MQTT_TLS_CA_FILE for mqtt.tls.ca_file and
// LINESIDE_MODELS_DEFECT_PATH for models.defect.path.
func EnvVar(path string) string {
	return envPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(path))
}

// envSafeKey matches map keys that can take part in a variable name.
var envSafeKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// applyEnv overlays the LINESIDE_* environment onto the tree and returns it.
//
// Every leaf key of Config is bound explicitly, because viper's AutomaticEnv
// only sees keys it already knows, and the whole point is to set keys the
// file leaves out. Entries of maps of sections (models.NAME.path) are bound
// for the names the file defines. List items (cameras) and metadata entries
// cannot be set from the environment. An empty variable counts as unset.
func applyEnv(tree *tnode) *tnode {
	if tree.kind != kindMap {
		tree = &tnode{kind: kindMap, fields: map[string]*tnode{}}
	}
	v := viper.New()
	bindEnv(v, tree, reflect.TypeFor[Config](), nil)
	return tree
}

func bindEnv(v *viper.Viper, root *tnode, t reflect.Type, path []string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := tagName(f)
		if name == "" {
			continue
		}
		p := append(path[:len(path):len(path)], name)
		ft := f.Type
		switch {
		case isLeafType(ft):
			key := strings.Join(p, ".")
			env := EnvVar(key)
			if err := v.BindEnv(key, env); err != nil {
				continue
			}
			if s, ok := v.Get(key).(string); ok && s != "" {
				setLeaf(root, p, &tnode{kind: kindScalar, tag: "!!str", text: s, env: env})
			}
		case ft.Kind() == reflect.Struct:
			bindEnv(v, root, ft, p)
		case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Struct:
			m := lookup(root, p)
			if m == nil || m.kind != kindMap {
				continue
			}
			for _, k := range m.keys {
				// Keys with capitals would collide in viper, which folds case.
				if envSafeKey.MatchString(k) && k == strings.ToLower(k) {
					bindEnv(v, root, ft.Elem(), append(p[:len(p):len(p)], k))
				}
			}
		}
	}
}

// isLeafType reports whether a config field holds one value (possibly a list
// of strings) rather than a section.
func isLeafType(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return false
	case reflect.Slice:
		return t.Elem().Kind() != reflect.Struct
	}
	return true
}

func lookup(root *tnode, path []string) *tnode {
	n := root
	for _, k := range path {
		if n == nil || n.kind != kindMap {
			return nil
		}
		n = n.fields[k]
	}
	return n
}

// setLeaf puts leaf at path, creating the sections on the way. When the file
// has something other than a mapping on the way, the leaf is dropped: the
// decoder reports that value.
func setLeaf(root *tnode, path []string, leaf *tnode) {
	n := root
	for i, k := range path {
		c := n.fields[k]
		if i == len(path)-1 {
			if c != nil {
				leaf.line = c.line
			} else {
				n.keys = append(n.keys, k)
			}
			n.fields[k] = leaf
			return
		}
		switch {
		case c == nil || c.kind == kindNull:
			nc := &tnode{kind: kindMap, fields: map[string]*tnode{}}
			if c == nil {
				n.keys = append(n.keys, k)
			} else {
				nc.line = c.line
			}
			n.fields[k] = nc
			c = nc
		case c.kind != kindMap:
			return
		}
		n = c
	}
}
