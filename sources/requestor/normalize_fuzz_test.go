package requestor

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

// simBody is the simulator's answer, in form, to a request for page
// index of size users, a response as the API sends it.
func simBody(tb testing.TB, people *simdata.People, form string, index, size int) []byte {
	tb.Helper()
	post, problems := parseJob(httpsource.Job{})
	if len(problems) > 0 {
		tb.Fatal(problems)
	}
	post.PageIndex, post.PageSize = index, size
	body, mediaType := post.xml(), "application/xml"
	if form == WireJSON {
		var err error
		if body, err = json.Marshal(&post); err != nil {
			tb.Fatal(err)
		}
		mediaType = "application/json"
	}
	req := httptest.NewRequest(http.MethodPost, Endpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", mediaType)
	req.Header.Set("Accept", mediaType)
	return sourcetest.SimBody(tb, Simulator(people), req)
}

// addSeeds adds the docs' example and simulated pages in form, then
// hand-written bodies of the wrong shape.
func addSeeds(f *testing.F, form string, wrong []string) {
	doc, err := os.ReadFile(filepath.Join(testdata, "doc-example."+form))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc, uint16(0), uint16(200))
	people := &simdata.People{N: 25, Seed: 1}
	for _, index := range []int{0, 2, 3} {
		f.Add(simBody(f, people, form, index, 10), uint16(index), uint16(10))
	}
	f.Add(simBody(f, &simdata.People{N: 0, Seed: 1}, form, 0, 200), uint16(0), uint16(200))
	for _, s := range wrong {
		f.Add([]byte(s), uint16(0), uint16(10))
	}
}

// fuzzDecode decodes body as page index of size users in form, plain and
// with raw, and checks both.
func fuzzDecode(t *testing.T, form string, body []byte, index, pageSize uint16, oracle func() (int, bool)) {
	size := 1 + int(pageSize)%MaxPageSize
	job := httpsource.Job{Name: "fuzz", WireFormat: form, ExtractedAt: extractedAt}
	plain, errPlain := decodePage(job, body, int(index), size)
	job.IncludeRaw = true
	raw, errRaw := decodePage(job, body, int(index), size)
	sourcetest.CheckDecodedBy(t, oracle, int(index), size, plain, raw, errPlain, errRaw)
	job.IncludeRaw, job.IDsOnly = false, true
	ids, errIDs := decodePage(job, body, int(index), size)
	sourcetest.CheckIDsOnly(t, plain, ids, errPlain, errIDs)
}

// FuzzDecodePageJSON feeds arbitrary bodies to the decoder of the JSON
// form, as page index of a listing paged by size.
func FuzzDecodePageJSON(f *testing.F) {
	addSeeds(f, WireJSON, []string{
		`{}`, `[]`, `null`, `{"PagedUsers": null}`, `{"PagedUsers": {}}`, `{"PagedUsers": {"Items": null, "TotalItems": 0}}`,
		`{"PagedUsers": {"Items": {}}}`, `{"PagedUsers": {"TotalItems": "3", "Items": []}}`,
		`{"PagedUsers": {"TotalItems": -1, "TotalPages": -1, "Items": []}}`,
		`{"PagedUsers": {"TotalItems": 9223372036854775807, "Items": [{"UserProviderKey": "a"}]}}`,
		`{"PagedUsers": {"Items": [{"UserProviderKey": null}, {"UserProviderKey": ""}, {"UserProviderKey": 5}]}}`,
		`{"PagedUsers": {"Items": [{"UserProviderKey": "a"}], "Items": []}}`,
		`{"PagedUsers": {"Items": [{"UserProviderKey": "a", "Language": 7, "Phones": ["1"], "LastUpdatedUtc": "2023-05-01T10:20:30.1234567Z"}]}}`,
	})
	f.Fuzz(func(t *testing.T, body []byte, index, pageSize uint16) {
		fuzzDecode(t, WireJSON, body, index, pageSize, func() (int, bool) { return sourcetest.ArrayLen(body, "PagedUsers", "Items") })
	})
}

// FuzzDecodePageXML feeds arbitrary bodies to the decoder of the XML
// form, as page index of a listing paged by size.
func FuzzDecodePageXML(f *testing.F) {
	page := func(paged string) string {
		return `<GetUsersResult xmlns:i="` + nsInstance + `" xmlns="` + nsResults + `">` + paged + `</GetUsersResult>`
	}
	items := `<Items xmlns:d3p1="` + nsData + `">`
	addSeeds(f, WireXML, []string{
		``, `<a/>`, page(``), page(`<PagedUsers i:nil="true"/>`), page(`<PagedUsers/>`),
		page(`<PagedUsers><Items i:nil="true"/><TotalItems>0</TotalItems></PagedUsers>`),
		page(`<PagedUsers>` + items + `</Items><TotalItems>-1</TotalItems><TotalPages>x</TotalPages></PagedUsers>`),
		page(`<PagedUsers>` + items + `<d3p1:RequestorUser><d3p1:UserProviderKey>a</d3p1:UserProviderKey></d3p1:RequestorUser></Items>` +
			`<Items/><TotalItems>9223372036854775807</TotalItems></PagedUsers>`),
		page(`<PagedUsers>` + items + `<d3p1:RequestorUser><d3p1:UserProviderKey i:nil="true"/></d3p1:RequestorUser>` +
			`<d3p1:RequestorUser><d3p1:UserProviderKey/></d3p1:RequestorUser><RequestorUser/></Items></PagedUsers>`),
	})
	f.Fuzz(func(t *testing.T, body []byte, index, pageSize uint16) {
		fuzzDecode(t, WireXML, body, index, pageSize, func() (int, bool) { return xmlUsers(body) })
	})
}

// xmlResult is GetUsersResult as encoding/xml reads it, apart from
// parseXML: its RequestorUser elements, wherever PagedUsers and Items are.
type xmlResult struct {
	XMLName xml.Name `xml:"http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Results GetUsersResult"`
	Paged   []struct {
		Items []struct {
			Users []struct{} `xml:"http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.DataStructures RequestorUser"`
		} `xml:"http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Results Items"`
	} `xml:"http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Results PagedUsers"`
}

// xmlUsers counts the users of the one Items of the one PagedUsers.
func xmlUsers(body []byte) (int, bool) {
	var r xmlResult
	if xml.Unmarshal(body, &r) != nil || len(r.Paged) != 1 || len(r.Paged[0].Items) != 1 {
		return 0, false
	}
	return len(r.Paged[0].Items[0].Users), true
}
