package mctime

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

// simBody is the simulator's answer to a query string, a response as the
// API sends it.
func simBody(tb testing.TB, people *simdata.People, query string) []byte {
	tb.Helper()
	rec := httptest.NewRecorder()
	Simulator(people).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Endpoint+"?"+query, nil))
	if rec.Code != http.StatusOK {
		tb.Fatalf("simulator: HTTP %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// FuzzDecodePage feeds arbitrary bodies to the response decoder, as page
// index of the active or the inactive listing.
func FuzzDecodePage(f *testing.F) {
	doc, err := os.ReadFile(filepath.Join(testdata, "doc-example.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc, uint16(0), true)
	f.Add(simBody(f, &simdata.People{N: 2, Seed: 1}, "page=1"), uint16(0), true)
	people := &simdata.People{N: 50, Seed: 1}
	for _, q := range []struct {
		query  string
		index  uint16
		active bool
	}{
		{"page=1", 0, true},
		{"page=2&inactive=false", 1, true},
		{"page=1&inactive=true", 0, false},
		{"page=9", 8, true},
	} {
		f.Add(simBody(f, people, q.query), q.index, q.active)
	}
	f.Add(simBody(f, &simdata.People{N: 0, Seed: 1}, "page=1"), uint16(0), true)
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"items": [{"data": {}}]}`, `{"items": [{"data": {"users": null}}], "valid": true}`,
		`{"items": [{"data": {"users": {}, "page": "1"}}]}`, `{"items": [{"data": {"users": [], "page": "1", "pageSize": "-1"}}]}`,
		`{"items": [{"data": {"users": [], "page": 1, "pageSize": 99999999999999999999}}]}`,
		`{"items": [{"data": {"users": [{"id": null}, {"id": ""}, {"id": 5}, {"id": ["a"]}]}}]}`,
		`{"items": [{"data": {"users": [{"id": "a"}], "users": []}}]}`,
		`{"items": [{"data": {"users": [{"id": "a"}]}}], "items": [{"data": {"page": "1"}}]}`,
		`{"items": [{"message": "Invalid API key"}], "valid": false, "valid": true}`,
	} {
		f.Add([]byte(s), uint16(0), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, index uint16, active bool) {
		job := httpsource.Job{Name: "fuzz", ExtractedAt: extractedAt}
		plain, errPlain := decodePage(job, body, int(index), active)
		job.IncludeRaw = true
		raw, errRaw := decodePage(job, body, int(index), active)
		checkDecoded(t, body, int(index), PageSize, plain, raw, errPlain, errRaw, "items", 0, "data", "users")
		for _, u := range plain.Users {
			if u.Active.V != active || !u.Active.Valid {
				t.Fatalf("user %s: active %v in the active=%v listing", u.ID, u.Active, active)
			}
		}
	})
}

// checkDecoded checks what every decoded page must satisfy: the plain
// and include_raw decodings agree; an error says something; a page's
// users are exactly the records of the array at path, each with an id;
// and its paging adds up.
func checkDecoded(t *testing.T, body []byte, index, size int, plain, raw httpsource.Page, errPlain, errRaw error, path ...any) {
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
	if n, ok := arrayLen(body, path...); !ok || n != len(plain.Users) {
		t.Fatalf("%d users from a body whose %v holds %d records (array: %v)", len(plain.Users), path, n, ok)
	}
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

// arrayLen decodes body generically and returns the length of the array
// at path (object keys and array indexes); ok is false when there is none.
func arrayLen(body []byte, path ...any) (n int, ok bool) {
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
