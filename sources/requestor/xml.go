package requestor

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// The namespaces of the API's XML form: .NET data contracts.
const (
	nsInstance = "http://www.w3.org/2001/XMLSchema-instance"
	nsPosts    = "http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Posts"
	nsResults  = "http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Results"
	nsData     = "http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.DataStructures"
	nsArrays   = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
)

// maxXMLDepth bounds the nesting parseXML accepts. The API's documents
// are six levels deep; the bound keeps the recursive walks over a tree
// (appendJSON) safe from a hostile answer.
const maxXMLDepth = 64

// element is one element of a data-contract document, its namespaces
// resolved: a member of a contract is a child element in the contract's
// namespace, i:nil="true" is null, and a collection is a list of item
// elements.
type element struct {
	name     xml.Name
	nil      bool
	text     string // character data of a leaf; dropped once a child appears
	chars    []byte // text while the element is open: a string += would be quadratic in its pieces
	children []element
}

// parseXML reads a whole document into a tree. It builds the tree with
// an explicit stack rather than recursion, so that its depth is checked
// before anything walks it.
func parseXML(body []byte) (*element, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var root *element
	var open []*element // the path from the root to the element being read
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) && root != nil {
			return root, nil // the decoder has checked that every element was closed
		}
		if err != nil {
			return nil, xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e := element{name: t.Name, nil: isNil(t.Attr)}
			switch {
			case len(open) >= maxXMLDepth:
				return nil, fmt.Errorf("elements nested deeper than %d levels", maxXMLDepth)
			case len(open) > 0:
				// Only the innermost open element grows, so the pointers to
				// its ancestors, each the last child of its parent, stay valid.
				parent := open[len(open)-1]
				parent.chars = nil
				parent.children = append(parent.children, e)
				open = append(open, &parent.children[len(parent.children)-1])
			case root != nil:
				return nil, fmt.Errorf("a second root element <%s> after <%s>", t.Name.Local, root.name.Local)
			default:
				root = &e
				open = append(open, root)
			}
		case xml.CharData:
			if n := len(open); n > 0 && len(open[n-1].children) == 0 {
				open[n-1].chars = append(open[n-1].chars, t...)
			}
		case xml.EndElement:
			closed := open[len(open)-1]
			closed.text, closed.chars = string(closed.chars), nil
			open = open[:len(open)-1] // the decoder has matched it with its start
		}
	}
}

// xmlError says "no root element" for an empty document, which the
// decoder reports as a bare EOF.
func xmlError(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("no root element")
	}
	return err
}

// isNil reads i:nil; xs:boolean also writes true as 1.
func isNil(attrs []xml.Attr) bool {
	for _, a := range attrs {
		if a.Name.Space == nsInstance && a.Name.Local == "nil" {
			return a.Value == "true" || a.Value == "1"
		}
	}
	return false
}

// is reports whether e is called local in namespace space.
func (e *element) is(space, local string) bool {
	return e.name.Space == space && e.name.Local == local
}

// member returns e's member called local, the child in e's own namespace,
// or nil when there is none.
func (e *element) member(local string) *element {
	for i := range e.children {
		if c := &e.children[i]; c.is(e.name.Space, local) {
			return c
		}
	}
	return nil
}

// str returns a member's text: nil when the member is absent or null.
func (e *element) str(local string) *string {
	m := e.member(local)
	if m == nil || m.nil {
		return nil
	}
	return &m.text
}

// boolean returns a member as xs:boolean: true, false, 1 or 0.
func (e *element) boolean(local string) (*bool, error) {
	s := e.str(local)
	if s == nil {
		return nil, nil
	}
	switch strings.TrimSpace(*s) {
	case "true", "1":
		return new(true), nil
	case "false", "0":
		return new(false), nil
	}
	return nil, fmt.Errorf("%s: %q is not a boolean", local, *s)
}

// integer returns a member as a decimal integer.
func (e *element) integer(local string) (*int64, error) {
	s := e.str(local)
	if s == nil {
		return nil, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(*s), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not an integer", local, *s)
	}
	return &n, nil
}

// stringList returns a member that is an array of strings: nil when it
// is absent or null, empty when it has no items.
func (e *element) stringList(local string) ([]string, error) {
	m := e.member(local)
	if m == nil || m.nil {
		return nil, nil
	}
	items := make([]string, 0, len(m.children))
	for _, c := range m.children {
		if !c.is(nsArrays, "string") || c.nil {
			return nil, fmt.Errorf("%s: an item <%s> is not a string in namespace %s", local, c.name.Local, nsArrays)
		}
		items = append(items, c.text)
	}
	return items, nil
}

// appendJSON appends e's content as compact JSON: null for i:nil, an
// array for a collection, an object of the children (keyed by local
// name, in document order) for any other element with children, and a
// string for a leaf. Leaves stay strings, "false" and "0" included: the
// XML form itself does not say which members are numbers.
func (e *element) appendJSON(b []byte) []byte {
	switch {
	case e.nil:
		return append(b, "null"...)
	case e.isList():
		b = append(b, '[')
		for i := range e.children {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.children[i].appendJSON(b)
		}
		return append(b, ']')
	case len(e.children) > 0:
		b = append(b, '{')
		for i := range e.children {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, e.children[i].name.Local)
			b = append(b, ':')
			b = e.children[i].appendJSON(b)
		}
		return append(b, '}')
	}
	return appendJSONString(b, e.text)
}

// isList tells a collection from an object. A data contract writes a
// collection of primitives as items in the Arrays namespace (Phones as
// d5p1:string), and a collection of contracts as items named after their
// type (Tags as TagData). The collections of RequestorUser the docs show
// are known by name, so that one with one item or none is still a list.
func (e *element) isList() bool {
	if e.name.Space == nsData {
		switch e.name.Local {
		case "Phones", "Tags", "OperatorGroupIds", "InternalGroupIds":
			return true
		}
	}
	return len(e.children) > 0 &&
		!slices.ContainsFunc(e.children, func(c element) bool { return c.name.Space != nsArrays })
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// xmlWriter writes data-contract XML laid out as the docs show it: one
// element a line, two spaces a level, a null as <Name i:nil="true" />,
// and no newline after the root.
type xmlWriter struct {
	buf   bytes.Buffer
	depth int
}

// start opens an element; tag is its name with any attributes.
func (w *xmlWriter) start(tag string) {
	w.line()
	w.buf.WriteString("<" + tag + ">")
	w.depth++
}

// end closes the element called name.
func (w *xmlWriter) end(name string) {
	w.depth--
	w.line()
	w.buf.WriteString("</" + name + ">")
}

// empty writes an element with no content; tag is its name with any
// attributes.
func (w *xmlWriter) empty(tag string) {
	w.line()
	w.buf.WriteString("<" + tag + " />")
}

// leaf writes an element holding text, or a null one for nil.
func (w *xmlWriter) leaf(name string, text *string) {
	if text == nil {
		w.empty(name + ` i:nil="true"`)
		return
	}
	w.line()
	w.buf.WriteString("<" + name + ">")
	_ = xml.EscapeText(&w.buf, []byte(*text)) // a bytes.Buffer does not fail
	w.buf.WriteString("</" + name + ">")
}

func (w *xmlWriter) line() {
	if w.buf.Len() > 0 {
		w.buf.WriteByte('\n')
	}
	for range w.depth {
		w.buf.WriteString("  ")
	}
}

func (w *xmlWriter) bytes() []byte { return w.buf.Bytes() }

// optional renders a value as XML text with format; nil stays nil.
func optional[T any](v *T, format func(T) string) *string {
	if v == nil {
		return nil
	}
	return new(format(*v))
}
