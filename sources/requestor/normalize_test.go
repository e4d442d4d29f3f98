package requestor

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

const testdata = "../../testdata/providers/requestor"

var extractedAt = time.Date(2024, 10, 10, 12, 0, 0, 0, time.UTC)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGoldenDocExample(t *testing.T) {
	for _, form := range []string{WireJSON, WireXML} {
		t.Run(form, func(t *testing.T) {
			// The docs' response: page 0 of 200 users, 2 users in all.
			job := httpsource.Job{Name: "requestor-" + form, WireFormat: form, ExtractedAt: extractedAt}
			page := sourcetest.DecodeGolden(t,
				filepath.Join(testdata, "doc-example."+form), filepath.Join(testdata, "doc-example-"+form+".golden.jsonl"), job,
				func(job httpsource.Job, body []byte) (httpsource.Page, error) { return decodePage(job, body, 0, 200) })
			if page.Total != schema.Some(int64(2)) || page.Pages != schema.Some(1) || !page.Last {
				t.Errorf("page: total %v, pages %v, last %v; want 2, 1, true", page.Total, page.Pages, page.Last)
			}
		})
	}
}

// TestDocExampleFormsAgree: the XML and JSON Requestor exports of the same
// data give identical rows (apart from raw).
func TestDocExampleFormsAgree(t *testing.T) {
	rows := map[string]string{}
	for _, form := range []string{WireJSON, WireXML} {
		body, err := os.ReadFile(filepath.Join(testdata, "doc-example."+form))
		if err != nil {
			t.Fatal(err)
		}
		page, err := decodePage(httpsource.Job{Name: "j", WireFormat: form, ExtractedAt: extractedAt}, body, 0, 200)
		if err != nil {
			t.Fatal(err)
		}
		rows[form] = sourcetest.Rows(t, page.Users)
	}
	if rows[WireJSON] != rows[WireXML] {
		t.Errorf("JSON rows\n%sXML rows\n%s", rows[WireJSON], rows[WireXML])
	}
}

// normalizeCase is one record in both wire formats and the row it gives.
type normalizeCase struct {
	name      string
	json, xml string // the record's members; the XML form's in d3p1
	want      schema.User
}

func normalizeCases(t *testing.T) []normalizeCase {
	base := schema.User{Provider: Name, Job: "j", ID: "u1", ExtractedAt: extractedAt, Roles: []string{}}
	with := func(f func(u *schema.User)) schema.User {
		u := base
		f(&u)
		return u
	}
	at := func(s string) schema.Null[time.Time] { return schema.SomeTime(mustTime(t, s)) }
	return []normalizeCase{
		{"absent members are null, roles empty", `"UserProviderKey": "u1"`, `<d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`, base},
		{"nulls are null",
			`"UserProviderKey": "u1", "UserName": null, "Phones": null, "CustomerId": null, "Language": null, "IsApproved": null, "LastUpdatedUtc": null`,
			`<d3p1:CustomerId i:nil="true" /><d3p1:IsApproved i:nil="true" /><d3p1:Language i:nil="true" /><d3p1:LastUpdatedUtc i:nil="true" />` +
				`<d3p1:Phones xmlns:d5p1="` + nsArrays + `" i:nil="true" /><d3p1:UserName i:nil="true" /><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			base},
		{"empty Phones is [] and no phone",
			`"UserProviderKey": "u1", "Phones": []`,
			`<d3p1:Phones xmlns:d5p1="` + nsArrays + `" /><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.Phones = []string{} })},
		{"phone is the first of Phones",
			`"UserProviderKey": "u1", "Phones": ["+1", ""]`,
			`<d3p1:Phones xmlns:d5p1="` + nsArrays + `"><d5p1:string>+1</d5p1:string><d5p1:string></d5p1:string></d3p1:Phones>` +
				`<d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.Phone, u.Phones = schema.Some("+1"), []string{"+1", ""} })},
		{"empty strings stay empty; no full name from empty parts",
			`"UserProviderKey": "u1", "UserName": "", "FirstName": "", "LastName": "", "FullName": "", "Email": ""`,
			`<d3p1:Email /><d3p1:FirstName></d3p1:FirstName><d3p1:FullName /><d3p1:LastName /><d3p1:UserName />` +
				`<d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) {
				u.Username, u.FirstName, u.LastName, u.Email = schema.Some(""), schema.Some(""), schema.Some(""), schema.Some("")
			})},
		{"full name from first and last when FullName is null",
			`"UserProviderKey": "u1", "FirstName": "Zoë", "LastName": "O'Brien", "FullName": null`,
			`<d3p1:FirstName>Zoë</d3p1:FirstName><d3p1:FullName i:nil="true" /><d3p1:LastName>O&#39;Brien</d3p1:LastName>` +
				`<d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) {
				u.FirstName, u.LastName, u.FullName = schema.Some("Zoë"), schema.Some("O'Brien"), schema.Some("Zoë O'Brien")
			})},
		{"FullName wins",
			`"UserProviderKey": "u1", "FirstName": "John", "FullName": "Dr. John Doe"`,
			`<d3p1:FirstName>John</d3p1:FirstName><d3p1:FullName>Dr. John Doe</d3p1:FullName><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.FirstName, u.FullName = schema.Some("John"), schema.Some("Dr. John Doe") })},
		{"CustomerId 0 and Language 0",
			`"UserProviderKey": "u1", "CustomerId": 0, "Language": 0`,
			`<d3p1:CustomerId>0</d3p1:CustomerId><d3p1:Language>en</d3p1:Language><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.OrganizationID, u.Language = schema.Some("0"), schema.Some("en") })},
		{"every role, in the contract's order",
			`"UserProviderKey": "u1", "IsAdministrator": true, "IsSuperOperator": true, "IsOperator": true, "IsSmartUser": true, "IsEndUser": true`,
			`<d3p1:IsAdministrator>true</d3p1:IsAdministrator><d3p1:IsEndUser>true</d3p1:IsEndUser><d3p1:IsOperator>1</d3p1:IsOperator>` +
				`<d3p1:IsSmartUser>true</d3p1:IsSmartUser><d3p1:IsSuperOperator>true</d3p1:IsSuperOperator><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) {
				u.Roles = []string{"end_user", "smart_user", "operator", "super_operator", "administrator"}
			})},
		{"false flags are no role",
			`"UserProviderKey": "u1", "IsEndUser": false, "IsOperator": true, "IsAdministrator": false`,
			`<d3p1:IsAdministrator>false</d3p1:IsAdministrator><d3p1:IsEndUser>0</d3p1:IsEndUser><d3p1:IsOperator>true</d3p1:IsOperator>` +
				`<d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.Roles = []string{"operator"} })},
		{"approved is active",
			`"UserProviderKey": "u1", "IsApproved": true, "Anonymized": false`,
			`<d3p1:Anonymized>false</d3p1:Anonymized><d3p1:IsApproved>true</d3p1:IsApproved><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.Active = schema.Some(true) })},
		{"approved without Anonymized is active",
			`"UserProviderKey": "u1", "IsApproved": true`,
			`<d3p1:IsApproved>true</d3p1:IsApproved><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.Active = schema.Some(true) })},
		{"anonymized is inactive",
			`"UserProviderKey": "u1", "IsApproved": true, "Anonymized": true`,
			`<d3p1:Anonymized>true</d3p1:Anonymized><d3p1:IsApproved>true</d3p1:IsApproved><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.Active = schema.Some(false) })},
		{"anonymized without IsApproved is inactive",
			`"UserProviderKey": "u1", "Anonymized": true`,
			`<d3p1:Anonymized>true</d3p1:Anonymized><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.Active = schema.Some(false) })},
		{"not approved is inactive",
			`"UserProviderKey": "u1", "IsApproved": false, "Anonymized": false`,
			`<d3p1:Anonymized>false</d3p1:Anonymized><d3p1:IsApproved>false</d3p1:IsApproved><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.Active = schema.Some(false) })},
		{"LastUpdatedUtc with Z and seven digits",
			`"UserProviderKey": "u1", "LastUpdatedUtc": "2023-05-01T10:20:30.1234567Z"`,
			`<d3p1:LastUpdatedUtc>2023-05-01T10:20:30.1234567Z</d3p1:LastUpdatedUtc><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.UpdatedAt = at("2023-05-01T10:20:30.123456Z") })},
		{"LastUpdatedUtc without an offset is UTC",
			`"UserProviderKey": "u1", "LastUpdatedUtc": "2023-05-01T10:20:30.5"`,
			`<d3p1:LastUpdatedUtc>2023-05-01T10:20:30.5</d3p1:LastUpdatedUtc><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.UpdatedAt = at("2023-05-01T10:20:30.5Z") })},
		{"LastUpdatedUtc with an offset",
			`"UserProviderKey": "u1", "LastUpdatedUtc": "2023-05-01T10:20:30+02:00"`,
			`<d3p1:LastUpdatedUtc>2023-05-01T10:20:30+02:00</d3p1:LastUpdatedUtc><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			with(func(u *schema.User) { u.UpdatedAt = at("2023-05-01T08:20:30Z") })},
		{"empty LastUpdatedUtc is null",
			`"UserProviderKey": "u1", "LastUpdatedUtc": ""`,
			`<d3p1:LastUpdatedUtc /><d3p1:UserProviderKey>u1</d3p1:UserProviderKey>`,
			base},
	}
}

func TestNormalizeEdgeCases(t *testing.T) {
	job := httpsource.Job{Name: "j", ExtractedAt: extractedAt}
	for _, tt := range normalizeCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			want := sourcetest.Rows(t, []schema.User{tt.want})
			for form, body := range map[string]string{WireJSON: jsonPageOf(tt.json), WireXML: xmlPageOf(tt.xml)} {
				job.WireFormat = form
				page, err := decodePage(job, []byte(body), 0, 10)
				if err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if got := sourcetest.Rows(t, page.Users); got != want {
					t.Errorf("%s:\ngot  %swant %s", form, got, want)
				}
			}
		})
	}
}

// jsonPageOf is a JSON response of one user with the given members.
func jsonPageOf(members string) string {
	return `{"PagedUsers": {"PageIndex": 0, "PageSize": 10, "TotalItems": 1, "TotalPages": 1, "Items": [{` + members + `}]}}`
}

// xmlPageOf is an XML response of one user with the given members.
func xmlPageOf(members string) string {
	return xmlPage(`<d3p1:RequestorUser>`+members+`</d3p1:RequestorUser>`, 1, 1)
}

func xmlPage(items string, total, pages int) string {
	return `<GetUsersResult xmlns:i="` + nsInstance + `" xmlns="` + nsResults + `"><PagedUsers>` +
		`<Items xmlns:d3p1="` + nsData + `">` + items + `</Items>` +
		`<PageIndex>0</PageIndex><PageSize>10</PageSize><TotalItems>` + strconv.Itoa(total) + `</TotalItems>` +
		`<TotalPages>` + strconv.Itoa(pages) + `</TotalPages></PagedUsers></GetUsersResult>`
}

func TestLanguage(t *testing.T) {
	tests := []struct{ json, want string }{
		{`0`, "en"},    // the pair the docs show
		{`7`, "7"},     // unknown: its decimal text
		{`-1`, "-1"},   // unknown too
		{`"cs"`, "cs"}, // a host that writes enums as names
	}
	for _, tt := range tests {
		page, err := decodePage(httpsource.Job{}, []byte(jsonPageOf(`"UserProviderKey": "u", "Language": `+tt.json)), 0, 10)
		if err != nil || page.Users[0].Language != schema.Some(tt.want) {
			t.Errorf("Language %s: %v, %v; want %q", tt.json, page.Users, err, tt.want)
		}
	}
}

func TestDecodePageErrors(t *testing.T) {
	tests := []struct{ form, body, want string }{
		{WireJSON, `<html>`, "decode response: invalid character"},
		{WireJSON, `{"Message": "x"}`, "response has no PagedUsers"},
		{WireJSON, jsonPageOf(`"UserName": "x"`), "results[0]: record has no UserProviderKey"},
		{WireJSON, jsonPageOf(`"UserProviderKey": 5`), "cannot unmarshal number"},
		{WireJSON, jsonPageOf(`"UserProviderKey": "u1", "CustomerId": "12"`), "cannot unmarshal string"},
		{WireJSON, jsonPageOf(`"UserProviderKey": "u1", "Language": true`), "language true is neither a number nor a name"},
		{WireJSON, jsonPageOf(`"UserProviderKey": "u1", "Language": 1.5`), "language 1.5 is neither a number nor a name"},
		{WireJSON, jsonPageOf(`"UserProviderKey": "u1", "Language": 1e3`), "language 1e3 is neither a number nor a name"},
		{WireJSON, jsonPageOf(`"UserProviderKey": "u1", "Language": 99999999999999999999`), "language 99999999999999999999 is neither a number nor a name"},
		{WireJSON, jsonPageOf(`"UserProviderKey": "u1", "LastUpdatedUtc": "yesterday"`),
			`results[0]: user u1: LastUpdatedUtc: "yesterday" is not a date and time as .NET writes one`},
		{WireXML, `{"PagedUsers": {}}`, "decode response: "},
		{WireXML, ``, "decode response: no root element"},
		{WireXML, `<GetUsersResult xmlns="` + nsResults + `"><PagedUsers>`, "decode response: XML syntax error"},
		{WireXML, `<GetUsersResult xmlns="` + nsResults + `"/><GetUsersResult/>`, "decode response: a second root element <GetUsersResult>"},
		{WireXML, `<GetUsersResult><PagedUsers/></GetUsersResult>`,
			`response is <GetUsersResult> in namespace "", not GetUsersResult in "` + nsResults + `"`},
		{WireXML, `<GetUsersResult xmlns="` + nsResults + `"><PagedUsers i:nil="true" xmlns:i="` + nsInstance + `"/></GetUsersResult>`,
			"response has no PagedUsers"},
		{WireXML, xmlPage(`<d3p1:RequestorUser /><User/>`, 2, 1),
			`results[1]: Items holds <User> in namespace "` + nsResults + `", not RequestorUser in "` + nsData + `"`},
		{WireXML, xmlPageOf(`<d3p1:UserName>x</d3p1:UserName>`), "results[0]: record has no UserProviderKey"},
		{WireXML, xmlPageOf(`<UserProviderKey>u1</UserProviderKey>`), "results[0]: record has no UserProviderKey"},
		{WireXML, xmlPageOf(`<d3p1:UserProviderKey>u1</d3p1:UserProviderKey><d3p1:IsApproved>yes</d3p1:IsApproved><d3p1:CustomerId>x</d3p1:CustomerId>`),
			`results[0]: user u1: CustomerId: "x" is not an integer` + "\n" + `IsApproved: "yes" is not a boolean`},
		{WireXML, xmlPageOf(`<d3p1:UserProviderKey>u1</d3p1:UserProviderKey><d3p1:Phones><d3p1:Phone>1</d3p1:Phone></d3p1:Phones>`),
			"results[0]: user u1: Phones: an item <Phone> is not a string in namespace " + nsArrays},
		{WireXML, xmlPageOf(`<d3p1:UserProviderKey>u1</d3p1:UserProviderKey><d3p1:LastUpdatedUtc>2023-13-01</d3p1:LastUpdatedUtc>`),
			`results[0]: user u1: LastUpdatedUtc: "2023-13-01" is not a date and time`},
		{WireXML, strings.Replace(xmlPageOf(`<d3p1:UserProviderKey>u</d3p1:UserProviderKey>`), "<TotalItems>1", "<TotalItems>one", 1),
			`TotalItems: "one" is not an integer`},
		{WireXML, strings.Repeat("<a>", 65) + strings.Repeat("</a>", 65), "decode response: elements nested deeper than 64 levels"},
	}
	for _, raw := range []bool{false, true} {
		for _, tt := range tests {
			_, err := decodePage(httpsource.Job{Name: "j", WireFormat: tt.form, IncludeRaw: raw}, []byte(tt.body), 0, 10)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s, raw %v, body %s:\nerror %v\nwant  %q", tt.form, raw, tt.body, err, tt.want)
			}
		}
	}
}

func TestPageCounts(t *testing.T) {
	tests := []struct {
		total, pages, size, index, wantPages int
		last                                 bool
	}{
		{0, 0, 200, 0, 1, true},
		{0, 1, 200, 0, 1, true}, // an API may count an empty listing as one page
		{1234, 13, 100, 11, 13, false},
		{1234, 13, 100, 12, 13, true},
		{1000, 2, 500, 1, 2, true},
	}
	for _, tt := range tests {
		for _, form := range []string{WireJSON, WireXML} {
			body := xmlPage("", tt.total, tt.pages)
			if form == WireJSON {
				body = `{"PagedUsers": {"TotalItems": ` + strconv.Itoa(tt.total) + `, "TotalPages": ` + strconv.Itoa(tt.pages) + `, "Items": []}}`
			}
			page, err := decodePage(httpsource.Job{WireFormat: form}, []byte(body), tt.index, tt.size)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != schema.Some(int64(tt.total)) || page.Pages != schema.Some(tt.wantPages) || page.Last != tt.last {
				t.Errorf("%s: %d users, size %d, page %d: total %v pages %v last %v", form, tt.total, tt.size, tt.index,
					page.Total, page.Pages, page.Last)
			}
		}
	}
	// Without totals a short page is the last.
	page, err := decodePage(httpsource.Job{}, []byte(`{"PagedUsers": {"Items": [{"UserProviderKey": "a"}]}}`), 3, 2)
	if err != nil || page.Total.Valid || page.Pages.Valid || !page.Last {
		t.Errorf("no totals: %+v, %v", page, err)
	}
}

func TestTotalPagesMustMatchThePageSize(t *testing.T) {
	// 1234 users in pages of 1000 are 2 pages; an API that capped the page
	// size at 500 says 3.
	body := `{"PagedUsers": {"PageSize": 500, "TotalItems": 1234, "TotalPages": 3, "Items": []}}`
	_, err := decodePage(httpsource.Job{}, []byte(body), 0, 1000)
	want := "TotalPages is 3, but TotalItems 1234 make 2 pages of 1000: the API seems to cap PageSize, lower the job's page_size"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
