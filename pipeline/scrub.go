package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/saas-export/export/schema"
)

// Scrubbing the raw column: a job that drops or hashes columns and keeps
// the raw record must not let raw carry what the columns remove. Each
// provider says which members of its records each column is read from
// (httpsource.Provider.RawFields); a member that a dropped column reads
// is removed, and a member that a hashed one reads has its leaves
// replaced by their pseudonyms. Everything else is copied byte for byte,
// in its order: the record is walked as text, never decoded into a map.

// rawAction is what scrubbing does to a member and everything under it,
// weakest first, so that the stronger of two wins: a member read by a
// dropped column and by a hashed one is removed.
type rawAction uint8

const (
	rawKeep rawAction = iota
	rawHash
	rawDrop
)

// rawNode is one member of the compiled path tree: what happens to it,
// and the members under it that some path goes on to. Under an array,
// a node applies to every element.
type rawNode struct {
	action   rawAction
	children map[string]*rawNode
}

// rawScrubber is a job's compiled path tree. It is built once a job and
// only read after, so every page (and goroutine) may share it.
type rawScrubber struct {
	root rawNode
}

// newRawScrubber compiles the raw members of the dropped and the hashed
// columns, as fields (a provider's RawFields) gives them. A column with
// no entry in fields is an error: nothing says where its values sit in
// the record, so raw cannot be made safe.
func newRawScrubber(fields map[schema.ColumnID][]string, dropped, hashed []schema.Column) (*rawScrubber, error) {
	s := &rawScrubber{}
	for _, set := range []struct {
		cols   []schema.Column
		action rawAction
	}{{dropped, rawDrop}, {hashed, rawHash}} {
		for _, c := range set.cols {
			paths, ok := fields[c.ID]
			if !ok {
				return nil, fmt.Errorf("no raw fields for column %s: raw cannot be scrubbed of it", c.Name)
			}
			for _, p := range paths {
				if err := s.root.add(p, set.action); err != nil {
					return nil, fmt.Errorf("column %s: %w", c.Name, err)
				}
			}
		}
	}
	return s, nil
}

// add marks the member at the dotted path with action, keeping the
// stronger of what it had and action.
func (n *rawNode) add(path string, action rawAction) error {
	for name := range strings.SplitSeq(path, ".") {
		if name == "" {
			return fmt.Errorf("raw field %q has an empty member name", path)
		}
		if n.children == nil {
			n.children = map[string]*rawNode{}
		}
		child, ok := n.children[name]
		if !ok {
			child = &rawNode{}
			n.children[name] = child
		}
		n = child
	}
	n.action = max(n.action, action)
	return nil
}

// branches reports whether some path goes on below n (nil: none does).
func (n *rawNode) branches() bool { return n != nil && len(n.children) > 0 }

// child is n's node for the member whose name is quoted, as it appears
// in the record, or nil when no path names it.
func (n *rawNode) child(quoted []byte) *rawNode {
	if !n.branches() {
		return nil
	}
	return n.children[jsonString(quoted)]
}

// scrubUsers scrubs each user's raw record in place. A record that
// cannot be scrubbed is never left as it came: its raw is withheld
// (null) and the first such error, naming the record, is returned.
func (s *rawScrubber) scrubUsers(users []schema.User, pseudonym func(string) string) error {
	var first error
	for i := range users {
		u := &users[i]
		if u.Raw == nil {
			continue
		}
		scrubbed, err := s.scrub(u.Raw, pseudonym)
		if err != nil {
			u.Raw = nil
			if first == nil {
				first = fmt.Errorf("user %s: raw record: %w", u.ID, err)
			}
			continue
		}
		u.Raw = scrubbed
	}
	return first
}

// scrub returns raw with the tree applied; raw itself when nothing in it
// changed. The result is a new slice: raw may share an array with the
// provider's page.
func (s *rawScrubber) scrub(raw []byte, pseudonym func(string) string) ([]byte, error) {
	if !s.root.branches() {
		return raw, nil // no column the job removes is read from the record
	}
	// Checked first, so that the walk below can trust the syntax.
	if !json.Valid(raw) {
		return nil, errors.New("not valid JSON")
	}
	w := rawWalk{in: raw, out: make([]byte, 0, len(raw)), pseudonym: pseudonym}
	w.value(0, &s.root, rawKeep)
	if !w.changed {
		return raw, nil
	}
	return w.out, nil
}

// rawWalk writes a scrubbed copy of one valid JSON record.
type rawWalk struct {
	in, out   []byte
	pseudonym func(string) string
	changed   bool
}

// value writes the value at in[i] (after any space) and returns the
// index just past it. n is the node of the member holding it (nil: no
// path goes deeper), mode what applies to it from above.
func (w *rawWalk) value(i int, n *rawNode, mode rawAction) int {
	i = skipSpace(w.in, i)
	c := w.in[i]
	switch {
	case mode != rawHash && !n.branches():
		// Nothing to change at or under this value.
	case c == '{':
		return w.object(i, n, mode)
	case c == '[':
		return w.array(i, n, mode)
	case mode == rawHash && c != 'n': // null stays null
		end := valueEnd(w.in, i)
		w.hashLeaf(w.in[i:end])
		return end
	}
	end := valueEnd(w.in, i)
	w.out = append(w.out, w.in[i:end]...)
	return end
}

// object writes the object at in[i] without the members to drop.
func (w *rawWalk) object(i int, n *rawNode, mode rawAction) int {
	w.out = append(w.out, '{')
	i = skipSpace(w.in, i+1)
	first := true
	for w.in[i] != '}' {
		keyEnd := valueEnd(w.in, i)
		key := w.in[i:keyEnd]
		child := n.child(key)
		action := mode
		if child != nil {
			action = max(action, child.action)
		}
		i = skipSpace(w.in, keyEnd) + 1 // past the colon
		if action == rawDrop {
			i = valueEnd(w.in, skipSpace(w.in, i))
			w.changed = true
		} else {
			if !first {
				w.out = append(w.out, ',')
			}
			first = false
			w.out = append(w.out, key...)
			w.out = append(w.out, ':')
			i = w.value(i, child, action)
		}
		i = skipComma(w.in, i)
	}
	w.out = append(w.out, '}')
	return i + 1
}

// array writes the array at in[i], applying n to every element.
func (w *rawWalk) array(i int, n *rawNode, mode rawAction) int {
	w.out = append(w.out, '[')
	i = skipSpace(w.in, i+1)
	for first := true; w.in[i] != ']'; first = false {
		if !first {
			w.out = append(w.out, ',')
		}
		i = skipComma(w.in, w.value(i, n, mode))
	}
	w.out = append(w.out, ']')
	return i + 1
}

// hashLeaf writes the pseudonym of a string, number or boolean: of the
// string's value, as the column is hashed, so that the two agree; of a
// number's or boolean's JSON text otherwise (organization 12 and
// organization_id "12" agree too).
func (w *rawWalk) hashLeaf(tok []byte) {
	text := string(tok)
	if tok[0] == '"' {
		text = jsonString(tok)
	}
	w.out = append(w.out, '"')
	w.out = append(w.out, w.pseudonym(text)...)
	w.out = append(w.out, '"')
	w.changed = true
}

// jsonString decodes a valid JSON string token, quotes included.
func jsonString(tok []byte) string {
	inner := tok[1 : len(tok)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner) // the common case: the text is the value
	}
	var s string
	_ = json.Unmarshal(tok, &s) // valid, checked by scrub
	return s
}

// valueEnd returns the index just past the valid JSON value at in[i].
func valueEnd(in []byte, i int) int {
	switch in[i] {
	case '"':
		for i++; in[i] != '"'; i++ {
			if in[i] == '\\' {
				i++ // the escaped byte, a quote perhaps
			}
		}
		return i + 1
	case '{', '[':
		depth := 0
		for {
			switch in[i] {
			case '"':
				i = valueEnd(in, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
	}
	for i < len(in) && !endsScalar(in[i]) {
		i++ // a number, true, false or null
	}
	return i
}

// endsScalar reports whether c ends a number or literal: what may follow
// one in valid JSON.
func endsScalar(c byte) bool {
	return c == ',' || c == '}' || c == ']' || isSpace(c)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipSpace(in []byte, i int) int {
	for i < len(in) && isSpace(in[i]) {
		i++
	}
	return i
}

// skipComma skips the space and the comma, if any, after a member or an
// element, and the space after that.
func skipComma(in []byte, i int) int {
	if i = skipSpace(in, i); in[i] == ',' {
		i = skipSpace(in, i+1)
	}
	return i
}
