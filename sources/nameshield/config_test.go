package nameshield

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

type m = map[string]any

func TestCheckConfigValid(t *testing.T) {
	tests := []struct {
		name string
		job  httpsource.Job
	}{
		{"defaults", httpsource.Job{}},
		{"limit 1", httpsource.Job{PageSize: 1}},
		{"limit 500", httpsource.Job{PageSize: 500}},
		{"every filter", httpsource.Job{Filter: m{
			"customer_id": 1234, "include_subsidiaries": false, "id": "5ec2*", "firstname": "J*",
			"lastname": "Doe", "email": "*@company.fr", "created_by": "7a15*", "updated_by": "*",
		}}},
		{"customer id from JSON or YAML", httpsource.Job{Filter: m{"customer_id": 1234.0}}},
		{"customer id uint64", httpsource.Job{Filter: m{"customer_id": uint64(1234)}}},
		{"sort list from YAML", httpsource.Job{Sort: []any{"firstname:desc", "created_at:asc"}}},
		{"sort []string", httpsource.Job{Sort: []string{"id:desc"}}},
		{"empty sort", httpsource.Job{Sort: []any{}}},
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
	const fields = "created_at, customer_id, email, expires_at, firstname, id, language, last_login_at, lastname, phone, updated_at"
	tests := []struct {
		name string
		job  httpsource.Job
		want []httpsource.Problem
	}{
		{"limit 501", httpsource.Job{PageSize: 501}, sourcetest.Problems("page_size", "must be between 1 and 500")},
		{"negative limit", httpsource.Job{PageSize: -1}, sourcetest.Problems("page_size", "must be between 1 and 500")},
		{"unknown filter", httpsource.Job{Filter: m{"name": "x"}}, sourcetest.Problems("filter.name",
			"unknown filter; valid: created_by, customer_id, email, firstname, id, include_subsidiaries, lastname, updated_by")},
		{"query parameter as filter", httpsource.Job{Filter: m{"limit": 10}}, sourcetest.Problems("filter.limit",
			"unknown filter; valid: created_by, customer_id, email, firstname, id, include_subsidiaries, lastname, updated_by")},
		{"customer id string", httpsource.Job{Filter: m{"customer_id": "1234"}}, sourcetest.Problems("filter.customer_id", "must be an integer")},
		{"customer id fraction", httpsource.Job{Filter: m{"customer_id": 12.5}}, sourcetest.Problems("filter.customer_id", "must be an integer")},
		{"include_subsidiaries string", httpsource.Job{Filter: m{"include_subsidiaries": "yes"}},
			sourcetest.Problems("filter.include_subsidiaries", "must be true or false")},
		{"email number", httpsource.Job{Filter: m{"email": 5}}, sourcetest.Problems("filter.email", "must be a non-empty string (* is a wildcard)")},
		{"empty firstname", httpsource.Job{Filter: m{"firstname": ""}}, sourcetest.Problems("filter.firstname", "must be a non-empty string (* is a wildcard)")},
		{"sort not a list", httpsource.Job{Sort: "firstname:desc"}, sourcetest.Problems("sort", `must be a list of "field:asc" or "field:desc" strings`)},
		{"sort entry without direction", httpsource.Job{Sort: []any{"id:asc", "firstname"}}, sourcetest.Problems("sort[1]", `must be "field:asc" or "field:desc"`)},
		{"sort entry not a string", httpsource.Job{Sort: []any{1}}, sourcetest.Problems("sort[0]", `must be "field:asc" or "field:desc"`)},
		{"sort unknown field", httpsource.Job{Sort: []any{"name:asc"}}, sourcetest.Problems("sort[0]", `unknown field "name"; sortable: `+fields)},
		{"sort bad direction", httpsource.Job{Sort: []any{"email:DESC"}}, sourcetest.Problems("sort[0]", `direction must be asc or desc, got "DESC"`)},
		{"every problem at once, filters in key order", httpsource.Job{
			PageSize: 1000,
			Filter:   m{"lastname": 1, "customer_id": "x", "bogus": true},
			Sort:     []any{"phone:up"},
		}, sourcetest.Problems(
			"page_size", "must be between 1 and 500",
			"filter.bogus", "unknown filter; valid: created_by, customer_id, email, firstname, id, include_subsidiaries, lastname, updated_by",
			"filter.customer_id", "must be an integer",
			"filter.lastname", "must be a non-empty string (* is a wildcard)",
			"sort[0]", `direction must be asc or desc, got "up"`,
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

// TestListsMatchChecks keeps the lists in messages, the filter docs, the
// checks and the simulator's sort in step.
func TestListsMatchChecks(t *testing.T) {
	var docKeys []string
	for _, f := range Filters() {
		docKeys = append(docKeys, f.Key)
	}
	slices.Sort(docKeys)
	if listed := strings.Split(filterKeyList, ", "); !slices.Equal(docKeys, listed) {
		t.Errorf("documented filters %v, listed %v", docKeys, listed)
	}
	for _, key := range docKeys {
		var c checker
		if c.filterValue("f", key, nil); strings.Contains(c.problems[0].Message, "unknown") {
			t.Errorf("filter %s is listed but not checked", key)
		}
	}
	people := &simdata.People{N: 2}
	a, b := people.Person(0), people.Person(1)
	for _, field := range strings.Split(sortFieldList, ", ") {
		compareField(field, &a, &b) // panics on a field it does not know
	}
}

func TestNewQuery(t *testing.T) {
	tests := []struct {
		name string
		job  httpsource.Job
		page int
		want string
	}{
		{"defaults: largest limit, id order", httpsource.Job{BaseURL: "https://h/base"}, 0,
			"https://h/base/user/v1/users?limit=500&offset=0&sort%5B%5D=id%3Aasc"},
		{"filters, sort with id tie-break, offset", httpsource.Job{
			BaseURL:  "https://h",
			PageSize: 2,
			Filter:   m{"customer_id": 1234.0, "include_subsidiaries": false, "email": "*@company.fr"},
			Sort:     []any{"firstname:desc"},
		}, 3, "https://h/user/v1/users?customer_id=1234&email=%2A%40company.fr&include_subsidiaries=false" +
			"&limit=2&offset=6&sort%5B%5D=firstname%3Adesc&sort%5B%5D=id%3Aasc"},
		{"sort on id kept as given", httpsource.Job{BaseURL: "https://h", Sort: []string{"id:desc", "email:asc"}}, 1,
			"https://h/user/v1/users?limit=500&offset=500&sort%5B%5D=id%3Adesc&sort%5B%5D=email%3Aasc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := New(tt.job, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := src.(*source).pageURL(tt.page); got != tt.want {
				t.Errorf("URL\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	_, err := New(httpsource.Job{Name: "j", PageSize: 501, Filter: m{"x": 1}}, nil)
	want := `nameshield: invalid config: page_size: must be between 1 and 500; filter.x: unknown filter; valid: ` + filterKeyList
	if err == nil || err.Error() != want {
		t.Errorf("New error = %v, want %s", err, want)
	}
}
