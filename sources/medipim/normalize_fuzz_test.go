package medipim

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

// simBody is the simulator's answer to a query, a response as the API
// sends it.
func simBody(tb testing.TB, people *simdata.People, query string) []byte {
	tb.Helper()
	return sourcetest.SimBody(tb, Simulator(people), httptest.NewRequest(http.MethodPost, Endpoint, strings.NewReader(query)))
}

// FuzzDecodePage feeds arbitrary bodies to the response decoder, as page
// index of a listing paged by one of the sizes the API takes.
func FuzzDecodePage(f *testing.F) {
	doc, err := os.ReadFile(filepath.Join(testdata, "doc-fields-example.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc, uint16(0), uint8(0))
	people := &simdata.People{N: 25, Seed: 1}
	for _, no := range []uint16{0, 2, 3} {
		f.Add(simBody(f, people, `{"page": {"no": `+strconv.Itoa(int(no))+`, "size": 10}}`), no, uint8(0))
	}
	f.Add(simBody(f, &simdata.People{N: 0, Seed: 1}, `{"page": {"no": 0, "size": 50}}`), uint16(0), uint8(1))
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"results": {}}`, `{"meta": {"total": 0}, "results": null}`,
		`{"meta": {"total": "3"}, "results": []}`, `{"meta": {"total": -1}, "results": []}`,
		`{"meta": {"total": 9223372036854775807}, "results": [{"id": 1}]}`,
		`{"results": [{"id": null}, {"id": [1]}, {"id": {}}]}`,
		`{"meta": {"total": 1}, "results": [], "results": [{"id": 1}]}`,
		`{"meta": {"total": 1}, "meta": {"total": 0}, "results": [{"id": 1, "name": "\ud800"}]}`,
	} {
		f.Add([]byte(s), uint16(0), uint8(2))
	}
	f.Fuzz(func(t *testing.T, body []byte, index uint16, sizeChoice uint8) {
		size := PageSizes()[int(sizeChoice)%len(PageSizes())]
		job := httpsource.Job{Name: "fuzz", ExtractedAt: extractedAt}
		plain, errPlain := decodePage(job, body, int(index), size)
		job.IncludeRaw = true
		raw, errRaw := decodePage(job, body, int(index), size)
		sourcetest.CheckDecoded(t, body, int(index), size, plain, raw, errPlain, errRaw, "results")
		job.IncludeRaw, job.IDsOnly = false, true
		ids, errIDs := decodePage(job, body, int(index), size)
		sourcetest.CheckIDsOnly(t, plain, ids, errPlain, errIDs)
	})
}
