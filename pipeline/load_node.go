package pipeline

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/saas-export/export/sources"
)

// decoder walks one parsed config document by hand rather than through
// yaml.Unmarshal, so that every value keeps its position and every
// problem is collected instead of stopping at the first.
type decoder struct {
	file string
	dir  string // base of relative *_file paths: the config file's directory
	env  func(string) (string, bool)
	// providers is the registry jobs are checked against.
	providers []sources.Provider
	errs      ConfigErrors
	// positions holds every value seen, by key path, so that problems a
	// provider reports by path can be placed in the file.
	positions map[string]value
}

func newDecoder(file string, env func(string) (string, bool), providers []sources.Provider) *decoder {
	return &decoder{file: file, dir: filepath.Dir(file), env: env, providers: providers, positions: map[string]value{}}
}

// value is one node of the document with the key path that names it.
type value struct {
	key    *yaml.Node // the mapping key it belongs to; nil for list items and the root
	at     *yaml.Node // the node as written, maybe an alias; nil when absent
	node   *yaml.Node // the node with any alias resolved
	path   string
	secret bool // errors never quote it
}

// present reports whether the value was given: an absent key and a null
// (`key:` or `key: ~`) both leave a setting at its default.
func (v value) present() bool {
	return v.node != nil && !(v.node.Kind == yaml.ScalarNode && v.node.ShortTag() == "!!null")
}

// pos is where an error about the value points: at the value itself, but
// at the key for a block mapping or list, which starts on the next line.
func (v value) pos() (line, col int) {
	n := v.at
	block := n != nil && n.Kind != yaml.ScalarNode && n.Kind != yaml.AliasNode && n.Style&yaml.FlowStyle == 0
	if n == nil || (block && v.key != nil) {
		n = v.key
	}
	if n == nil {
		return 0, 0
	}
	return n.Line, n.Column
}

func resolve(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

func joinPath(parent, child string) string {
	switch {
	case parent == "":
		return child
	case child == "":
		return parent
	case strings.HasPrefix(child, "["):
		return parent + child
	case strings.ContainsAny(child, "\r\n"):
		// A quoted YAML key may hold a line break: quoted, it keeps its
		// problem on one line.
		return parent + "." + strconv.Quote(child)
	}
	return parent + "." + child
}

func (d *decoder) errorf(v value, format string, args ...any) {
	line, col := v.pos()
	d.errs = append(d.errs, ConfigError{File: d.file, Line: line, Col: col, Path: v.path, Msg: fmt.Sprintf(format, args...)})
}

// missing reports a required key that parent lacks, at parent's position.
func (d *decoder) missing(parent value, key, format string, args ...any) {
	d.errorf(value{key: parent.key, at: parent.at, path: joinPath(parent.path, key)}, format, args...)
}

// typeError reports a value of the wrong shape or an unparsable scalar.
// It quotes the scalar unless the value is secret.
func (d *decoder) typeError(v value, want, got string) {
	switch {
	case v.node.Kind == yaml.MappingNode:
		d.errorf(v, "expected %s, got a mapping", want)
	case v.node.Kind == yaml.SequenceNode:
		d.errorf(v, "expected %s, got a list", want)
	case v.secret:
		d.errorf(v, "expected %s", want)
	default:
		d.errorf(v, "expected %s, got %q", want, got)
	}
}

func (d *decoder) child(parent value, key, n *yaml.Node, path string) value {
	c := value{key: key, at: n, node: resolve(n), path: path, secret: parent.secret}
	d.positions[path] = c
	return c
}

// mapping returns v's entries by key, reporting keys that are not in
// keys. An absent or null v is an empty mapping.
func (d *decoder) mapping(v value, keys ...string) map[string]value {
	fields := map[string]value{}
	if !v.present() {
		return fields
	}
	if v.node.Kind != yaml.MappingNode {
		d.typeError(v, "a mapping", v.node.Value)
		return fields
	}
	for _, e := range d.entries(v) {
		if name := e.key.Value; knownKey(name, keys) {
			fields[name] = e
		} else {
			d.unknownKey(e, name, keys)
		}
	}
	return fields
}

// knownKey reports whether name is one of keys, where a key ending in *
// stands for every key with that prefix.
func knownKey(name string, keys []string) bool {
	return slices.ContainsFunc(keys, func(k string) bool {
		prefix, isPrefix := strings.CutSuffix(k, "*")
		return k == name || isPrefix && strings.HasPrefix(name, prefix)
	})
}

func (d *decoder) unknownKey(e value, name string, keys []string) {
	k := value{at: e.key, path: e.path}
	valid := strings.Join(keys, ", ")
	if s := suggest(name, keys); s != "" {
		d.errorf(k, "unknown key %q, did you mean %q? (valid keys: %s)", name, s, valid)
		return
	}
	d.errorf(k, "unknown key %q (valid keys: %s)", name, valid)
}

// entries lists a mapping's key/value pairs in file order, reporting
// duplicate keys, and adds the entries of YAML merge keys (`<<: *anchor`)
// that the mapping does not set itself.
func (d *decoder) entries(v value) []value {
	var out []value
	first := map[string]*yaml.Node{}
	var merged []*yaml.Node
	content := v.node.Content
	for i := 0; i+1 < len(content); i += 2 {
		k, n := content[i], content[i+1]
		path := joinPath(v.path, k.Value)
		switch {
		case k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge":
			merged = append(merged, d.mergeSources(value{key: k, at: n, node: resolve(n), path: v.path})...)
		case k.Kind != yaml.ScalarNode:
			d.errorf(value{at: k, path: v.path}, "expected a string key, got a %s", kindName(k))
		case first[k.Value] != nil:
			d.errorf(value{at: k, path: path}, "duplicate key %q (first at line %d)", k.Value, first[k.Value].Line)
		default:
			first[k.Value] = k
			out = append(out, d.child(v, k, n, path))
		}
	}
	return append(out, d.mergedEntries(v, merged, first)...)
}

// mergedEntries returns the entries of merge sources that the mapping
// does not set itself; an earlier source wins over a later one, as YAML
// specifies. Each source is read once, which also stops a mapping that
// merges itself.
func (d *decoder) mergedEntries(v value, sources []*yaml.Node, first map[string]*yaml.Node) []value {
	var out []value
	seen := map[*yaml.Node]bool{v.node: true}
	for len(sources) > 0 {
		src := sources[0]
		sources = sources[1:]
		if seen[src] {
			continue
		}
		seen[src] = true
		c := src.Content
		for i := 0; i+1 < len(c); i += 2 {
			k, n := c[i], c[i+1]
			if k.ShortTag() == "!!merge" {
				sources = append(sources, d.mergeSources(value{key: k, at: n, node: resolve(n), path: v.path})...)
				continue
			}
			if k.Kind != yaml.ScalarNode || first[k.Value] != nil {
				continue
			}
			first[k.Value] = k
			out = append(out, d.child(v, k, n, joinPath(v.path, k.Value)))
		}
	}
	return out
}

// mergeSources returns the mappings a merge key's value names: one
// mapping or a list of them.
func (d *decoder) mergeSources(v value) []*yaml.Node {
	if v.node.Kind == yaml.MappingNode {
		return []*yaml.Node{v.node}
	}
	var out []*yaml.Node
	if v.node.Kind == yaml.SequenceNode {
		for _, item := range v.node.Content {
			out = append(out, resolve(item))
		}
	}
	if len(out) == 0 || slices.ContainsFunc(out, func(n *yaml.Node) bool { return n.Kind != yaml.MappingNode }) {
		d.errorf(v, "a merge key (<<) takes a mapping or a list of mappings")
		return nil
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "scalar"
}

// list returns the items of a list value; nil when absent or not a list.
func (d *decoder) list(v value, want string) []value {
	if !v.present() {
		return nil
	}
	if v.node.Kind != yaml.SequenceNode {
		d.typeError(v, want, v.node.Value)
		return nil
	}
	items := make([]value, len(v.node.Content))
	for i, n := range v.node.Content {
		items[i] = d.child(v, nil, n, fmt.Sprintf("%s[%d]", v.path, i))
	}
	return items
}

// text returns a scalar's text with ${...} references replaced. ok is
// false when v is absent or null, or when a problem was reported.
func (d *decoder) text(v value, want string) (string, bool) {
	if !v.present() {
		return "", false
	}
	if v.node.Kind != yaml.ScalarNode {
		d.typeError(v, want, "")
		return "", false
	}
	s, problems := interpolate(v.node.Value, d.env)
	for _, p := range problems {
		d.errorf(v, "%s", p)
	}
	return s, len(problems) == 0
}

// Every scalar accepts any YAML style: after interpolation a number may
// well be quoted (`page_size: "${PAGE_SIZE}"`), so the text is parsed for
// the setting's type rather than trusting the YAML tag.

func (d *decoder) str(v value) (string, bool) { return d.text(v, "a string") }

func (d *decoder) setString(dst *string, v value) {
	if s, ok := d.str(v); ok {
		*dst = s
	}
}

// integerText is a decimal integer; YAML allows digit separators, as in
// max_rows_per_file: 1_000_000.
var integerText = regexp.MustCompile(`^[-+]?[0-9]+(_[0-9]+)*$`)

func (d *decoder) integer(v value, min int64) (int64, bool) {
	s, ok := d.text(v, "an integer")
	if !ok {
		return 0, false
	}
	if !integerText.MatchString(s) {
		d.typeError(v, "an integer", s)
		return 0, false
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if err != nil {
		d.errorf(v, "%s is out of range", s)
		return 0, false
	}
	if n < min {
		d.errorf(v, "must be at least %d, got %d", min, n)
		return 0, false
	}
	return n, true
}

func (d *decoder) setInt(dst *int, v value, min int64) {
	if n, ok := d.integer(v, min); ok {
		*dst = int(n)
	}
}

func (d *decoder) setInt64(dst *int64, v value, min int64) {
	if n, ok := d.integer(v, min); ok {
		*dst = n
	}
}

// setBool accepts the YAML 1.2 booleans only: yes, no, on and off are
// strings there, and a typo must not silently mean false.
func (d *decoder) setBool(dst *bool, v value) {
	s, ok := d.text(v, "true or false")
	if !ok {
		return
	}
	switch s {
	case "true", "True", "TRUE":
		*dst = true
	case "false", "False", "FALSE":
		*dst = false
	default:
		d.typeError(v, "true or false", s)
	}
}

func (d *decoder) setDuration(dst *time.Duration, v value) {
	d.durationAtLeast(dst, v, false)
}

// setDurationOrZero is setDuration for settings where 0 means "none".
func (d *decoder) setDurationOrZero(dst *time.Duration, v value) {
	d.durationAtLeast(dst, v, true)
}

func (d *decoder) durationAtLeast(dst *time.Duration, v value, zeroOK bool) {
	s, ok := d.text(v, "a duration")
	if !ok {
		return
	}
	t, err := time.ParseDuration(s)
	switch {
	case err != nil:
		d.typeError(v, "a duration like 30s, 1m or 1h30m", s)
	case t < 0 || (t == 0 && !zeroOK):
		if zeroOK {
			d.errorf(v, "must not be negative, got %q", s)
		} else {
			d.errorf(v, "must be positive, got %q", s)
		}
	default:
		*dst = t
	}
}

func (d *decoder) enum(v value, allowed ...string) (string, bool) {
	names := slices.Clone(allowed)
	if i := slices.Index(names, ""); i >= 0 {
		names[i] = `""`
	}
	want := "one of " + strings.Join(names, ", ")
	s, ok := d.text(v, want)
	if ok && !slices.Contains(allowed, s) {
		d.typeError(v, want, s)
		return "", false
	}
	return s, ok
}

func (d *decoder) setEnum(dst *string, v value, allowed ...string) {
	if s, ok := d.enum(v, allowed...); ok {
		*dst = s
	}
}

// Bounds on one free-form setting (filter, sort). Aliases make a small
// file expand without limit: a few nested ones into billions of values,
// one that contains itself forever.
const (
	maxFreeformValues = 10_000
	maxFreeformDepth  = 64
)

// freeform decodes a provider-native setting into the types yaml.v3 gives
// an `any`: map[string]any, []any, string, int, float64, bool and nil.
// Scalars are interpolated too.
func (d *decoder) freeform(v value) any {
	if !v.present() {
		return nil
	}
	f := freeformDecoder{d: d, root: v}
	return f.decode(v, 0)
}

type freeformDecoder struct {
	d      *decoder
	root   value
	values int
	failed bool // a bound was hit and reported
}

func (f *freeformDecoder) decode(v value, depth int) any {
	if f.values++; f.values > maxFreeformValues || depth > maxFreeformDepth {
		if !f.failed {
			f.failed = true
			f.d.errorf(f.root, "too large once aliases are expanded (more than %d values or %d levels): does an alias contain itself?",
				maxFreeformValues, maxFreeformDepth)
		}
		return nil
	}
	switch v.node.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, e := range f.d.entries(v) {
			m[e.key.Value] = f.decode(e, depth+1)
		}
		return m
	case yaml.SequenceNode:
		items := f.d.list(v, "a list")
		out := make([]any, len(items))
		for i, item := range items {
			out[i] = f.decode(item, depth+1)
		}
		return out
	}
	return f.d.freeformScalar(v)
}

// freeformScalar types a scalar as YAML would have typed its final text:
// `id: ${USER_ID}` gives an int when USER_ID holds digits, as if the
// number had been written in place; a quoted scalar stays a string.
func (d *decoder) freeformScalar(v value) any {
	s, ok := d.text(v, "a value")
	if !ok {
		return nil
	}
	n := *v.node
	if n.Value != s {
		n.Value = s
		if n.Style == 0 {
			n.Tag = "" // plain and untagged: let yaml resolve the new text
		}
	}
	var out any
	if err := n.Decode(&out); err != nil {
		d.typeError(v, "a valid "+n.ShortTag()+" value", s)
		return nil
	}
	return out
}

// suggest returns the key closest to name when name is likely a typo of
// it: at most one edit in four characters away.
func suggest(name string, keys []string) string {
	best, bestDist := "", 1+len(name)/4+1
	for _, k := range keys {
		if strings.HasSuffix(k, "*") {
			continue // a prefix, not a key one could misspell
		}
		if dist := editDistance(name, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
