package requestor

import (
	"strings"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// TestWrongShapes: a body of the right syntax but not the documented
// GetUsersResult fails the page with an error naming what is wrong; it
// never decodes as an empty page. The docs always send PagedUsers with
// Items ([] for no users); TotalItems and TotalPages are integers; a
// UserProviderKey is a string. Both wire forms follow the same rules;
// the XML form writes null as i:nil.
func TestWrongShapes(t *testing.T) {
	key := func(k string) string {
		return `<d3p1:RequestorUser><d3p1:UserProviderKey>` + k + `</d3p1:UserProviderKey></d3p1:RequestorUser>`
	}
	xmlItems := func(items string) string {
		return `<PagedUsers><Items xmlns:d3p1="` + nsData + `">` + items + `</Items><TotalItems>1</TotalItems><TotalPages>1</TotalPages></PagedUsers>`
	}
	result := func(paged string) string {
		return `<GetUsersResult xmlns:i="` + nsInstance + `" xmlns="` + nsResults + `">` + paged + `</GetUsersResult>`
	}
	tests := []struct{ name, form, body, want string }{
		{"empty object", WireJSON, `{}`, "the response has no PagedUsers"},
		{"null", WireJSON, `null`, "the response has no PagedUsers"},
		{"a message", WireJSON, `{"Message": "Authorization has been denied for this request."}`, "the response has no PagedUsers"},
		{"top-level array", WireJSON, `[{"UserProviderKey": "a"}]`, "cannot unmarshal array"},
		{"PagedUsers null", WireJSON, `{"PagedUsers": null}`, "the response has no PagedUsers"},
		{"PagedUsers a list", WireJSON, `{"PagedUsers": []}`, "cannot unmarshal array into PagedUsers ("},
		{"PagedUsers twice", WireJSON, `{"PagedUsers": {"Items": [{"UserProviderKey": "a"}]}, "PagedUsers": {"Items": []}}`, "PagedUsers is sent more than once"},
		{"nested envelope missing", WireJSON, `{"PagedUsers": {}}`, "the response has no PagedUsers.Items"},
		{"only totals", WireJSON, `{"PagedUsers": {"PageIndex": 0, "PageSize": 10, "TotalItems": 2, "TotalPages": 1}}`, "the response has no PagedUsers.Items"},
		{"Items null", WireJSON, `{"PagedUsers": {"TotalItems": 0, "Items": null}}`, "the response has no PagedUsers.Items"},
		{"Items an object", WireJSON, `{"PagedUsers": {"Items": {}}}`, "cannot unmarshal object into PagedUsers.Items ("},
		{"Items a string", WireJSON, `{"PagedUsers": {"Items": ""}}`, "cannot unmarshal string into PagedUsers.Items ("},
		{"Items twice", WireJSON, `{"PagedUsers": {"Items": [{"UserProviderKey": "a"}], "Items": []}}`, "PagedUsers.Items is sent more than once"},
		{"Items twice, in another case", WireJSON, `{"PagedUsers": {"Items": [{"UserProviderKey": "a"}], "items": []}}`, "PagedUsers.Items is sent more than once"},
		{"TotalItems a string", WireJSON, `{"PagedUsers": {"TotalItems": "2", "Items": []}}`, "cannot unmarshal string into PagedUsers.TotalItems (int64)"},
		{"TotalItems negative", WireJSON, `{"PagedUsers": {"TotalItems": -2, "Items": []}}`, "PagedUsers.TotalItems is -2: want a count from 0"},
		{"TotalItems past 2^53", WireJSON, `{"PagedUsers": {"TotalItems": 9223372036854775807, "Items": [{"UserProviderKey": "a"}]}}`,
			"PagedUsers.TotalItems is 9223372036854775807"},
		{"TotalItems twice", WireJSON, `{"PagedUsers": {"TotalItems": 2, "TotalItems": 0, "Items": []}}`, "PagedUsers.TotalItems is sent more than once"},
		{"TotalPages negative", WireJSON, `{"PagedUsers": {"TotalPages": -1, "Items": []}}`, "PagedUsers.TotalPages is -1"},
		{"record null", WireJSON, `{"PagedUsers": {"Items": [null]}}`, "results[0]: record has no UserProviderKey"},
		{"key null", WireJSON, jsonPageOf(`"UserProviderKey": null`), "results[0]: record has no UserProviderKey"},
		{"key empty", WireJSON, jsonPageOf(`"UserProviderKey": ""`), "results[0]: record has an empty UserProviderKey"},
		{"key an object", WireJSON, jsonPageOf(`"UserProviderKey": {}`), "cannot unmarshal object"},
		{"key a list", WireJSON, jsonPageOf(`"UserProviderKey": ["a"]`), "cannot unmarshal array"},
		{"key twice", WireJSON, jsonPageOf(`"UserProviderKey": "a", "UserProviderKey": "b"`), "results[0]: UserProviderKey is sent more than once"},
		{"Phones a string", WireJSON, jsonPageOf(`"UserProviderKey": "a", "Phones": "+1"`), "Phones"},
		{"huge Language", WireJSON, jsonPageOf(`"UserProviderKey": "a", "Language": {"x": "` + strings.Repeat("x", 1<<20) + `"}`),
			`language {"x": "xxx`},
		{"trailing data", WireJSON, jsonPageOf(`"UserProviderKey": "a"`) + `}`, "invalid character"},

		{"no document", WireXML, ``, "decode response: no root element"},
		{"JSON", WireXML, `{"PagedUsers": {"Items": []}}`, "decode response: "},
		{"another root", WireXML, `<UsersFilterPost xmlns="` + nsPosts + `"/>`, "response is <UsersFilterPost> in namespace"},
		{"a huge root name", WireXML, `<` + strings.Repeat("a", 1<<20) + `/>`, "response is <aaaa"},
		{"no PagedUsers", WireXML, result(``), "response has no PagedUsers"},
		{"PagedUsers nil", WireXML, result(`<PagedUsers i:nil="true"/>`), "response has no PagedUsers"},
		{"PagedUsers twice", WireXML, result(xmlItems(key("a")) + `<PagedUsers/>`), "PagedUsers is sent more than once"},
		{"nested envelope missing", WireXML, result(`<PagedUsers/>`), "the response has no PagedUsers.Items"},
		{"Items in another namespace", WireXML, result(`<PagedUsers><d3p1:Items xmlns:d3p1="` + nsData + `"/></PagedUsers>`),
			"the response has no PagedUsers.Items"},
		{"Items nil", WireXML, result(`<PagedUsers><Items i:nil="true"/><TotalItems>0</TotalItems></PagedUsers>`), "PagedUsers.Items is null"},
		{"Items nil with users", WireXML, strings.Replace(result(xmlItems(key("a"))), "<Items ", `<Items i:nil="true" `, 1), "PagedUsers.Items is null"},
		{"Items twice", WireXML, strings.Replace(result(xmlItems(key("a"))), "</Items>", "</Items><Items/>", 1), "PagedUsers.Items is sent more than once"},
		{"Items holds text", WireXML, result(xmlItems(`users`)), "PagedUsers.Items holds text, not RequestorUser elements"},
		{"a huge element in Items", WireXML, result(xmlItems(`<` + strings.Repeat("u", 1<<20) + `/>`)), "results[0]: Items holds <uuu"},
		{"TotalItems a word", WireXML, strings.Replace(result(xmlItems(key("a"))), "<TotalItems>1", "<TotalItems>one", 1), `TotalItems: "one" is not an integer`},
		{"TotalItems negative", WireXML, strings.Replace(result(xmlItems(key("a"))), "<TotalItems>1", "<TotalItems>-1", 1), "PagedUsers.TotalItems is -1"},
		{"TotalItems twice", WireXML, strings.Replace(result(xmlItems(key("a"))), "</PagedUsers>", "<TotalItems>0</TotalItems></PagedUsers>", 1),
			"PagedUsers.TotalItems is sent more than once"},
		{"key nil", WireXML, result(xmlItems(`<d3p1:RequestorUser><d3p1:UserProviderKey i:nil="true"/></d3p1:RequestorUser>`)),
			"results[0]: record has no UserProviderKey"},
		{"key empty", WireXML, result(xmlItems(key(""))), "results[0]: record has an empty UserProviderKey"},
		{"key twice", WireXML, result(xmlItems(`<d3p1:RequestorUser><d3p1:UserProviderKey>a</d3p1:UserProviderKey>` +
			`<d3p1:UserProviderKey>b</d3p1:UserProviderKey></d3p1:RequestorUser>`)), "results[0]: UserProviderKey is sent more than once"},
		{"key in another namespace", WireXML, result(xmlItems(`<d3p1:RequestorUser><UserProviderKey>a</UserProviderKey></d3p1:RequestorUser>`)),
			"results[0]: record has no UserProviderKey"},
	}
	for _, tt := range tests {
		sourcetest.CheckWrongShape(t, tt.form+" "+tt.name, tt.body, tt.want, 1000, func(body []byte, raw bool) (httpsource.Page, error) {
			return decodePage(httpsource.Job{Name: "j", WireFormat: tt.form, IncludeRaw: raw}, body, 0, 10)
		})
	}
}

// TestEmptyPages: an empty page is what the API sends for no users, or
// for a page past the end.
func TestEmptyPages(t *testing.T) {
	tests := []struct {
		name, form, body string
		index            int
	}{
		{"no users", WireJSON, `{"PagedUsers": {"PageIndex": 0, "PageSize": 10, "TotalItems": 0, "TotalPages": 0, "Items": []}}`, 0},
		{"past the end", WireJSON, `{"PagedUsers": {"TotalItems": 30, "TotalPages": 3, "Items": []}}`, 3},
		{"no users", WireXML, xmlPage(``, 0, 0), 0},
		{"past the end", WireXML, xmlPage(``, 30, 3), 3},
	}
	for _, tt := range tests {
		page, err := decodePage(httpsource.Job{WireFormat: tt.form}, []byte(tt.body), tt.index, 10)
		if err != nil || len(page.Users) != 0 || !page.Pages.Valid || !page.Last {
			t.Errorf("%s %s: %+v, %v", tt.form, tt.name, page, err)
		}
	}
}

// TestHugeName: a 10 MB first name is a name, in either form; decoding
// it costs time and memory in proportion.
func TestHugeName(t *testing.T) {
	name := strings.Repeat("é", 5<<20) + " & Co"
	bodies := map[string]string{
		WireJSON: jsonPageOf(`"UserProviderKey": "a", "FirstName": "` + name + `"`),
		WireXML:  xmlPageOf(`<d3p1:FirstName>` + strings.ReplaceAll(name, "&", "&amp;") + `</d3p1:FirstName><d3p1:UserProviderKey>a</d3p1:UserProviderKey>`),
	}
	// The XML form's raw JSON of a long text takes about 12 times the body
	// (appendJSON): DecodeBounded allows it 16.
	for form, body := range bodies {
		sourcetest.CheckHugeName(t, form, []byte(body), 16, name, func(u schema.User) schema.Null[string] { return u.FirstName },
			func(raw bool) (httpsource.Page, error) {
				return decodePage(httpsource.Job{WireFormat: form, IncludeRaw: raw}, []byte(body), 0, 10)
			})
	}
}
