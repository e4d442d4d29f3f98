package requestor

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/httpsource"
)

type m = map[string]any

const validFilters = "CustomerId, Email, IsAdministrator, IsEndUser, IsOperator, IsSmartUser, IsSuperOperator, " +
	"LastUpdatedDateFromUtc, LastUpdatedDateUntilUtc, UserName"

func TestCheckConfigValid(t *testing.T) {
	tests := []struct {
		name string
		job  httpsource.Job
	}{
		{"defaults", httpsource.Job{}},
		{"page size 1", httpsource.Job{PageSize: 1}},
		{"page size 1000", httpsource.Job{PageSize: 1000}},
		{"json", httpsource.Job{WireFormat: "json"}},
		{"xml", httpsource.Job{WireFormat: "xml"}},
		{"every filter", httpsource.Job{Filter: m{
			"UserName": "john.doe", "Email": "john.doe@domain.com",
			"IsEndUser": true, "IsSmartUser": false, "IsOperator": true, "IsSuperOperator": false, "IsAdministrator": false,
			"CustomerId": 12, "LastUpdatedDateFromUtc": "2024-01-01", "LastUpdatedDateUntilUtc": "2024-01-31T23:59:59+01:00",
		}}},
		{"CustomerId from JSON", httpsource.Job{Filter: m{"CustomerId": 12.0}}},
		{"dates as YAML times", httpsource.Job{Filter: m{
			"LastUpdatedDateFromUtc": time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "LastUpdatedDateUntilUtc": time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		}}},
		{"one date", httpsource.Job{Filter: m{"LastUpdatedDateUntilUtc": "2024-01-01T00:00:00.5Z"}}},
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
	const date = "must be a date: RFC 3339 (2024-01-31T08:00:00Z) or YYYY-MM-DD"
	tests := []struct {
		name string
		job  httpsource.Job
		want []httpsource.Problem
	}{
		{"page size 1001", httpsource.Job{PageSize: 1001}, sourcetest.Problems("page_size", "must be between 1 and 1000")},
		{"negative page size", httpsource.Job{PageSize: -1}, sourcetest.Problems("page_size", "must be between 1 and 1000")},
		{"wire format", httpsource.Job{WireFormat: "soap"}, sourcetest.Problems("wire_format", "must be json or xml")},
		{"sort", httpsource.Job{Sort: []any{"UserName"}}, sourcetest.Problems("sort", "not supported: the API has no sort order")},
		{"unknown filter", httpsource.Job{Filter: m{"Name": "x"}}, sourcetest.Problems("filter.Name", "unknown filter; valid: "+validFilters)},
		{"paging as a filter", httpsource.Job{Filter: m{"PageSize": 10}}, sourcetest.Problems("filter.PageSize", "unknown filter; valid: "+validFilters)},
		{"snake case", httpsource.Job{Filter: m{"username": "x"}}, sourcetest.Problems("filter.username",
			"unknown filter (keys are case-sensitive: did you mean UserName?); valid: "+validFilters)},
		{"camel case", httpsource.Job{Filter: m{"customerId": 1}}, sourcetest.Problems("filter.customerId",
			"unknown filter (keys are case-sensitive: did you mean CustomerId?); valid: "+validFilters)},
		{"UserName number", httpsource.Job{Filter: m{"UserName": 5}}, sourcetest.Problems("filter.UserName", "must be a non-empty string")},
		{"empty Email", httpsource.Job{Filter: m{"Email": ""}}, sourcetest.Problems("filter.Email", "must be a non-empty string")},
		{"flag as text", httpsource.Job{Filter: m{"IsOperator": "true"}}, sourcetest.Problems("filter.IsOperator", "must be true or false")},
		{"flag null", httpsource.Job{Filter: m{"IsEndUser": nil}}, sourcetest.Problems("filter.IsEndUser", "must be true or false")},
		{"CustomerId text", httpsource.Job{Filter: m{"CustomerId": "12"}}, sourcetest.Problems("filter.CustomerId", "must be an integer")},
		{"CustomerId fraction", httpsource.Job{Filter: m{"CustomerId": 1.5}}, sourcetest.Problems("filter.CustomerId", "must be an integer")},
		{"date without offset", httpsource.Job{Filter: m{"LastUpdatedDateFromUtc": "2024-01-31T08:00:00"}},
			sourcetest.Problems("filter.LastUpdatedDateFromUtc", date)},
		{"date in another order", httpsource.Job{Filter: m{"LastUpdatedDateUntilUtc": "31/01/2024"}},
			sourcetest.Problems("filter.LastUpdatedDateUntilUtc", date)},
		{"date as a number", httpsource.Job{Filter: m{"LastUpdatedDateUntilUtc": 20240131}},
			sourcetest.Problems("filter.LastUpdatedDateUntilUtc", date)},
		{"until before from", httpsource.Job{Filter: m{"LastUpdatedDateFromUtc": "2024-02-01", "LastUpdatedDateUntilUtc": "2024-01-31T23:59:59Z"}},
			sourcetest.Problems("filter.LastUpdatedDateUntilUtc", "is before LastUpdatedDateFromUtc: no user can match")},
		{"every problem at once, filters in key order", httpsource.Job{
			PageSize: 5000, WireFormat: "XML", Sort: m{"UserName": "asc"},
			Filter: m{"UserName": "", "Bogus": 1, "IsAdministrator": 1, "CustomerId": "x", "LastUpdatedDateFromUtc": "now"},
		}, sourcetest.Problems(
			"page_size", "must be between 1 and 1000",
			"wire_format", "must be json or xml",
			"sort", "not supported: the API has no sort order",
			"filter.Bogus", "unknown filter; valid: "+validFilters,
			"filter.CustomerId", "must be an integer",
			"filter.IsAdministrator", "must be true or false",
			"filter.LastUpdatedDateFromUtc", date,
			"filter.UserName", "must be a non-empty string",
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

// TestFilterBecomesThePost checks the values each filter sends: dates in
// UTC, YYYY-MM-DD at midnight UTC.
func TestFilterBecomesThePost(t *testing.T) {
	post, problems := parseJob(httpsource.Job{Filter: m{
		"UserName": "jane.doe", "IsSmartUser": false, "CustomerId": uint64(7),
		"LastUpdatedDateFromUtc": "2024-01-31", "LastUpdatedDateUntilUtc": time.Date(2024, 2, 1, 1, 30, 0, 0, time.FixedZone("", 5400)),
	}})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	got, err := json.Marshal(&post)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"PageIndex":0,"PageSize":0,"UserName":"jane.doe","Email":null,"IsEndUser":null,"IsSmartUser":false,` +
		`"IsOperator":null,"IsSuperOperator":null,"IsAdministrator":null,"CustomerId":7,` +
		`"LastUpdatedDateFromUtc":"2024-01-31T00:00:00Z","LastUpdatedDateUntilUtc":"2024-02-01T00:00:00Z"}`
	if string(got) != want {
		t.Errorf("post\n%s\nwant\n%s", got, want)
	}
}

// TestListsMatchChecks keeps the list in messages, the filter docs and the
// checks in step.
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
		c.filterValue(&usersFilterPost{}, "f", key, struct{}{})
		if len(c.problems) != 1 || strings.Contains(c.problems[0].Message, "unknown") {
			t.Errorf("filter %s is listed but not checked: %v", key, c.problems)
		}
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	_, err := New(httpsource.Job{Name: "j", PageSize: 1001, Filter: m{"x": 1}}, nil)
	want := `requestor: invalid config: page_size: must be between 1 and 1000; filter.x: unknown filter; valid: ` + validFilters
	if err == nil || err.Error() != want {
		t.Errorf("New error = %v, want %s", err, want)
	}
}

func TestProvider(t *testing.T) {
	p := Provider()
	if p.Name != "requestor" || p.DefaultBaseURL != "" || p.Method != "POST" || p.Endpoint != "/api/Account/GetUsers" ||
		p.DefaultRate.String() != "60/1m" || p.PageSize.Default != 200 || p.PageSize.Max != 1000 || p.PageSize.Allowed != nil ||
		p.Sort != "" || !slices.Equal(p.WireFormats, []string{"json", "xml"}) ||
		!slices.Equal(p.AuthKinds, []string{"basic", "bearer", "header"}) ||
		p.CheckConfig == nil || p.New == nil || p.Simulator == nil {
		t.Errorf("provider %+v", p)
	}
}
