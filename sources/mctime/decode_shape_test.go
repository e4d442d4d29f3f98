package mctime

import (
	"strings"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// TestWrongShapes: a body that is JSON but not the documented response
// fails the page with an error naming what is wrong; it never decodes as
// an empty page. The docs always send items[0].data.users, [] for no
// users; page and pageSize are integers sent as strings; ids are strings.
func TestWrongShapes(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"empty object", `{}`, "the response has no items"},
		{"null", `null`, "the response has no items"},
		{"top-level array", `[{"data": {"users": []}}]`, "cannot unmarshal array"},
		{"items null", `{"items": null, "valid": true}`, "the response has no items"},
		{"items an object", `{"items": {"data": {"users": []}}}`, "cannot unmarshal object into items ("},
		{"items twice", `{"items": [{"data": {"users": [{"id": "a"}]}}], "items": [{"data": {"page": "1"}}]}`, "items is sent more than once"},
		{"item null", `{"items": [null]}`, "items[0] has no data"},
		{"data null", `{"items": [{"message": "Success", "data": null}]}`, `items[0] has no data: "Success"`},
		{"data a list", `{"items": [{"data": []}]}`, "cannot unmarshal array into items.data ("},
		{"data twice", `{"items": [{"data": {"users": [{"id": "a"}]}, "data": {"users": []}}]}`, "items.data is sent more than once"},
		{"nested envelope missing", `{"items": [{"data": {}}], "valid": true}`, "the response has no items[0].data.users"},
		{"users null", `{"items": [{"data": {"users": null, "page": "1", "pageSize": "1"}}]}`, "the response has no items[0].data.users"},
		{"users an object", `{"items": [{"data": {"users": {}}}]}`, "cannot unmarshal object into items.data.users ("},
		{"users a string", `{"items": [{"data": {"users": ""}}]}`, "cannot unmarshal string into items.data.users ("},
		{"users twice", `{"items": [{"data": {"users": [{"id": "a"}], "users": []}}]}`, "items.data.users is sent more than once"},
		{"users twice, in another case", `{"items": [{"data": {"users": [{"id": "a"}], "Users": []}}]}`, "items.data.users is sent more than once"},
		{"valid twice", `{"items": [{"message": "Invalid API key"}], "valid": false, "valid": true}`, "valid is sent more than once"},
		{"valid a string", `{"items": [{"data": {"users": []}}], "valid": "true"}`, "cannot unmarshal string into valid (bool)"},
		{"page a word", `{"items": [{"data": {"users": [], "page": "one"}}]}`, `page: want a non-negative integer, got "one"`},
		{"page negative", `{"items": [{"data": {"users": [], "page": "-1"}}]}`, `page: want a non-negative integer, got "-1"`},
		{"page a list", `{"items": [{"data": {"users": [], "page": ["1"]}}]}`, `page: want a non-negative integer, got ["1"]`},
		{"page twice", `{"items": [{"data": {"users": [], "page": "1", "page": "2"}}]}`, "items[0].data.page is sent more than once"},
		{"pageSize fractional", `{"items": [{"data": {"users": [], "pageSize": "1.5"}}]}`, `pageSize: want a non-negative integer, got "1.5"`},
		{"pageSize beyond int", `{"items": [{"data": {"users": [], "pageSize": "99999999999999999999"}}]}`, "pageSize: want a non-negative integer"},
		{"huge pageSize", `{"items": [{"data": {"users": [], "pageSize": "` + strings.Repeat("9", 1<<20) + `"}}]}`,
			`pageSize: want a non-negative integer, got "99999`},
		{"record null", `{"items": [{"data": {"users": [null]}}]}`, "results[0]: record has no id"},
		{"id null", `{"items": [{"data": {"users": [{"id": null}]}}]}`, "results[0]: record has no id"},
		{"id empty", `{"items": [{"data": {"users": [{"id": "a"}, {"id": ""}]}}]}`, "results[1]: record has an empty id"},
		{"id a number", `{"items": [{"data": {"users": [{"id": 123}]}}]}`, "cannot unmarshal number"},
		{"id an object", `{"items": [{"data": {"users": [{"id": {}}]}}]}`, "cannot unmarshal object"},
		{"id a list", `{"items": [{"data": {"users": [{"id": ["a"]}]}}]}`, "cannot unmarshal array"},
		{"id twice", `{"items": [{"data": {"users": [{"id": "a", "id": "b"}]}}]}`, "results[0]: id is sent more than once"},
		{"email a number", `{"items": [{"data": {"users": [{"id": "a", "email": 1}]}}]}`, "email"},
		{"trailing data", `{"items": []}]`, "invalid character"},
	}
	decode := func(body []byte, raw bool) (httpsource.Page, error) {
		return decodePage(httpsource.Job{Name: "j", IncludeRaw: raw}, body, 0, true)
	}
	for _, tt := range tests {
		sourcetest.CheckWrongShape(t, tt.name, tt.body, tt.want, 1000, decode)
	}
}

// TestEmptyPages: an empty page is what the API sends for no users, or
// for a page past the end.
func TestEmptyPages(t *testing.T) {
	tests := []struct {
		name, body string
		index      int
		pages      schema.Null[int]
	}{
		{"no users", `{"items": [{"message": "Success", "data": {"users": [], "page": "1", "pageSize": "0"}}], "valid": true}`, 0, schema.Some(1)},
		{"past the end", `{"items": [{"data": {"users": [], "page": "4", "pageSize": "3"}}], "valid": true}`, 3, schema.Some(3)},
		{"no count", `{"items": [{"data": {"users": []}}]}`, 5, schema.Null[int]{}},
	}
	for _, tt := range tests {
		page, err := decodePage(httpsource.Job{}, []byte(tt.body), tt.index, true)
		sourcetest.CheckEmptyPage(t, tt.name, page, err, tt.pages)
	}
}

// TestHugeName: a 10 MB first name is a name; decoding it costs time and
// memory in proportion.
func TestHugeName(t *testing.T) {
	name := strings.Repeat("é", 5<<20)
	body := []byte(`{"items": [{"data": {"users": [{"id": "a", "firstName": "` + name + `"}], "page": "1", "pageSize": "1"}}], "valid": true}`)
	sourcetest.CheckHugeName(t, "", body, 8, name, func(u schema.User) schema.Null[string] { return u.FirstName },
		func(raw bool) (httpsource.Page, error) {
			return decodePage(httpsource.Job{IncludeRaw: raw}, body, 0, true)
		})
}
