package httpsource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	goccy "github.com/goccy/go-json"

	"github.com/saas-export/export/schema"
)

// NormalizeRecords normalizes a page's decoded records in order. An error
// names the record by its position in the page's results: "results[3]: ...".
func NormalizeRecords[R any](recs []R, normalize func(*R) (schema.User, error)) ([]schema.User, error) {
	users := make([]schema.User, len(recs))
	for i := range recs {
		u, err := normalize(&recs[i])
		if err != nil {
			return nil, fmt.Errorf("results[%d]: %w", i, err)
		}
		users[i] = u
	}
	return users, nil
}

// NormalizeRaw is NormalizeRecords for a job with include_raw: it decodes
// each raw record into an R, normalizes it and keeps the record's JSON,
// compacted, in User.Raw. An error names the record as NormalizeRecords
// does: "results[3]: decode record: ...", or the error of normalize.
func NormalizeRaw[R any](raws []json.RawMessage, normalize func(*R) (schema.User, error)) ([]schema.User, error) {
	users := make([]schema.User, len(raws))
	for i, raw := range raws {
		u, err := normalizeRaw(raw, normalize)
		if err != nil {
			return nil, fmt.Errorf("results[%d]: %w", i, err)
		}
		users[i] = u
	}
	return users, nil
}

func normalizeRaw[R any](raw json.RawMessage, normalize func(*R) (schema.User, error)) (schema.User, error) {
	var rec R
	if err := unmarshal(raw, &rec); err != nil {
		return schema.User{}, fmt.Errorf("decode record: %w", err)
	}
	u, err := normalize(&rec)
	if err != nil {
		return schema.User{}, err
	}
	var buf bytes.Buffer
	// Compact so the raw column does not depend on the API's whitespace.
	if err := json.Compact(&buf, raw); err != nil {
		return schema.User{}, fmt.Errorf("compact record: %w", err)
	}
	u.Raw = buf.Bytes()
	return u, nil
}

// Envelope is a provider's decoded response: its records, of the
// provider's record type or json.RawMessage, and the listing's total when
// the response gives one. An envelope that is also checked, as every
// provider's should be, is checked before its records are read.
type Envelope[T any] interface {
	Records() []T
	Total() *int64
}

// checked is an Envelope that can tell a malformed response from an
// empty page.
type checked interface {
	// RecordsPath names the members that lead to the records, for
	// DecodeJSON.
	RecordsPath() []string
	// Check reports a member the response lacks or sends wrong.
	Check() error
}

// Member is a small member of a response (an id, a total) that remembers
// how it was sent: encoding/json leaves an absent or null member at its
// zero value, and keeps the last of a duplicated one, also when the
// names differ in case. It is for small values only: on the records, the
// second decoding it costs would double the time to read a page.
type Member[T any] struct {
	V    T
	sent int  // times the member is in its object
	null bool // the last time, it was null
}

// Sent is a member sent once with value v, for a decoder that reads
// another format than JSON into the same record type.
func Sent[T any](v T) Member[T] { return Member[T]{V: v, sent: 1} }

func (m *Member[T]) UnmarshalJSON(b []byte) error {
	m.sent++
	if m.null = string(b) == "null"; m.null {
		return nil
	}
	if plainValue(b, &m.V) {
		return nil
	}
	return json.Unmarshal(b, &m.V)
}

// plainValue decodes the common case of a member, a string without
// escapes or an integer of up to 18 digits, into v without encoding/json:
// every id goes through Member, and json.Unmarshal's set-up costs more
// than the id. Anything else it leaves to encoding/json, reporting false.
func plainValue(b []byte, v any) bool {
	switch v := v.(type) {
	case *string:
		if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
			return false
		}
		inner := b[1 : len(b)-1]
		for _, c := range inner {
			if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
				return false
			}
		}
		*v = string(inner)
		return true
	case *int64:
		digits := b
		if len(digits) > 0 && digits[0] == '-' {
			digits = digits[1:]
		}
		if len(digits) == 0 || len(digits) > 18 || len(digits) > 1 && digits[0] == '0' {
			return false
		}
		var n int64
		for _, c := range digits {
			if c < '0' || c > '9' {
				return false
			}
			n = n*10 + int64(c-'0')
		}
		if len(digits) < len(b) {
			n = -n
		}
		*v = n
		return true
	}
	return false
}

// Optional reports a member, named name (a path such as data.total),
// that the response sends more than once.
func (m *Member[T]) Optional(name string) error {
	if m.sent > 1 {
		return fmt.Errorf("%s is sent more than once", name)
	}
	return nil
}

// Value returns the member's value, nil when it was absent or null.
func (m *Member[T]) Value() *T {
	if m.sent == 0 || m.null {
		return nil
	}
	return &m.V
}

// MaxCount bounds the totals and page counts a response may claim: the
// integers JSON carries exactly, which keeps page arithmetic far from
// overflow (a total near 2^63 would wrap to a single, last page).
const MaxCount = 1<<53 - 1

// CheckCount reports a count of records or pages, named name, that is
// negative or beyond MaxCount; nil is no count and fine.
func CheckCount(name string, n *int64) error {
	if n != nil && (*n < 0 || *n > MaxCount) {
		return fmt.Errorf("%s is %d: want a count from 0 to %d", name, *n, int64(MaxCount))
	}
	return nil
}

// DecodePage is DecodeUsers for a listing paged by number (index from 0,
// size records a page): the decoded users as that page.
func DecodePage[R any, RawEnv Envelope[json.RawMessage], RecEnv Envelope[R]](
	body []byte, includeRaw bool, index, size int, normalize func(*R) (schema.User, error),
) (Page, error) {
	users, total, err := DecodeUsers[R, RawEnv, RecEnv](body, includeRaw, normalize)
	if err != nil {
		return Page{}, err
	}
	return NumberedPage(users, total, index, size), nil
}

// DecodeIDPage is DecodePage for a job with IDsOnly: the page's users
// carry their ID and nothing else.
func DecodeIDPage[I any, Env Envelope[I]](body []byte, index, size int, id func(*I) (string, error)) (Page, error) {
	users, total, err := DecodeIDs[I, Env](body, id)
	if err != nil {
		return Page{}, err
	}
	return NumberedPage(users, total, index, size), nil
}

// DecodeIDs is DecodeUsers for a job with IDsOnly. I is the part of the
// provider's record that holds its id, which the full record embeds, and
// id the function its normalize reads the id with: both reads key a user
// alike, and the envelope is checked as strictly.
func DecodeIDs[I any, Env Envelope[I]](body []byte, id func(*I) (string, error)) ([]schema.User, *int64, error) {
	var env Env
	if err := decodeEnvelope(body, &env, true); err != nil {
		return nil, nil, err
	}
	users, err := IDUsers(env.Records(), id)
	return users, env.Total(), err
}

// IDUsers is NormalizeRecords for records decoded for their id alone.
func IDUsers[I any](recs []I, id func(*I) (string, error)) ([]schema.User, error) {
	users := make([]schema.User, len(recs))
	for i := range recs {
		var err error
		if users[i].ID, err = id(&recs[i]); err != nil {
			return nil, fmt.Errorf("results[%d]: %w", i, err)
		}
	}
	return users, nil
}

// DecodeUsers decodes a response body and normalizes its records. With
// includeRaw it decodes the envelope RawEnv, whose records stay as sent
// so that User.Raw can keep them; otherwise RecEnv, straight into R,
// which is the fast path. Both are the provider's one envelope type,
// instantiated with json.RawMessage and with R.
func DecodeUsers[R any, RawEnv Envelope[json.RawMessage], RecEnv Envelope[R]](
	body []byte, includeRaw bool, normalize func(*R) (schema.User, error),
) ([]schema.User, *int64, error) {
	if includeRaw {
		var env RawEnv
		if err := decodeEnvelope(body, &env, false); err != nil {
			return nil, nil, err
		}
		users, err := NormalizeRaw(env.Records(), normalize)
		return users, env.Total(), err
	}
	var env RecEnv
	if err := decodeEnvelope(body, &env, false); err != nil {
		return nil, nil, err
	}
	users, err := NormalizeRecords(env.Records(), normalize)
	return users, env.Total(), err
}

// decodeEnvelope decodes and checks a provider's envelope; ids says the
// read compares ids alone (see IDsPath).
func decodeEnvelope(body []byte, env any, ids bool) error {
	c, ok := env.(checked)
	var path []string
	if ok {
		path = IDsPath(ids, c.RecordsPath()...)
	}
	if err := DecodeJSON(body, env, path...); err != nil {
		return err
	}
	if ok {
		return c.Check()
	}
	return nil
}

// Excerpt is the start of a value a response sent, for an error message:
// a malformed member, or an element's name, may be megabytes long.
func Excerpt[S ~string | ~[]byte](s S) string {
	const n = 256
	if len(s) <= n {
		return string(s)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}

// IDsPath is the path DecodeJSON checks for a read that compares ids
// alone (ids): none. Such a read, the confirming one, writes nothing: if
// a records member sent twice makes it keep other ids than the first
// read's, the job reads again, and that read refuses the body; if the
// same ids, what the first read wrote stands. Else path.
func IDsPath(ids bool, path ...string) []string {
	if ids {
		return nil
	}
	return path
}

// DecodeJSON unmarshals a response body into v. path names the members
// that lead to the records (data, results); one that an object on the
// way sends twice is refused, since encoding/json would keep the last
// (matching names case-insensitively): a second, empty "results" would
// empty the page without a word. Errors of decoding start with "decode
// response: " and name a mistyped member by its path in the response
// (meta.total), not by Go's name for the type that holds it.
func DecodeJSON(body []byte, v any, path ...string) error {
	err := unmarshal(body, v)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return onceOnPath(body, path)
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("decode response: json: cannot unmarshal %s into %s (%s)", te.Value, te.Field, te.Type)
	}
	return fmt.Errorf("decode response: %w", err)
}

// unmarshal is json.Unmarshal, about 4 times as fast on the records:
// goccy/go-json decodes, and only a body it refuses is decoded again by
// encoding/json, so that every error is encoding/json's own, positions and
// wording included. FuzzDecoderAgrees holds the two to the same verdict
// and the same values, which onceOnPath's trust in a decoded body needs.
func unmarshal(data []byte, v any) error {
	if goccy.Unmarshal(data, v) == nil {
		return nil
	}
	reflect.ValueOf(v).Elem().SetZero() // what goccy filled before it stopped
	return json.Unmarshal(data, v)
}

// onceOnPath reports a member of path that an object on the way to the
// records sends more than once; arrays on the way are crossed into each
// element. body is valid JSON, as json.Unmarshal has checked, so the walk
// needs no checks of its own; it skips everything off the path.
func onceOnPath(body []byte, path []string) error {
	if len(path) == 0 {
		return nil
	}
	s := pathScan{b: body, path: path}
	return s.walk(0)
}

type pathScan struct {
	b    []byte
	i    int
	path []string
}

func (s *pathScan) walk(depth int) error {
	s.space()
	if depth == len(s.path) {
		s.skip()
		return nil
	}
	switch s.b[s.i] {
	case '[':
		s.i++
		for s.next(']') {
			if err := s.walk(depth); err != nil {
				return err
			}
		}
	case '{':
		s.i++
		seen := false
		for s.next('}') {
			match := bytes.EqualFold(s.key(), []byte(s.path[depth])) // encoding/json's matching
			s.space()
			s.i++ // the colon
			switch {
			case !match:
				s.skip()
				continue
			case seen:
				return fmt.Errorf("%s is sent more than once", strings.Join(s.path[:depth+1], "."))
			}
			seen = true
			if err := s.walk(depth + 1); err != nil {
				return err
			}
		}
	default:
		s.skip()
	}
	return nil
}

// next moves past a comma and reports whether an element follows, or
// else moves past the closing end.
func (s *pathScan) next(end byte) bool {
	s.space()
	if s.b[s.i] == ',' {
		s.i++
		s.space()
	}
	if s.b[s.i] == end {
		s.i++
		return false
	}
	return true
}

// key reads a member name, unescaped as encoding/json reads it.
func (s *pathScan) key() []byte {
	start := s.i
	s.i = skipString(s.b, s.i)
	raw := s.b[start+1 : s.i-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	var k string
	_ = json.Unmarshal(s.b[start:s.i], &k) // a valid JSON string
	return []byte(k)
}

// skip moves past one value. It is the scan of every record (a page is
// mostly its records, which are off the path), so it keeps the position
// in a local and tests each byte once: only quotes and brackets matter
// off a string, and only quotes and backslashes on one.
func (s *pathScan) skip() {
	s.space()
	b, i, depth := s.b, s.i, 0
	for {
		switch b[i] {
		case '"':
			i = skipString(b, i)
		case '{', '[':
			depth++
			i++
		case '}', ']':
			depth--
			i++
		default:
			if depth > 0 {
				// Up to the next byte that matters: in an indented body
				// most bytes between strings are spaces.
				for i++; !scanStops[b[i]]; i++ {
				}
				continue
			}
			// A number, true, false or null, up to its end.
			for i < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[i])) {
				i++
			}
		}
		if depth == 0 {
			s.i = i
			return
		}
	}
}

// scanStops are the bytes skip stops at off a string; stringStops those
// it stops at on one.
var scanStops, stringStops = func() (off, on [256]bool) {
	for _, c := range []byte(`"{}[]`) {
		off[c] = true
	}
	on['"'], on['\\'] = true, true
	return off, on
}()

// skipString returns the position after the string that starts at b[i].
func skipString(b []byte, i int) int {
	for i++; ; i++ {
		for !stringStops[b[i]] {
			i++
		}
		if b[i] == '"' {
			return i + 1
		}
		i++ // past the backslash; the loop's i++ passes the escaped byte
	}
}

func (s *pathScan) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}
