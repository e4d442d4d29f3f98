package medipim

import (
	"reflect"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/httpsource"
)

type m = map[string]any

func TestCheckConfigValid(t *testing.T) {
	tests := []struct {
		name string
		job  httpsource.Job
	}{
		{"defaults", httpsource.Job{}},
		{"empty filter", httpsource.Job{Filter: m{}}},
		{"every page size", httpsource.Job{PageSize: 10}},
		{"page size 250", httpsource.Job{PageSize: 250}},
		{"id int", httpsource.Job{Filter: m{"id": 1}}},
		{"id list of YAML and JSON numbers", httpsource.Job{Filter: m{"id": []any{1, int64(2), uint64(3), 4.0}}}},
		{"organization", httpsource.Job{Filter: m{"organization": int64(1)}}},
		{"vatNr", httpsource.Job{Filter: m{"vatNr": "BE0123321123"}}},
		{"apbNr string", httpsource.Job{Filter: m{"apbNr": "123456"}}},
		{"apbNr int", httpsource.Job{Filter: m{"apbNr": 123456}}},
		{"rizivNr", httpsource.Job{Filter: m{"rizivNr": 21861919001.0}}},
		{"nested", httpsource.Job{Filter: m{"and": []any{
			m{"or": []any{m{"id": 1}, m{"id": []any{2, 3}}}},
			m{"not": m{"organization": 1}},
		}}}},
		{"sort asc", httpsource.Job{Sort: m{"id": "ASC"}}},
		{"sort desc", httpsource.Job{Sort: m{"id": "DESC"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckConfig(tt.job); len(got) != 0 {
				t.Errorf("CheckConfig = %v, want no problems", got)
			}
		})
	}
}

func TestCheckConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		job  httpsource.Job
		want []httpsource.Problem
	}{
		{"page size 30", httpsource.Job{PageSize: 30},
			sourcetest.Problems("page_size", "must be one of 10, 50, 100 or 250")},
		{"two keys", httpsource.Job{Filter: m{"id": 1, "organization": 2}},
			sourcetest.Problems("filter", "must have exactly one key, one of and, apbNr, id, not, or, organization, rizivNr, vatNr (has 2)")},
		{"unknown key", httpsource.Job{Filter: m{"name": "x"}},
			sourcetest.Problems("filter.name", "unknown filter; valid: and, apbNr, id, not, or, organization, rizivNr, vatNr")},
		{"nested organization string", httpsource.Job{Filter: m{"and": []any{m{"id": 1}, m{"organization": "1"}}}},
			sourcetest.Problems("filter.and[1].organization", "must be an integer")},
		{"fractional id", httpsource.Job{Filter: m{"id": 1.5}},
			sourcetest.Problems("filter.id", "must be an integer or a non-empty list of integers")},
		{"empty id list", httpsource.Job{Filter: m{"id": []any{}}},
			sourcetest.Problems("filter.id", "must be an integer or a non-empty list of integers")},
		{"bad id in list", httpsource.Job{Filter: m{"id": []any{1, "2", 3}}},
			sourcetest.Problems("filter.id[1]", "must be an integer")},
		{"vatNr number", httpsource.Job{Filter: m{"vatNr": 123}},
			sourcetest.Problems("filter.vatNr", "must be a string")},
		{"apbNr bool", httpsource.Job{Filter: m{"apbNr": true}},
			sourcetest.Problems("filter.apbNr", "must be an integer or a string")},
		{"or empty", httpsource.Job{Filter: m{"or": []any{}}},
			sourcetest.Problems("filter.or", "must be a non-empty list of filters")},
		{"and not a list", httpsource.Job{Filter: m{"and": m{"id": 1}}},
			sourcetest.Problems("filter.and", "must be a non-empty list of filters")},
		{"not with empty object", httpsource.Job{Filter: m{"not": m{}}},
			sourcetest.Problems("filter.not", "must have exactly one key, one of and, apbNr, id, not, or, organization, rizivNr, vatNr (has 0)")},
		{"list element not an object", httpsource.Job{Filter: m{"or": []any{m{"id": 1}, "id=2"}}},
			sourcetest.Problems("filter.or[1]", "must be a filter object with one key: and, apbNr, id, not, or, organization, rizivNr, vatNr")},
		{"sort lower case", httpsource.Job{Sort: m{"id": "asc"}},
			sourcetest.Problems("sort.id", `must be "ASC" or "DESC"`)},
		{"sort by name", httpsource.Job{Sort: m{"name": "ASC"}},
			sourcetest.Problems("sort.name", "unknown sort key; only id is sortable")},
		{"sort as string", httpsource.Job{Sort: "id"},
			sourcetest.Problems("sort", `must be {"id": "ASC"} or {"id": "DESC"}`)},
		{"every problem at once", httpsource.Job{PageSize: 1000, Filter: m{"or": []any{m{"id": "a"}, m{"vatNr": 1}}}, Sort: m{"id": 1}},
			sourcetest.Problems(
				"page_size", "must be one of 10, 50, 100 or 250",
				"filter.or[0].id", "must be an integer or a non-empty list of integers",
				"filter.or[1].vatNr", "must be a string",
				"sort.id", `must be "ASC" or "DESC"`,
			)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckConfig(tt.job); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CheckConfig =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	_, err := New(httpsource.Job{Name: "j", PageSize: 30}, nil)
	want := `medipim: invalid config: page_size: must be one of 10, 50, 100 or 250`
	if err == nil || err.Error() != want {
		t.Errorf("New error = %v, want %s", err, want)
	}
}
