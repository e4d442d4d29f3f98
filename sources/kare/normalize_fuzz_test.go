package kare

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
	req := httptest.NewRequest(http.MethodGet, Endpoint+"?"+query, nil)
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("x-session-token", "s")
	Simulator(people).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("simulator: HTTP %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// FuzzDecodePage feeds arbitrary bodies to the response decoder, as page
// index of a listing paged by size.
func FuzzDecodePage(f *testing.F) {
	doc, err := os.ReadFile(filepath.Join(testdata, "doc-example.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc, uint16(0), uint16(50))
	f.Add(simBody(f, &simdata.People{N: 1, Seed: 1}, "includeCount=true"), uint16(0), uint16(50))
	people := &simdata.People{N: 25, Seed: 1}
	for _, q := range []struct {
		query       string
		index, size uint16
	}{
		{"page=1&pageSize=10&includeCount=true&extend=organization", 0, 10},
		{"page=3&pageSize=10&includeCount=true&whereIsDeleted=true", 2, 10},
		{"page=4&pageSize=10&includeCount=true", 3, 10},
		{"page=2&pageSize=10", 1, 10},
	} {
		f.Add(simBody(f, people, q.query), q.index, q.size)
	}
	f.Add(simBody(f, &simdata.People{N: 0, Seed: 1}, "includeCount=true"), uint16(0), uint16(50))
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"data": null, "totalCount": 0}`, `{"data": {}}`, `{"data": "[]"}`,
		`{"data": [], "totalCount": "3"}`, `{"data": [], "totalCount": -1}`,
		`{"data": [{"id": 1}], "totalCount": 9223372036854775807}`,
		`{"data": [{"id": null}, {"id": "1"}, {"id": [1]}, {"id": 1.5}]}`,
		`{"data": [], "data": [{"id": 1}], "totalCount": 1}`,
		`{"data": [{"id": 1, "organization": {"id": "o-1"}, "organizationId": 7, "deletedAt": ""}]}`,
	} {
		f.Add([]byte(s), uint16(0), uint16(50))
	}
	f.Fuzz(func(t *testing.T, body []byte, index, pageSize uint16) {
		size := 1 + int(pageSize)%MaxPageSize
		job := httpsource.Job{Name: "fuzz", ExtractedAt: extractedAt}
		plain, errPlain := decodePage(job, body, int(index), size)
		job.IncludeRaw = true
		raw, errRaw := decodePage(job, body, int(index), size)
		checkDecoded(t, body, int(index), size, plain, raw, errPlain, errRaw, "data")
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
