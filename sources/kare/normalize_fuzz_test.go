package kare

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

// simBody is the simulator's answer to a query string, a response as the
// API sends it.
func simBody(tb testing.TB, people *simdata.People, query string) []byte {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, Endpoint+"?"+query, nil)
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("x-session-token", "s")
	return sourcetest.SimBody(tb, Simulator(people), req)
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
		sourcetest.CheckDecoded(t, body, int(index), size, plain, raw, errPlain, errRaw, "data")
		job.IncludeRaw, job.IDsOnly = false, true
		ids, errIDs := decodePage(job, body, int(index), size)
		sourcetest.CheckIDsOnly(t, plain, ids, errPlain, errIDs)
	})
}
