package nameshield

import (
	"strings"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// TestWrongShapes: a body that is JSON but not the documented
// UserSearchResult fails the page with an error naming what is wrong; it
// never decodes as an empty page. The docs always send data.results, []
// for none; data.total is an integer; ids are strings.
func TestWrongShapes(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"empty object", `{}`, "the response has no data.results"},
		{"null", `null`, "the response has no data.results"},
		{"an error message", `{"message": "Unauthorized"}`, "the response has no data.results"},
		{"top-level array", `[{"id": "a"}]`, "cannot unmarshal array"},
		{"top-level string", `"OK"`, "cannot unmarshal string"},
		{"data null", `{"message": "OK", "data": null}`, "the response has no data.results"},
		{"data empty", `{"message": "OK", "data": {}}`, "the response has no data.results"},
		{"data a list", `{"data": [{"id": "a"}]}`, "cannot unmarshal array into data ("},
		{"data twice", `{"data": {"results": [{"id": "a"}]}, "data": {"total": 0}}`, "data is sent more than once"},
		{"results null", `{"data": {"total": 0, "results": null}}`, "the response has no data.results"},
		{"results an object", `{"data": {"results": {}}}`, "cannot unmarshal object into data.results ("},
		{"results a string", `{"data": {"results": "[]"}}`, "cannot unmarshal string into data.results ("},
		{"results twice", `{"data": {"results": [{"id": "a"}], "results": []}}`, "data.results is sent more than once"},
		{"results twice, in another case", `{"data": {"results": [{"id": "a"}], "Results": []}}`, "data.results is sent more than once"},
		{"data twice, in another case", `{"Data": {"results": []}, "data": {"results": [{"id": "a"}]}}`, "data is sent more than once"},
		{"total a string", `{"data": {"total": "9", "results": []}}`, "cannot unmarshal string into data.total (int64)"},
		{"total negative", `{"data": {"total": -9, "results": []}}`, "data.total is -9: want a count from 0"},
		{"total past 2^53", `{"data": {"total": 9223372036854775807, "results": [{"id": "a"}]}}`, "data.total is 9223372036854775807"},
		{"total twice", `{"data": {"total": 9, "total": 0, "results": []}}`, "data.total is sent more than once"},
		{"record null", `{"data": {"results": [null]}}`, "results[0]: record has no id"},
		{"record a string", `{"data": {"results": ["a"]}}`, "cannot unmarshal string"},
		{"id null", `{"data": {"results": [{"id": null}]}}`, "results[0]: record has no id"},
		{"id empty", `{"data": {"results": [{"id": "a"}, {"id": ""}]}}`, "results[1]: record has an empty id"},
		{"id a number", `{"data": {"results": [{"id": 5}]}}`, "cannot unmarshal number"},
		{"id an object", `{"data": {"results": [{"id": {"id": "a"}}]}}`, "cannot unmarshal object"},
		{"id a list", `{"data": {"results": [{"id": ["a"]}]}}`, "cannot unmarshal array"},
		{"id twice", `{"data": {"results": [{"id": "a", "id": "b"}]}}`, "results[0]: id is sent more than once"},
		{"customer_id a string", `{"data": {"results": [{"id": "a", "customer_id": "12"}]}}`, "customer_id"},
		{"created_at a number", `{"data": {"results": [{"id": "a", "created_at": 1672531200}]}}`, "created_at"},
		{"trailing data", `{"data": {"results": []}}]`, "invalid character"},
	}
	decode := func(body []byte, raw bool) (httpsource.Page, error) {
		return decodePage(httpsource.Job{Name: "j", IncludeRaw: raw}, body, 0, 10)
	}
	for _, tt := range tests {
		sourcetest.CheckWrongShape(t, tt.name, tt.body, tt.want, 0, decode)
	}
}

// TestEmptyPages: an empty page is what the API sends for no users, or
// for an offset past the end.
func TestEmptyPages(t *testing.T) {
	tests := []struct {
		name, body   string
		index, pages int
	}{
		{"no users", `{"message": "OK", "data": {"total": 0, "limit": 10, "offset": 0, "results": []}}`, 0, 1},
		{"past the end", `{"message": "OK", "data": {"total": 30, "results": []}}`, 3, 3},
	}
	for _, tt := range tests {
		page, err := decodePage(httpsource.Job{}, []byte(tt.body), tt.index, 10)
		sourcetest.CheckEmptyPage(t, tt.name, page, err, schema.Some(tt.pages))
	}
}

// TestHugeName: a 10 MB first name is a name; decoding it costs time and
// memory in proportion.
func TestHugeName(t *testing.T) {
	name := strings.Repeat("é", 5<<20)
	body := []byte(`{"data": {"total": 1, "results": [{"id": "a", "firstname": "` + name + `", "lastname": "Doe"}]}}`)
	sourcetest.CheckHugeName(t, "", body, 8, name, func(u schema.User) schema.Null[string] { return u.FirstName },
		func(raw bool) (httpsource.Page, error) {
			return decodePage(httpsource.Job{IncludeRaw: raw}, body, 0, 10)
		})
}
