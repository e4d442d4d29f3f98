package medipim

import (
	"strings"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// TestWrongShapes: a body that is JSON but not the documented response
// fails the page with an error naming what is wrong; it never decodes as
// an empty page. The docs always send results, [] for none; meta.total
// is an integer.
func TestWrongShapes(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"empty object", `{}`, "the response has no results"},
		{"null", `null`, "the response has no results"},
		{"only meta", `{"meta": {"total": 3}}`, "the response has no results"},
		{"top-level array", `[{"id": 1}]`, "cannot unmarshal array"},
		{"top-level string", `"results"`, "cannot unmarshal string"},
		{"results null", `{"meta": {"total": 0}, "results": null}`, "the response has no results"},
		{"results an object", `{"results": {}}`, "cannot unmarshal object into results"},
		{"results a string", `{"results": "[]"}`, "cannot unmarshal string into results"},
		{"results a number", `{"results": 0}`, "cannot unmarshal number into results"},
		{"results twice", `{"results": [{"id": 1}], "results": []}`, "results is sent more than once"},
		{"results twice, in another case", `{"results": [{"id": 1}], "RESULTS": []}`, "results is sent more than once"},
		{"results twice, escaped", `{"results": [{"id": 1}], "\u0072esults": []}`, "results is sent more than once"},
		{"meta twice", `{"meta": {"total": 1}, "meta": {"total": 0}, "results": []}`, "meta.total is sent more than once"},
		{"meta a list", `{"meta": [], "results": []}`, "cannot unmarshal array into meta"},
		{"total a string", `{"meta": {"total": "3"}, "results": []}`, "cannot unmarshal string into meta.total"},
		{"total fractional", `{"meta": {"total": 2.5}, "results": []}`, "cannot unmarshal number 2.5 into meta.total"},
		{"total negative", `{"meta": {"total": -1}, "results": []}`, "meta.total is -1: want a count from 0"},
		{"total past 2^53", `{"meta": {"total": 9223372036854775807}, "results": [{"id": 1}]}`, "meta.total is 9223372036854775807"},
		{"total beyond int64", `{"meta": {"total": 1e30}, "results": []}`, "cannot unmarshal number 1e30 into meta.total"},
		{"total twice", `{"meta": {"total": 1, "total": 0}, "results": []}`, "meta.total is sent more than once"},
		{"total twice, in another case", `{"meta": {"total": 1, "Total": 0}, "results": []}`, "meta.total is sent more than once"},
		{"record null", `{"results": [null]}`, "results[0]: record has no id"},
		{"record a number", `{"results": [{"id": 1}, 2]}`, "cannot unmarshal number"},
		{"record a list", `{"results": [[]]}`, "cannot unmarshal array"},
		{"id null", `{"results": [{"id": null}]}`, "results[0]: record has no id"},
		{"id missing", `{"results": [{"id": 1}, {"name": "x"}]}`, "results[1]: record has no id"},
		{"id a string", `{"results": [{"id": "1"}]}`, "cannot unmarshal string"},
		{"id an object", `{"results": [{"id": {}}]}`, "cannot unmarshal object"},
		{"id a list", `{"results": [{"id": [1]}]}`, "cannot unmarshal array"},
		{"id fractional", `{"results": [{"id": 1.5}]}`, "cannot unmarshal number 1.5"},
		{"id twice", `{"results": [{"id": 1, "id": 2}]}`, "results[0]: id is sent more than once"},
		{"organization a string", `{"results": [{"id": 1, "organization": "7"}]}`, "organization"},
		{"createdAt a date", `{"results": [{"id": 1, "meta": {"createdAt": "2024-01-01"}}]}`, "createdAt"},
		{"trailing data", `{"results": []} {"results": []}`, "invalid character"},
	}
	decode := func(body []byte, raw bool) (httpsource.Page, error) {
		return decodePage(httpsource.Job{Name: "j", IncludeRaw: raw}, body, 0, 10)
	}
	for _, tt := range tests {
		sourcetest.CheckWrongShape(t, tt.name, tt.body, tt.want, 0, decode)
	}
}

// TestEmptyPages: an empty page is what the API sends for no users, or
// for a page past the end.
func TestEmptyPages(t *testing.T) {
	tests := []struct {
		name, body   string
		index, pages int
	}{
		{"no users", `{"meta": {"total": 0, "page": {"no": 0, "offset": 0, "size": 10}}, "results": []}`, 0, 1},
		{"past the end", `{"meta": {"total": 30}, "results": []}`, 3, 3},
	}
	for _, tt := range tests {
		page, err := decodePage(httpsource.Job{}, []byte(tt.body), tt.index, 10)
		sourcetest.CheckEmptyPage(t, tt.name, page, err, schema.Some(tt.pages))
	}
}

// TestHugeName: a 10 MB name is a name; decoding it costs time and memory
// in proportion.
func TestHugeName(t *testing.T) {
	name := strings.Repeat("é", 5<<20)
	body := []byte(`{"meta": {"total": 1}, "results": [{"id": 1, "name": "` + name + `"}]}`)
	sourcetest.CheckHugeName(t, "", body, 8, name, func(u schema.User) schema.Null[string] { return u.FullName },
		func(raw bool) (httpsource.Page, error) {
			return decodePage(httpsource.Job{IncludeRaw: raw}, body, 0, 10)
		})
}

// The confirming read (IDsOnly) takes a records member sent twice as the
// decoder does, the last one, where the whole decoding refuses the body:
// that read writes nothing, and ids that differ from the first read's make
// the job read again, which refuses such a body.
func TestIDsOnlyTakesTheLastOfRecordsSentTwice(t *testing.T) {
	body := []byte(`{"meta": {"total": 1}, "results": [], "Results": [{"id": 2}]}`)
	if _, err := decodePage(httpsource.Job{}, body, 0, 10); err == nil || !strings.Contains(err.Error(), "results is sent more than once") {
		t.Errorf("whole decoding: err %v, want results is sent more than once", err)
	}
	page, err := decodePage(httpsource.Job{IDsOnly: true}, body, 0, 10)
	if err != nil || len(page.Users) != 1 || page.Users[0].ID != "2" {
		t.Errorf("IDs only: err %v, users %v, want the one of the last results", err, page.Users)
	}
}
