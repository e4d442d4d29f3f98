package nameshield

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

const testdata = "../../testdata/providers/nameshield"

var extractedAt = time.Date(2024, 10, 10, 12, 0, 0, 0, time.UTC)

func TestGoldenDocExample(t *testing.T) {
	// The docs' request: limit=2&offset=2, so page 1 of 5.
	job := httpsource.Job{Name: "nameshield-fr", ExtractedAt: extractedAt}
	page := sourcetest.DecodeGolden(t,
		filepath.Join(testdata, "doc-example.json"), filepath.Join(testdata, "doc-example.golden.jsonl"), job,
		func(job httpsource.Job, body []byte) (httpsource.Page, error) { return decodePage(job, body, 1, 2) })
	if page.Total != schema.Some(int64(9)) || page.Pages != schema.Some(5) || page.Last {
		t.Errorf("page: total %v, pages %v, last %v; want 9, 5, false", page.Total, page.Pages, page.Last)
	}
}

func TestNormalizeEdgeCases(t *testing.T) {
	base := schema.User{Provider: Name, Job: "j", ID: "u1", ExtractedAt: extractedAt, Active: schema.Some(true)}
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
		{"absent fields are null; no expiry is active", `{"id": "u1"}`, base},
		{"nulls are null", `{"id": "u1", "firstname": null, "phone": null, "customer_id": null, "expires_at": null}`, base},
		{"empty expiry is active", `{"id": "u1", "expires_at": ""}`, base},
		{"expired before the run", `{"id": "u1", "expires_at": "2024-10-10T13:00:00+02:00"}`,
			with(func(u *schema.User) { u.ExpiresAt, u.Active = at("2024-10-10T11:00:00Z"), schema.Some(false) })},
		{"expiring at the run's clock is expired", `{"id": "u1", "expires_at": "2024-10-10T14:00:00+02:00"}`,
			with(func(u *schema.User) { u.ExpiresAt, u.Active = at("2024-10-10T12:00:00Z"), schema.Some(false) })},
		{"expiring after the run", `{"id": "u1", "expires_at": "2024-10-10T12:00:01Z"}`,
			with(func(u *schema.User) { u.ExpiresAt = at("2024-10-10T12:00:01Z") })},
		{"empty phone is kept, and listed", `{"id": "u1", "phone": ""}`,
			with(func(u *schema.User) { u.Phone, u.Phones = schema.Some(""), []string{""} })},
		{"first name only", `{"id": "u1", "firstname": "Zoë", "lastname": ""}`,
			with(func(u *schema.User) {
				u.FirstName, u.LastName, u.FullName = schema.Some("Zoë"), schema.Some(""), schema.Some("Zoë")
			})},
		{"empty names give no full name", `{"id": "u1", "firstname": "", "lastname": ""}`,
			with(func(u *schema.User) { u.FirstName, u.LastName = schema.Some(""), schema.Some("") })},
		{"customer 0", `{"id": "u1", "customer_id": 0}`,
			with(func(u *schema.User) { u.OrganizationID = schema.Some("0") })},
		{"sub-microsecond digits are truncated", `{"id": "u1", "created_at": "2023-01-01T00:00:00.1234567-05:30"}`,
			with(func(u *schema.User) { u.CreatedAt = at("2023-01-01T05:30:00.123456Z") })},
	}
	job := httpsource.Job{Name: "j", ExtractedAt: extractedAt}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := decodePage(job, []byte(`{"data":{"total":1,"results":[`+tt.record+`]}}`), 0, 10)
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
		{`{"data": {"results": [{"id": 5}]}}`, "cannot unmarshal number"},
		{`{"data": {"results": [{"firstname": "x"}]}}`, "results[0]: record has no id"},
		{`{"data": {"results": [{"id": "u1"}, {"id": "u2", "created_at": "yesterday"}]}}`,
			`results[1]: user u2: created_at: parsing time "yesterday"`},
		{`{"data": {"results": [{"id": "u1", "customer_id": "12"}]}}`, "cannot unmarshal string"},
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
		body         string
		limit, index int
		total, pages schema.Null[int]
		last         bool
	}{
		{`{"data": {"total": 0, "results": []}}`, 500, 0, schema.Some(0), schema.Some(1), true},
		{`{"data": {"total": 1234, "results": []}}`, 100, 11, schema.Some(1234), schema.Some(13), false},
		{`{"data": {"total": 1234, "results": []}}`, 100, 12, schema.Some(1234), schema.Some(13), true},
		{`{"data": {"total": 1000, "results": []}}`, 500, 1, schema.Some(1000), schema.Some(2), true},
		// No total: a short page ends the listing.
		{`{"data": {"results": [{"id": "a"}]}}`, 2, 3, schema.Null[int]{}, schema.Null[int]{}, true},
		{`{"data": {"results": [{"id": "a"}, {"id": "b"}]}}`, 2, 3, schema.Null[int]{}, schema.Null[int]{}, false},
	}
	for _, tt := range tests {
		page, err := decodePage(httpsource.Job{}, []byte(tt.body), tt.index, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		total := schema.Null[int]{V: int(page.Total.V), Valid: page.Total.Valid}
		if total != tt.total || page.Pages != tt.pages || page.Last != tt.last {
			t.Errorf("%s limit %d page %d: total %v pages %v last %v, want %v %v %v",
				tt.body, tt.limit, tt.index, total, page.Pages, page.Last, tt.total, tt.pages, tt.last)
		}
	}
}
