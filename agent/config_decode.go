package agent

import (
	"math"
	"reflect"
	"strconv"
	"strings"
)

// origin is where the value at a key path came from.
type origin struct {
	line int
	env  string
}

// decoder decodes a tnode tree into a Go value strictly: unknown keys and
// values of the wrong type are errors. Keys not in the tree keep the value
// already in the target, which is how defaults survive.
type decoder struct {
	errs    []FieldError
	origins map[string]origin
	failed  map[string]bool
}

func newDecoder() *decoder {
	return &decoder{origins: map[string]origin{}, failed: map[string]bool{}}
}

// defaulter is implemented by list and map elements that have defaults of
// their own, applied before the element is decoded.
type defaulter interface{ setDefaults() }

var (
	durationType = reflect.TypeFor[Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
)

func valueOf(cfg *Config) reflect.Value { return reflect.ValueOf(cfg).Elem() }

func (d *decoder) fail(path string, n *tnode, value, msg string) {
	d.failed[path] = true
	d.errs = append(d.errs, FieldError{Path: orTop(path), Value: value, Msg: msg, Line: n.line, Env: n.env})
}

// failedAt reports whether decoding failed at path or at a key containing it,
// so that Validate does not report the same value a second time.
func (d *decoder) failedAt(path string) bool {
	for ; path != ""; path = parentPath(path) {
		if d.failed[path] {
			return true
		}
	}
	return false
}

func (d *decoder) decode(n *tnode, rv reflect.Value, path string) {
	if path != "" {
		d.origins[path] = origin{line: n.line, env: n.env}
	}
	if n.kind == kindNull {
		return
	}
	switch rv.Type() {
	case durationType:
		d.decodeText(n, rv, path, func(s string) (int64, error) {
			v, err := parseDuration(s)
			return int64(v), err
		})
		return
	case byteSizeType:
		d.decodeText(n, rv, path, func(s string) (int64, error) {
			v, err := parseByteSize(s)
			return int64(v), err
		})
		return
	}
	switch rv.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, rv, path)
	case reflect.Map:
		d.decodeMap(n, rv, path)
	case reflect.Slice:
		d.decodeSlice(n, rv, path)
	case reflect.String:
		if n.kind != kindScalar {
			d.fail(path, n, display(n), "is not a string")
			return
		}
		rv.SetString(n.text)
	case reflect.Int:
		v, ok := parseInt(n)
		if !ok || rv.OverflowInt(v) {
			d.fail(path, n, display(n), "is not an integer")
			return
		}
		rv.SetInt(v)
	case reflect.Bool:
		v, err := strconv.ParseBool(strings.TrimSpace(n.text))
		if n.kind != kindScalar || err != nil {
			d.fail(path, n, display(n), "is not true or false")
			return
		}
		rv.SetBool(v)
	case reflect.Float64:
		v, ok := parseFloat(n)
		if !ok {
			d.fail(path, n, display(n), "is not a number")
			return
		}
		rv.SetFloat(v)
	default:
		panic("agent: config field of unsupported type " + rv.Type().String())
	}
}

// decodeText decodes a scalar through parse, whose error completes a message
// that starts with the value.
func (d *decoder) decodeText(n *tnode, rv reflect.Value, path string, parse func(string) (int64, error)) {
	if n.kind != kindScalar {
		d.fail(path, n, display(n), "is not a single value")
		return
	}
	v, err := parse(n.text)
	if err != nil {
		d.fail(path, n, display(n), err.Error())
		return
	}
	rv.SetInt(v)
}

func (d *decoder) decodeStruct(n *tnode, rv reflect.Value, path string) {
	t := rv.Type()
	if n.kind != kindMap {
		d.fail(path, n, display(n), "is not a mapping (want keys "+strings.Join(fieldNames(t), ", ")+")")
		return
	}
	index := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		if name := tagName(t.Field(i)); name != "" {
			index[name] = i
		}
	}
	for _, k := range n.keys {
		c := n.fields[k]
		p := keyPath(path, k)
		i, ok := index[k]
		if !ok {
			d.fail(p, c, "", unknownKeyMsg(path, k, t))
			continue
		}
		d.decode(c, rv.Field(i), p)
	}
}

func (d *decoder) decodeMap(n *tnode, rv reflect.Value, path string) {
	if n.kind != kindMap {
		d.fail(path, n, display(n), "is not a mapping")
		return
	}
	if rv.IsNil() {
		rv.Set(reflect.MakeMap(rv.Type()))
	}
	et := rv.Type().Elem()
	for _, k := range n.keys {
		c := n.fields[k]
		p := keyPath(path, k)
		elem := reflect.New(et).Elem()
		if et.Kind() == reflect.String {
			d.origins[p] = origin{line: c.line, env: c.env}
			s, ok := joinScalars(c)
			if !ok {
				d.fail(p, c, display(c), "is not a string or a list of strings")
				continue
			}
			elem.SetString(s)
		} else {
			if df, ok := elem.Addr().Interface().(defaulter); ok {
				df.setDefaults()
			}
			d.decode(c, elem, p)
		}
		rv.SetMapIndex(reflect.ValueOf(k), elem)
	}
}

func (d *decoder) decodeSlice(n *tnode, rv reflect.Value, path string) {
	et := rv.Type().Elem()
	if et.Kind() == reflect.String {
		d.decodeStrings(n, rv, path)
		return
	}
	if n.kind != kindList {
		d.fail(path, n, display(n), "is not a list")
		return
	}
	s := reflect.MakeSlice(rv.Type(), len(n.items), len(n.items))
	for i, it := range n.items {
		elem := s.Index(i)
		if df, ok := elem.Addr().Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.decode(it, elem, indexPath(path, i))
	}
	rv.Set(s)
}

// decodeStrings accepts a YAML list of strings or one comma-separated string,
// the form the environment provides.
func (d *decoder) decodeStrings(n *tnode, rv reflect.Value, path string) {
	var out []string
	switch n.kind {
	case kindScalar:
		for _, f := range strings.Split(n.text, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	case kindList:
		for i, it := range n.items {
			p := indexPath(path, i)
			d.origins[p] = origin{line: it.line, env: it.env}
			if it.kind != kindScalar {
				d.fail(p, it, display(it), "is not a string")
				continue
			}
			out = append(out, it.text)
		}
	default:
		d.fail(path, n, display(n), "is not a list of strings")
		return
	}
	if out == nil {
		out = []string{}
	}
	rv.Set(reflect.ValueOf(out))
}

// joinScalars returns a scalar's text, or a list of scalars joined with
// commas.
func joinScalars(n *tnode) (string, bool) {
	switch n.kind {
	case kindNull:
		return "", true
	case kindScalar:
		return n.text, true
	case kindList:
		parts := make([]string, len(n.items))
		for i, it := range n.items {
			if it.kind != kindScalar {
				return "", false
			}
			parts[i] = it.text
		}
		return strings.Join(parts, ","), true
	}
	return "", false
}

func parseInt(n *tnode) (int64, bool) {
	if n.kind != kindScalar {
		return 0, false
	}
	s := strings.TrimSpace(n.text)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, true
	}
	if n.tag == "!!int" {
		// YAML's 0x.., 0o.. forms.
		v, err := strconv.ParseInt(s, 0, 64)
		return v, err == nil
	}
	if n.tag == "!!float" {
		f, ok := parseFloat(n)
		if ok && f == math.Trunc(f) && math.Abs(f) < 1<<62 {
			return int64(f), true
		}
	}
	return 0, false
}

func parseFloat(n *tnode) (float64, bool) {
	if n.kind != kindScalar {
		return 0, false
	}
	s := strings.TrimSpace(n.text)
	if n.tag == "!!float" {
		// YAML writes infinities and NaN as .inf, -.inf and .nan.
		switch strings.ToLower(s) {
		case ".inf", "+.inf":
			return math.Inf(1), true
		case "-.inf":
			return math.Inf(-1), true
		case ".nan":
			return math.NaN(), true
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && n.tag == "!!int" {
		i, ok := parseInt(n)
		return float64(i), ok
	}
	return v, err == nil
}

// tagName is the config key of a struct field, "" for fields that are not
// config keys.
func tagName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	if name == "-" {
		return ""
	}
	return name
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if name := tagName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}
