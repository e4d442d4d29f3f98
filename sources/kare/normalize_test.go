package kare

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

const testdata = "../../testdata/providers/kare"

var extractedAt = time.Date(2024, 12, 20, 12, 0, 0, 0, time.UTC)

func TestGoldenDocExample(t *testing.T) {
	// The docs' response: page 1 of size 50, totalCount 100.
	job := httpsource.Job{Name: "kare-main", ExtractedAt: extractedAt}
	page := sourcetest.DecodeGolden(t,
		filepath.Join(testdata, "doc-example.json"), filepath.Join(testdata, "doc-example.golden.jsonl"), job,
		func(job httpsource.Job, body []byte) (httpsource.Page, error) { return decodePage(job, body, 0, 50) })
	if page.Total != schema.Some(int64(100)) || page.Pages != schema.Some(2) || page.Last {
		t.Errorf("page: total %v, pages %v, last %v; want 100, 2, false", page.Total, page.Pages, page.Last)
	}
	// raw is the whole record: the nested data with no column survives.
	var raw map[string]any
	if err := json.Unmarshal(page.Users[0].Raw, &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"userRules", "diplomas", "permissions", "stats", "profession", "actions",
		"userRuleActions", "userOrganizationActions", "presignedUrl", "activatedAt", "scope", "type"} {
		if raw[key] == nil {
			t.Errorf("raw lacks %s: %s", key, page.Users[0].Raw)
		}
	}
	rule := raw["userRules"].([]any)[0].(map[string]any)
	if rule["lastIntervention"].(map[string]any)["attendanceProof"] == nil || rule["rule"].(map[string]any)["userScopes"] == nil {
		t.Errorf("raw lost nested rule data: %v", rule)
	}
}

func TestNormalizeEdgeCases(t *testing.T) {
	base := schema.User{Provider: Name, Job: "j", ID: "7", ExtractedAt: extractedAt, Active: schema.Some(true)}
	with := func(f func(u *schema.User)) schema.User {
		u := base
		f(&u)
		return u
	}
	at := func(s string) schema.Null[time.Time] {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return schema.Some(t)
	}
	tests := []struct {
		name, record string
		want         schema.User
	}{
		{"absent fields are null; not deleted is active", `{"id": 7}`, base},
		{"nulls are null", `{"id": 7, "key": null, "firstName": null, "phone": null, "lang": null, "deletedAt": null,
			"organization": null, "organizationId": null}`, base},
		{"empty deletedAt is active", `{"id": 7, "deletedAt": ""}`, base},
		{"deleted", `{"id": 7, "deletedAt": "2024-12-15T10:00:00.000Z"}`,
			with(func(u *schema.User) { u.DeletedAt, u.Active = at("2024-12-15T10:00:00Z"), schema.Some(false) })},
		{"key, names, email, lang", `{"id": 7, "key": "k-1", "firstName": "Zoë", "lastName": "O'Brien", "email": "", "lang": "fr"}`,
			with(func(u *schema.User) {
				u.Key, u.FirstName, u.LastName, u.FullName = schema.Some("k-1"), schema.Some("Zoë"), schema.Some("O'Brien"), schema.Some("Zoë O'Brien")
				u.Email, u.Language = schema.Some(""), schema.Some("fr")
			})},
		{"last name only", `{"id": 7, "firstName": "", "lastName": "Doe"}`,
			with(func(u *schema.User) {
				u.FirstName, u.LastName, u.FullName = schema.Some(""), schema.Some("Doe"), schema.Some("Doe")
			})},
		{"one phone", `{"id": 7, "phone": "0123456789"}`,
			with(func(u *schema.User) { u.Phone, u.Phones = schema.Some("0123456789"), []string{"0123456789"} })},
		{"empty phone is kept, and listed", `{"id": 7, "phone": ""}`,
			with(func(u *schema.User) { u.Phone, u.Phones = schema.Some(""), []string{""} })},
		{"organization object", `{"id": 7, "organization": {"id": 12, "name": "Acme"}}`,
			with(func(u *schema.User) { u.OrganizationID = schema.Some("12") })},
		{"organization id as a string", `{"id": 7, "organization": {"id": "org-12"}}`,
			with(func(u *schema.User) { u.OrganizationID = schema.Some("org-12") })},
		{"organizationId", `{"id": 7, "organizationId": 0}`,
			with(func(u *schema.User) { u.OrganizationID = schema.Some("0") })},
		{"organization object wins", `{"id": 7, "organizationId": 1, "organization": {"id": 2}}`,
			with(func(u *schema.User) { u.OrganizationID = schema.Some("2") })},
		{"organization without id", `{"id": 7, "organization": {"name": "Acme"}, "organizationId": 3}`,
			with(func(u *schema.User) { u.OrganizationID = schema.Some("3") })},
		{"times to UTC, truncated to microseconds", `{"id": 7, "createdAt": "2023-01-01T00:00:00.1234567-05:30",
			"updatedAt": "2024-12-09T14:23:00.000Z"}`,
			with(func(u *schema.User) {
				u.CreatedAt, u.UpdatedAt = at("2023-01-01T05:30:00.123456Z"), at("2024-12-09T14:23:00Z")
			})},
		{"large id", `{"id": 9007199254740991}`, with(func(u *schema.User) { u.ID = "9007199254740991" })},
	}
	job := httpsource.Job{Name: "j", ExtractedAt: extractedAt}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := decodePage(job, []byte(`{"data": [`+tt.record+`], "totalCount": 1}`), 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := sourcetest.Rows(t, page.Users), sourcetest.Rows(t, []schema.User{tt.want}); got != want {
				t.Errorf("got  %swant %s", got, want)
			}
		})
	}
}

func TestDecodePageErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"data": [{"id": "1"}]}`, "cannot unmarshal string"},
		{`{"data": [{"firstName": "x"}]}`, "results[0]: record has no id"},
		{`{"data": [{"id": 1}, {"id": 2, "updatedAt": "yesterday"}]}`, `results[1]: user 2: updatedAt: parsing time "yesterday"`},
		{`{"data": [{"id": 1, "organization": {"id": true}}]}`, "organization id must be a number or a string, got true"},
		{`{"data": [{"id": 1, "organizationId": {}}]}`, "organization id must be a number or a string, got {}"},
		{`{"data": {}}`, "decode response: json: cannot unmarshal object"},
		{`<html>`, "decode response: invalid character"},
	}
	for _, raw := range []bool{false, true} {
		for _, tt := range tests {
			_, err := decodePage(httpsource.Job{Name: "j", IncludeRaw: raw}, []byte(tt.body), 0, 10)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("raw %v, body %s: error %v, want %q", raw, tt.body, err, tt.want)
			}
		}
	}
}

func TestPageCounts(t *testing.T) {
	tests := []struct {
		body        string
		size, index int
		total       schema.Null[int64]
		pages       schema.Null[int]
		last        bool
	}{
		{`{"data": [], "totalCount": 0}`, 50, 0, schema.Some(int64(0)), schema.Some(1), true},
		{`{"data": [], "totalCount": 1234}`, 100, 11, schema.Some(int64(1234)), schema.Some(13), false},
		{`{"data": [], "totalCount": 1234}`, 100, 12, schema.Some(int64(1234)), schema.Some(13), true},
		{`{"data": [], "totalCount": 1000}`, 500, 1, schema.Some(int64(1000)), schema.Some(2), true},
		// No totalCount: a short page ends the listing.
		{`{"data": [{"id": 1}]}`, 2, 3, schema.Null[int64]{}, schema.Null[int]{}, true},
		{`{"data": [{"id": 1}, {"id": 2}]}`, 2, 3, schema.Null[int64]{}, schema.Null[int]{}, false},
	}
	for _, tt := range tests {
		page, err := decodePage(httpsource.Job{}, []byte(tt.body), tt.index, tt.size)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != tt.total || page.Pages != tt.pages || page.Last != tt.last {
			t.Errorf("%s size %d page %d: total %v pages %v last %v, want %v %v %v",
				tt.body, tt.size, tt.index, page.Total, page.Pages, page.Last, tt.total, tt.pages, tt.last)
		}
	}
}
