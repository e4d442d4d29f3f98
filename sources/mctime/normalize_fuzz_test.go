package mctime

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
	return sourcetest.SimBody(tb, Simulator(people), httptest.NewRequest(http.MethodGet, Endpoint+"?"+query, nil))
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
		sourcetest.CheckDecoded(t, body, int(index), PageSize, plain, raw, errPlain, errRaw, "items", 0, "data", "users")
		job.IncludeRaw, job.IDsOnly = false, true
		ids, errIDs := decodePage(job, body, int(index), active)
		sourcetest.CheckIDsOnly(t, plain, ids, errPlain, errIDs)
		for _, u := range plain.Users {
			if u.Active.V != active || !u.Active.Valid {
				t.Fatalf("user %s: active %v in the active=%v listing", u.ID, u.Active, active)
			}
		}
	})
}
