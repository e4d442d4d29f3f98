package httpsource

import (
	"bytes"
	"encoding/json"
	"fmt"

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
// the response gives one.
type Envelope[T any] interface {
	Records() []T
	Total() *int64
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
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, nil, fmt.Errorf("decode response: %w", err)
		}
		users, err := NormalizeRaw(env.Records(), normalize)
		return users, env.Total(), err
	}
	var env RecEnv
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, nil, fmt.Errorf("decode response: %w", err)
	}
	users, err := NormalizeRecords(env.Records(), normalize)
	return users, env.Total(), err
}
