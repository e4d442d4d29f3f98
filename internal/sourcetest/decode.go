package sourcetest

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// CheckDecoded checks what every page a provider's decoder gives for body
// (as page index of a listing paged by size) must satisfy: the plain and
// include_raw decodings agree; an error says something; a page's users
// are exactly the records of the JSON array at path (see ArrayLen), each
// with an id; and its paging adds up.
func CheckDecoded(t testing.TB, body []byte, index, size int, plain, raw httpsource.Page, errPlain, errRaw error, path ...any) {
	t.Helper()
	checkDecoded(t, index, size, plain, raw, errPlain, errRaw, func() {
		t.Helper()
		if n, ok := ArrayLen(body, path...); !ok || n != len(plain.Users) {
			t.Fatalf("%d users from a body whose %v holds %d records (array: %v)", len(plain.Users), path, n, ok)
		}
	})
}

// CheckDecodedBy is CheckDecoded for a body that is not JSON: a page's
// users must be exactly the records oracle finds in the body (ok false:
// it finds no list of records).
func CheckDecodedBy(t testing.TB, oracle func() (int, bool), index, size int, plain, raw httpsource.Page, errPlain, errRaw error) {
	t.Helper()
	checkDecoded(t, index, size, plain, raw, errPlain, errRaw, func() {
		t.Helper()
		if n, ok := oracle(); !ok || n != len(plain.Users) {
			t.Fatalf("%d users from a body that holds %d records (a list of them: %v)", len(plain.Users), n, ok)
		}
	})
}

// checkDecoded is CheckDecoded and CheckDecodedBy, with checkCount the
// check that a page holds the body's records, made once both decodings
// have succeeded.
func checkDecoded(t testing.TB, index, size int, plain, raw httpsource.Page, errPlain, errRaw error, checkCount func()) {
	t.Helper()
	if (errPlain == nil) != (errRaw == nil) {
		t.Fatalf("plain and raw decodings disagree:\nplain: %v\nraw:   %v", errPlain, errRaw)
	}
	if errPlain != nil {
		if errPlain.Error() == "" || errRaw.Error() == "" {
			t.Fatal("an empty error message")
		}
		return
	}
	checkCount()
	if len(raw.Users) != len(plain.Users) || raw.Total != plain.Total || raw.Pages != plain.Pages || raw.Last != plain.Last {
		t.Fatalf("plain and raw pages differ: %d users, %v %v %v; raw %d users, %v %v %v",
			len(plain.Users), plain.Total, plain.Pages, plain.Last, len(raw.Users), raw.Total, raw.Pages, raw.Last)
	}
	for i, u := range plain.Users {
		if u.ID == "" || u.ID != raw.Users[i].ID {
			t.Fatalf("user %d: id %q, raw id %q", i, u.ID, raw.Users[i].ID)
		}
		if u.Raw != nil || !json.Valid(raw.Users[i].Raw) {
			t.Fatalf("user %s: raw %q, include_raw raw %q", u.ID, u.Raw, raw.Users[i].Raw)
		}
	}
	if p := plain.Pages; p.Valid && (p.V < 1 || plain.Last != (index+1 >= p.V)) {
		t.Fatalf("page %d of %d pages, last %v", index, p.V, plain.Last)
	}
	if tot := plain.Total; tot.Valid {
		need := tot.V / int64(size)
		if tot.V%int64(size) != 0 {
			need++
		}
		if tot.V < 0 || !plain.Pages.Valid || int64(plain.Pages.V) < need {
			t.Fatalf("total %d in pages of %d, but %v pages", tot.V, size, plain.Pages)
		}
	}
}

// CheckIDsOnly checks a decoding with IDsOnly against the whole one of the
// same body: a body whose users decode reads as the same page of the same
// ids, keyed alike; one whose ids alone do not decode does not decode
// whole either. The IDs-only read checks less (no timestamps, no types
// off the id), so it may accept a body the whole one refuses.
func CheckIDsOnly(t testing.TB, plain, ids httpsource.Page, errPlain, errIDs error) {
	t.Helper()
	if errIDs != nil {
		if errPlain == nil {
			t.Fatalf("the ids alone do not decode, the whole users do: %v", errIDs)
		}
		return
	}
	if errPlain != nil {
		return
	}
	if len(ids.Users) != len(plain.Users) || ids.Total != plain.Total || ids.Pages != plain.Pages || ids.Last != plain.Last {
		t.Fatalf("whole and IDs-only pages differ: %d users, %v %v %v; IDs only %d users, %v %v %v",
			len(plain.Users), plain.Total, plain.Pages, plain.Last, len(ids.Users), ids.Total, ids.Pages, ids.Last)
	}
	for i, u := range plain.Users {
		if ids.Users[i].ID != u.ID {
			t.Fatalf("user %d: id %q, IDs-only id %q", i, u.ID, ids.Users[i].ID)
		}
	}
}

// ArrayLen decodes body generically and returns the length of the array
// at path (object keys, found as encoding/json finds them, and array
// indexes); ok is false when there is none.
func ArrayLen(body []byte, path ...any) (n int, ok bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber() // numbers beyond float64 are no reason to fail here
	var v any
	if d.Decode(&v) != nil {
		return 0, false
	}
	for _, step := range path {
		switch s := step.(type) {
		case string:
			m, isObj := v.(map[string]any)
			if !isObj {
				return 0, false
			}
			v = member(m, s)
		case int:
			a, isArr := v.([]any)
			if !isArr || s >= len(a) {
				return 0, false
			}
			v = a[s]
		}
	}
	a, ok := v.([]any)
	return len(a), ok
}

// member finds a key as encoding/json does: the exact name, else one
// equal under case folding ("DATA", "reſults").
func member(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// CheckWrongShape checks the test case name of a provider's wrong-shape
// table: decode (plain, then with raw) must fail body with an error that
// contains want, and never give a page instead. With maxLen above 0, the
// error must also be at most maxLen bytes long.
func CheckWrongShape(t testing.TB, name, body, want string, maxLen int,
	decode func(body []byte, raw bool) (httpsource.Page, error),
) {
	t.Helper()
	for _, raw := range []bool{false, true} {
		page, err := decode([]byte(body), raw)
		if maxLen > 0 {
			if err == nil || !strings.Contains(err.Error(), want) || len(err.Error()) > maxLen {
				t.Errorf("%s (raw %v): page of %d users, error %.2000v; want %q", name, raw, len(page.Users), err, want)
			}
		} else if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s (raw %v): page of %d users, error %v; want %q", name, raw, len(page.Users), err, want)
		}
	}
}

// CheckEmptyPage checks page and err, a provider's decoding of the body
// of the test case name, as an empty page that ends the listing, of pages
// pages (null: the body does not say).
func CheckEmptyPage(t testing.TB, name string, page httpsource.Page, err error, pages schema.Null[int]) {
	t.Helper()
	if err != nil || len(page.Users) != 0 || page.Pages != pages || !page.Last {
		t.Errorf("%s: %+v, %v", name, page, err)
	}
}

// CheckHugeName checks that a provider decodes body, a page of one user
// whose name (field gives it) is name, a huge one: decode (plain, then
// with raw) must give that one user with that name, within DecodeBounded's
// bounds for allocFactor. label, if not empty, starts each failure's
// message.
func CheckHugeName(t testing.TB, label string, body []byte, allocFactor uint64, name string,
	field func(schema.User) schema.Null[string], decode func(raw bool) (httpsource.Page, error),
) {
	t.Helper()
	prefix := ""
	if label != "" {
		prefix = label + ", "
	}
	for _, raw := range []bool{false, true} {
		page, err := DecodeBounded(t, body, allocFactor, func() (httpsource.Page, error) {
			return decode(raw)
		})
		if err != nil || len(page.Users) != 1 || field(page.Users[0]) != schema.Some(name) {
			t.Errorf("%sraw %v: %d users, error %v", prefix, raw, len(page.Users), err)
		}
	}
}

// DecodeBounded runs decode and fails the test if it allocates more than
// allocFactor times the body or takes seconds: a decoder that is
// quadratic in some value would take minutes on a 10 MB one.
func DecodeBounded(t testing.TB, body []byte, allocFactor uint64, decode func() (httpsource.Page, error)) (httpsource.Page, error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	page, err := decode()
	took := time.Since(t0)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > allocFactor*uint64(len(body)) {
		t.Errorf("decoding %d bytes allocated %d", len(body), alloc)
	}
	if took > 20*time.Second {
		t.Errorf("decoding %d bytes took %v", len(body), took)
	}
	return page, err
}
