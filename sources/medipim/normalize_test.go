package medipim

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

const testdata = "../../testdata/providers/medipim"

var extractedAt = time.Date(2024, 10, 10, 12, 0, 0, 0, time.UTC)

func TestGoldenDocFieldsExample(t *testing.T) {
	job := httpsource.Job{Name: "medipim-be", ExtractedAt: extractedAt}
	page := sourcetest.DecodeGolden(t,
		filepath.Join(testdata, "doc-fields-example.json"), filepath.Join(testdata, "doc-fields-example.golden.jsonl"), job,
		func(job httpsource.Job, body []byte) (httpsource.Page, error) { return decodePage(job, body, 0, 10) })
	if !page.Total.Valid || page.Total.V != 3 || page.Pages != schema.Some(1) || !page.Last {
		t.Errorf("page: total %v, pages %v, last %v; want 3, 1, true", page.Total, page.Pages, page.Last)
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
			if got, want := sourcetest.Rows(t, page.Users), sourcetest.Rows(t, []schema.User{tt.want}); got != want {
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
