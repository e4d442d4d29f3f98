package mctime

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

const testdata = "../../testdata/providers/mctime"

var extractedAt = time.Date(2024, 10, 10, 12, 0, 0, 0, time.UTC)

func TestGoldenDocExample(t *testing.T) {
	// The docs' example is page 1 of 15 of the default listing: active users.
	job := httpsource.Job{Name: "mctime-at", ExtractedAt: extractedAt}
	page := sourcetest.DecodeGolden(t,
		filepath.Join(testdata, "doc-example.json"), filepath.Join(testdata, "doc-example.golden.jsonl"), job,
		func(job httpsource.Job, body []byte) (httpsource.Page, error) { return decodePage(job, body, 0, true) })
	if page.Total.Valid || page.Pages != schema.Some(15) || page.Last {
		t.Errorf("page: total %v, pages %v, last %v; want null, 15, false", page.Total, page.Pages, page.Last)
	}
}

// envelope wraps users in a response for page 1 of 1.
func envelope(users string) string {
	return `{"items":[{"message":"Success","data":{"users":[` + users + `],"page":"1","pageSize":"1"}}],"valid":true}`
}

func TestNormalizeEdgeCases(t *testing.T) {
	base := schema.User{Provider: Name, Job: "j", ID: "u1", ExtractedAt: extractedAt, Active: schema.Some(true)}
	with := func(f func(u *schema.User)) schema.User {
		u := base
		f(&u)
		return u
	}
	tests := []struct {
		name, record string
		want         schema.User
	}{
		{"absent fields are null", `{"id": "u1"}`, base},
		{"nulls are null", `{"id": "u1", "firstName": null, "email": null, "mobilePhoneNumber": null}`, base},
		{"unknown fields are ignored", `{"id": "u1", "validTo": "2020-01-01", "organizationId": "7"}`, base},
		{"empty phone is kept, and listed", `{"id": "u1", "mobilePhoneNumber": ""}`,
			with(func(u *schema.User) { u.Phone, u.Phones = schema.Some(""), []string{""} })},
		{"last name only", `{"id": "u1", "firstName": "", "lastName": "Doe"}`,
			with(func(u *schema.User) {
				u.FirstName, u.LastName, u.FullName = schema.Some(""), schema.Some("Doe"), schema.Some("Doe")
			})},
		{"empty names give no full name", `{"id": "u1", "firstName": "", "lastName": ""}`,
			with(func(u *schema.User) { u.FirstName, u.LastName = schema.Some(""), schema.Some("") })},
		{"email kept as given", `{"id": "u1", "email": "[email protected]"}`,
			with(func(u *schema.User) { u.Email = schema.Some("[email protected]") })},
	}
	job := httpsource.Job{Name: "j", ExtractedAt: extractedAt}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := decodePage(job, []byte(envelope(tt.record)), 0, true)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := sourcetest.Rows(t, page.Users), sourcetest.Rows(t, []schema.User{tt.want}); got != want {
				t.Errorf("got  %swant %s", got, want)
			}
		})
	}
}

func TestActiveComesFromTheListing(t *testing.T) {
	for _, active := range []bool{true, false} {
		page, err := decodePage(httpsource.Job{}, []byte(envelope(`{"id": "a"}, {"id": "b"}`)), 0, active)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			if u.Active != schema.Some(active) {
				t.Errorf("listing active=%v: user %s active %v", active, u.ID, u.Active)
			}
		}
	}
}

func TestDecodePageErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
		index            int
	}{
		{"not JSON", `<html>`, "decode response: invalid character", 0},
		{"no items", `{"valid": true}`, "the response has no items", 0},
		{"empty items", `{"items": [], "valid": true}`, "the response has no items", 0},
		{"two items", `{"items": [{"data": {"users": []}}, {"data": {"users": []}}]}`,
			"the response has 2 items; the users of one page come in one", 0},
		{"valid false", `{"items": [{"message": "Invalid API key"}], "valid": false}`,
			`the API answered valid=false: "Invalid API key"`, 0},
		{"valid false without items", `{"valid": false}`, "the API answered valid=false", 0},
		{"no data", `{"items": [{"message": "Nothing"}], "valid": true}`, `items[0] has no data: "Nothing"`, 0},
		{"page count not a number", `{"items": [{"data": {"users": [], "page": "1", "pageSize": "many"}}]}`,
			`pageSize: want a non-negative integer, got "many"`, 0},
		{"negative page count", `{"items": [{"data": {"users": [], "pageSize": -1}}]}`,
			"pageSize: want a non-negative integer, got -1", 0},
		{"fractional page", `{"items": [{"data": {"users": [], "page": 1.5}}]}`,
			"page: want a non-negative integer, got 1.5", 0},
		{"page as an object", `{"items": [{"data": {"users": [], "page": {}}}]}`,
			"page: want a non-negative integer, got {}", 0},
		{"another page than asked", `{"items": [{"data": {"users": [], "page": "1", "pageSize": "3"}}]}`,
			"asked for page 3, the API answered page 1", 2},
		{"record without id", envelope(`{"firstName": "x"}`), "results[0]: record has no id", 0},
		{"numeric id", envelope(`{"id": 5}`), "cannot unmarshal number", 0},
	}
	for _, raw := range []bool{false, true} {
		for _, tt := range tests {
			_, err := decodePage(httpsource.Job{Name: "j", IncludeRaw: raw}, []byte(tt.body), tt.index, true)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("raw %v, %s: error %v, want %q", raw, tt.name, err, tt.want)
			}
		}
	}
}

func TestPageCounts(t *testing.T) {
	twenty := strings.TrimSuffix(strings.Repeat(`{"id": "x"},`, PageSize), ",")
	tests := []struct {
		name, page, pages, users string
		index                    int
		wantPages                schema.Null[int]
		last                     bool
	}{
		{"strings, as documented", `"1"`, `"15"`, ``, 0, schema.Some(15), false},
		{"numbers", `2`, `15`, ``, 1, schema.Some(15), false},
		{"last page", `"15"`, `"15"`, ``, 14, schema.Some(15), true},
		{"spaces inside the string", `" 3 "`, `" 3 "`, ``, 2, schema.Some(3), true},
		{"no users: 0 pages is one empty page", `"1"`, `"0"`, ``, 0, schema.Some(1), true},
		// No page count: a short page ends the listing, a full one does not.
		{"no count, short page", `"4"`, `null`, `{"id": "a"}`, 3, schema.Null[int]{}, true},
		{"empty count, full page", `"4"`, `""`, twenty, 3, schema.Null[int]{}, false},
		{"no page number is taken as the one asked for", `null`, `"9"`, ``, 7, schema.Some(9), false},
	}
	for _, tt := range tests {
		body := `{"items":[{"data":{"users":[` + tt.users + `],"page":` + tt.page + `,"pageSize":` + tt.pages + `}}]}`
		page, err := decodePage(httpsource.Job{}, []byte(body), tt.index, false)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if page.Total.Valid || page.Pages != tt.wantPages || page.Last != tt.last {
			t.Errorf("%s: total %v pages %v last %v, want null %v %v", tt.name, page.Total, page.Pages, page.Last, tt.wantPages, tt.last)
		}
	}
}
