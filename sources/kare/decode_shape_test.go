package kare

import (
	"strings"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// TestWrongShapes: a body that is JSON but not the documented list of
// users fails the page with an error naming what is wrong; it never
// decodes as an empty page. The docs mark data required, [] for no users;
// totalCount is an integer, sent on includeCount=true; ids are integers.
func TestWrongShapes(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"empty object", `{}`, "the response has no data"},
		{"null", `null`, "the response has no data"},
		{"only a count", `{"totalCount": 3, "pagination": {"page": 1, "pageSize": 50}}`, "the response has no data"},
		{"an error message", `{"statusCode": 401, "message": "Unauthorized"}`, "the response has no data"},
		{"top-level array", `[{"id": 1}]`, "cannot unmarshal array"},
		{"data null", `{"data": null, "totalCount": 0}`, "the response has no data"},
		{"data an object", `{"data": {"users": []}}`, "cannot unmarshal object into data ("},
		{"data a string", `{"data": "[]"}`, "cannot unmarshal string into data ("},
		{"data twice", `{"data": [{"id": 1}], "data": []}`, "data is sent more than once"},
		{"data twice, in another case", `{"data": [{"id": 1}], "DATA": []}`, "data is sent more than once"},
		{"totalCount a string", `{"data": [], "totalCount": "100"}`, "cannot unmarshal string into totalCount (int64)"},
		{"totalCount negative", `{"data": [], "totalCount": -100}`, "totalCount is -100: want a count from 0"},
		{"totalCount past 2^53", `{"data": [{"id": 1}], "totalCount": 9223372036854775807}`, "totalCount is 9223372036854775807"},
		{"totalCount twice", `{"data": [], "totalCount": 100, "totalCount": 0}`, "totalCount is sent more than once"},
		{"record null", `{"data": [null]}`, "results[0]: record has no id"},
		{"record a number", `{"data": [1]}`, "cannot unmarshal number"},
		{"id null", `{"data": [{"id": null, "key": "k"}]}`, "results[0]: record has no id"},
		{"id a string", `{"data": [{"id": "1"}]}`, "cannot unmarshal string"},
		{"id an object", `{"data": [{"id": {}}]}`, "cannot unmarshal object"},
		{"id a list", `{"data": [{"id": [1]}]}`, "cannot unmarshal array"},
		{"id twice", `{"data": [{"id": 1, "id": 2}]}`, "results[0]: id is sent more than once"},
		{"organization id a list", `{"data": [{"id": 1, "organizationId": [1]}]}`, "organization id must be a number or a string, got [1]"},
		{"huge organization id", `{"data": [{"id": 1, "organization": {"id": [` + strings.Repeat(`"x",`, 1<<18) + `"x"]}}]}`,
			`organization id must be a number or a string, got ["x","x",`},
		{"deletedAt a number", `{"data": [{"id": 1, "deletedAt": 1734256800}]}`, "deletedAt"},
		{"trailing data", `{"data": []}}`, "invalid character"},
	}
	decode := func(body []byte, raw bool) (httpsource.Page, error) {
		return decodePage(httpsource.Job{Name: "j", IncludeRaw: raw}, body, 0, 10)
	}
	for _, tt := range tests {
		sourcetest.CheckWrongShape(t, tt.name, tt.body, tt.want, 1000, decode)
	}
}

// TestEmptyPages: an empty page is what the API sends for no users, or
// for a page past the end; without totalCount, it ends the listing.
func TestEmptyPages(t *testing.T) {
	tests := []struct {
		name, body string
		index      int
		pages      schema.Null[int]
	}{
		{"no users", `{"data": [], "totalCount": 0, "pagination": {"page": 1, "pageSize": 10}}`, 0, schema.Some(1)},
		{"past the end", `{"data": [], "totalCount": 30}`, 3, schema.Some(3)},
		{"no count", `{"data": []}`, 5, schema.Null[int]{}},
	}
	for _, tt := range tests {
		page, err := decodePage(httpsource.Job{}, []byte(tt.body), tt.index, 10)
		sourcetest.CheckEmptyPage(t, tt.name, page, err, tt.pages)
	}
}

// TestHugeName: a 10 MB first name is a name; decoding it costs time and
// memory in proportion.
func TestHugeName(t *testing.T) {
	name := strings.Repeat("é", 5<<20)
	body := []byte(`{"data": [{"id": 1, "firstName": "` + name + `", "lastName": "Doe"}], "totalCount": 1}`)
	sourcetest.CheckHugeName(t, "", body, 8, name, func(u schema.User) schema.Null[string] { return u.FirstName },
		func(raw bool) (httpsource.Page, error) {
			return decodePage(httpsource.Job{IncludeRaw: raw}, body, 0, 10)
		})
}
