package httpsource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

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
	if err := json.Unmarshal(raw, &rec); err != nil {
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
// the response gives one. An envelope that also has a Check() error
// method, as every provider's should, is checked before its records are
// read: see Member.
type Envelope[T any] interface {
	Records() []T
	Total() *int64
}

// checked is an Envelope that can tell a malformed response from an
// empty page.
type checked interface{ Check() error }

// Member is a member of a response envelope that remembers how it was
// sent. encoding/json leaves an absent or null member at its zero value
// and keeps the last of a duplicated one, so that a response without
// results, with "results": null, or with a second, empty "results" would
// otherwise decode as a page that silently holds no users.
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
	return json.Unmarshal(b, &m.V)
}

// Required reports a member the API always sends that the response
// leaves out, sends as null or sends more than once. name is the
// member's path in the response, such as data.results.
func (m *Member[T]) Required(name string) error {
	switch {
	case m.sent == 0:
		return fmt.Errorf("the response has no %s", name)
	case m.null:
		return fmt.Errorf("%s is null", name)
	}
	return m.Optional(name)
}

// Optional reports a member the response sends more than once; it may
// leave it out or send null.
func (m *Member[T]) Optional(name string) error {
	if m.sent > 1 {
		return fmt.Errorf("%s is sent %d times", name, m.sent)
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
		if err := decodeEnvelope(body, &env); err != nil {
			return nil, nil, err
		}
		users, err := NormalizeRaw(env.Records(), normalize)
		return users, env.Total(), err
	}
	var env RecEnv
	if err := decodeEnvelope(body, &env); err != nil {
		return nil, nil, err
	}
	users, err := NormalizeRecords(env.Records(), normalize)
	return users, env.Total(), err
}

func decodeEnvelope(body []byte, env any) error {
	if err := DecodeJSON(body, env); err != nil {
		return err
	}
	if c, ok := env.(checked); ok {
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

// DecodeJSON unmarshals a response body into v. Its errors start with
// "decode response: " and name a mistyped member by its path in the
// response (meta.total), not by Go's name for the type that holds it.
func DecodeJSON(body []byte, v any) error {
	err := json.Unmarshal(body, v)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("decode response: json: cannot unmarshal %s into %s (%s)", te.Value, te.Field, te.Type)
	}
	return fmt.Errorf("decode response: %w", err)
}
