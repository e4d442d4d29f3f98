package medipim

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdata = "../../testdata/providers/medipim"

var extractedAt = time.Date(2024, 10, 10, 12, 0, 0, 0, time.UTC)

func TestGoldenDocFieldsExample(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(testdata, "doc-fields-example.json"))
	if err != nil {
		t.Fatal(err)
	}
	job := httpsource.Job{Name: "medipim-be", IncludeRaw: true, ExtractedAt: extractedAt}
	page, err := decodePage(job, body, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !page.Total.Valid || page.Total.V != 3 || page.Pages != schema.Some(1) || !page.Last {
		t.Errorf("page: total %v, pages %v, last %v; want 3, 1, true", page.Total, page.Pages, page.Last)
	}
	compareGolden(t, filepath.Join(testdata, "doc-fields-example.golden.jsonl"), renderRows(t, page.Users))

	// Without include_raw the rows are the same, less raw.
	job.IncludeRaw = false
	plain, err := decodePage(job, body, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range page.Users {
		page.Users[i].Raw = nil
	}
	if got, want := renderRows(t, plain.Users), renderRows(t, page.Users); got != want {
		t.Errorf("rows without raw:\n%s\nwant:\n%s", got, want)
	}
}

func TestNormalizeEdgeCases(t *testing.T) {
	job := httpsource.Job{Name: "j", ExtractedAt: extractedAt}
	tests := []struct {
		name, record string
		want         schema.User
	}{
		{
			name:   "nulls and absent fields stay null",
			record: `{"id": 7, "name": null}`,
			want:   schema.User{Provider: Name, Job: "j", ID: "7", ExtractedAt: extractedAt},
		},
		{
			name:   "empty name stays empty; organization 0 is kept",
			record: `{"id": 8, "name": "", "organization": 0, "meta": {"createdAt": 0}}`,
			want: schema.User{Provider: Name, Job: "j", ID: "8", ExtractedAt: extractedAt,
				FullName: schema.Some(""), OrganizationID: schema.Some("0"),
				CreatedAt: schema.SomeTime(time.Unix(0, 0))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := decodePage(job, []byte(`{"meta":{"total":1},"results":[`+tt.record+`]}`), 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := renderRows(t, page.Users), renderRows(t, []schema.User{tt.want}); got != want {
				t.Errorf("got  %swant %s", got, want)
			}
		})
	}
}

func TestDecodePageErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"results": [{"id": "x"}]}`, "cannot unmarshal string"},
		{`{"results": [{"name": "no id"}]}`, "results[0]: record has no id"},
		{`<html>`, "decode response: invalid character"},
	}
	for _, raw := range []bool{false, true} {
		for _, tt := range tests {
			job := httpsource.Job{Name: "j", IncludeRaw: raw}
			_, err := decodePage(job, []byte(tt.body), 0, 10)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("raw %v, body %s: error %v, want %q", raw, tt.body, err, tt.want)
			}
		}
	}
}

func TestPageCounts(t *testing.T) {
	tests := []struct {
		total, size, index, pages int
		last                      bool
	}{
		{0, 250, 0, 1, true},
		{1234, 250, 0, 5, false},
		{1234, 250, 4, 5, true},
		{1250, 250, 4, 5, true},
		{1251, 250, 4, 6, false},
	}
	for _, tt := range tests {
		body := []byte(`{"meta":{"total":` + strconv.Itoa(tt.total) + `},"results":[]}`)
		page, err := decodePage(httpsource.Job{}, body, tt.index, tt.size)
		if err != nil {
			t.Fatal(err)
		}
		if page.Pages != schema.Some(tt.pages) || page.Last != tt.last || page.Total != schema.Some(int64(tt.total)) {
			t.Errorf("total %d size %d page %d: pages %v last %v, want %d %v", tt.total, tt.size, tt.index, page.Pages, page.Last, tt.pages, tt.last)
		}
	}
}

// rowView renders a schema.User deterministically, every column present.
type rowView struct {
	Provider       string     `json:"provider"`
	Job            string     `json:"job"`
	ID             string     `json:"id"`
	Key            *string    `json:"key"`
	Username       *string    `json:"username"`
	FirstName      *string    `json:"first_name"`
	LastName       *string    `json:"last_name"`
	FullName       *string    `json:"full_name"`
	Email          *string    `json:"email"`
	Phone          *string    `json:"phone"`
	Phones         []string   `json:"phones"`
	Language       *string    `json:"language"`
	OrganizationID *string    `json:"organization_id"`
	Roles          []string   `json:"roles"`
	Active         *bool      `json:"active"`
	CreatedAt      *time.Time `json:"created_at"`
	UpdatedAt      *time.Time `json:"updated_at"`
	DeletedAt      *time.Time `json:"deleted_at"`
	ExpiresAt      *time.Time `json:"expires_at"`
	LastLoginAt    *time.Time `json:"last_login_at"`
	RunID          string     `json:"run_id"`
	ExtractedAt    time.Time  `json:"extracted_at"`
	Raw            *string    `json:"raw"`
}

func ptr[T any](n schema.Null[T]) *T {
	if !n.Valid {
		return nil
	}
	return &n.V
}

func renderRows(t *testing.T, users []schema.User) string {
	t.Helper()
	var b strings.Builder
	for _, u := range users {
		v := rowView{
			Provider: u.Provider, Job: u.Job, ID: u.ID, Key: ptr(u.Key), Username: ptr(u.Username),
			FirstName: ptr(u.FirstName), LastName: ptr(u.LastName), FullName: ptr(u.FullName),
			Email: ptr(u.Email), Phone: ptr(u.Phone), Phones: u.Phones, Language: ptr(u.Language),
			OrganizationID: ptr(u.OrganizationID), Roles: u.Roles, Active: ptr(u.Active),
			CreatedAt: ptr(u.CreatedAt), UpdatedAt: ptr(u.UpdatedAt), DeletedAt: ptr(u.DeletedAt),
			ExpiresAt: ptr(u.ExpiresAt), LastLoginAt: ptr(u.LastLoginAt),
			RunID: u.RunID, ExtractedAt: u.ExtractedAt, Raw: ptr(u.StringValue(schema.ColRaw)),
		}
		line, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal([]byte(got), want) {
		t.Errorf("%s differs (run with -update to accept):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
