package nameshield

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

// simBody is the simulator's answer to a query, a response as the API
// sends it.
func simBody(tb testing.TB, people *simdata.People, limit, offset int) []byte {
	tb.Helper()
	target := Endpoint + "?limit=" + strconv.Itoa(limit) + "&offset=" + strconv.Itoa(offset)
	return sourcetest.SimBody(tb, Simulator(people), httptest.NewRequest(http.MethodGet, target, nil))
}

// FuzzDecodePage feeds arbitrary bodies to the response decoder, as page
// index of a listing paged by limit.
func FuzzDecodePage(f *testing.F) {
	doc, err := os.ReadFile(filepath.Join(testdata, "doc-example.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc, uint16(1), uint16(2))
	people := &simdata.People{N: 25, Seed: 1}
	for _, index := range []uint16{0, 2, 3} {
		f.Add(simBody(f, people, 10, int(index)*10), index, uint16(10))
	}
	f.Add(simBody(f, &simdata.People{N: 0, Seed: 1}, 500, 0), uint16(0), uint16(500))
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"data": {}}`, `{"data": null}`, `{"data": {"total": 0, "results": null}}`,
		`{"data": {"results": {}}}`, `{"data": {"total": "3", "results": []}}`, `{"data": {"total": -1, "results": []}}`,
		`{"data": {"total": 9223372036854775807, "results": [{"id": "a"}]}}`,
		`{"data": {"results": [{"id": null}, {"id": ""}, {"id": 5}, {"id": ["a"]}]}}`,
		`{"data": {"total": 1, "results": [], "results": [{"id": "a"}]}}`,
		`{"data": {"results": [{"id": "a"}]}, "data": {"total": 0}}`,
		`{"data": {"results": [{"id": "a", "expires_at": "2050-12-25T00:00:00+01:00", "created_at": ""}]}}`,
	} {
		f.Add([]byte(s), uint16(0), uint16(100))
	}
	f.Fuzz(func(t *testing.T, body []byte, index, limit uint16) {
		size := 1 + int(limit)%MaxPageSize
		job := httpsource.Job{Name: "fuzz", ExtractedAt: extractedAt}
		plain, errPlain := decodePage(job, body, int(index), size)
		job.IncludeRaw = true
		raw, errRaw := decodePage(job, body, int(index), size)
		sourcetest.CheckDecoded(t, body, int(index), size, plain, raw, errPlain, errRaw, "data", "results")
		job.IncludeRaw, job.IDsOnly = false, true
		ids, errIDs := decodePage(job, body, int(index), size)
		sourcetest.CheckIDsOnly(t, plain, ids, errPlain, errIDs)
	})
}
