package mctime

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/httpsource"
)

type m = map[string]any

const (
	validKeys  = "inactive, organizationId, organizationName, roles, userIds"
	validRoles = "employee, approver, manager, administrator, main_administrator"
)

func TestCheckConfigValid(t *testing.T) {
	tests := []struct {
		name string
		job  httpsource.Job
	}{
		{"defaults", httpsource.Job{}},
		{"page size 20", httpsource.Job{PageSize: 20}},
		{"empty filter", httpsource.Job{Filter: m{}}},
		{"every filter", httpsource.Job{Filter: m{
			"userIds": []any{"123", "456"}, "organizationId": "7", "roles": []any{"employee", "main_administrator"},
			"inactive": true,
		}}},
		{"one user id", httpsource.Job{Filter: m{"userIds": "123abc45-39c5-436f-a70b-d3a14db753c6"}}},
		{"ids from Go", httpsource.Job{Filter: m{"userIds": []string{"a", "b"}, "roles": []string{"manager"}}}},
		{"one role", httpsource.Job{Filter: m{"roles": "approver"}}},
		{"every role", httpsource.Job{Filter: m{"roles": []any{"employee", "approver", "manager", "administrator", "main_administrator"}}}},
		{"organization name", httpsource.Job{Filter: m{"organizationName": "Org 7", "inactive": false}}},
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
		{"page size 30", httpsource.Job{PageSize: 30}, sourcetest.Problems("page_size", "must be 20: the API's fixed page size")},
		{"page size 10", httpsource.Job{PageSize: 10}, sourcetest.Problems("page_size", "must be 20: the API's fixed page size")},
		{"sort", httpsource.Job{Sort: []any{"id:asc"}}, sourcetest.Problems("sort", "not supported: the API has no sort order")},
		{"unknown role", httpsource.Job{Filter: m{"roles": []any{"employee", "boss"}}},
			sourcetest.Problems("filter.roles[1]", `unknown role "boss"; valid: `+validRoles)},
		{"unknown single role", httpsource.Job{Filter: m{"roles": "Manager"}},
			sourcetest.Problems("filter.roles", `unknown role "Manager"; valid: `+validRoles)},
		{"role not a string", httpsource.Job{Filter: m{"roles": []any{3}}},
			sourcetest.Problems("filter.roles[0]", "must be a role: "+validRoles)},
		{"empty roles", httpsource.Job{Filter: m{"roles": []any{}}},
			sourcetest.Problems("filter.roles", "must be a role or a non-empty list of roles")},
		{"roles as a map", httpsource.Job{Filter: m{"roles": m{"employee": true}}},
			sourcetest.Problems("filter.roles", "must be a role or a non-empty list of roles")},
		{"empty user ids", httpsource.Job{Filter: m{"userIds": []any{}}},
			sourcetest.Problems("filter.userIds", "must be a user id or a non-empty list of user ids")},
		{"numeric user id", httpsource.Job{Filter: m{"userIds": []any{"a", 123}}},
			sourcetest.Problems("filter.userIds[1]", `must be a string: quote a numeric id ("123")`)},
		{"empty user id", httpsource.Job{Filter: m{"userIds": ""}},
			sourcetest.Problems("filter.userIds", "must be a non-empty string")},
		{"empty user id in a list", httpsource.Job{Filter: m{"userIds": []any{""}}},
			sourcetest.Problems("filter.userIds[0]", "must be a non-empty string")},
		{"numeric organization id", httpsource.Job{Filter: m{"organizationId": 7}},
			sourcetest.Problems("filter.organizationId", `must be a string: quote a numeric id ("7")`)},
		{"organization id bool", httpsource.Job{Filter: m{"organizationId": true}},
			sourcetest.Problems("filter.organizationId", "must be a non-empty string")},
		{"empty organization name", httpsource.Job{Filter: m{"organizationName": ""}},
			sourcetest.Problems("filter.organizationName", "must be a non-empty string")},
		{"organization id and name", httpsource.Job{Filter: m{"organizationId": "7", "organizationName": "Org 7"}},
			sourcetest.Problems("filter.organizationName", "the API ignores it when organizationId is set: set only one of the two")},
		{"inactive string", httpsource.Job{Filter: m{"inactive": "true"}},
			sourcetest.Problems("filter.inactive", "must be true or false")},
		{"unknown filter", httpsource.Job{Filter: m{"page": 2}},
			sourcetest.Problems("filter.page", "unknown filter; valid: "+validKeys)},
		{"key in another case", httpsource.Job{Filter: m{"user_ids": []any{"a"}, "OrganizationID": "7"}},
			sourcetest.Problems(
				"filter.OrganizationID", "unknown filter (keys are case-sensitive: did you mean organizationId?); valid: "+validKeys,
				"filter.user_ids", "unknown filter (keys are case-sensitive: did you mean userIds?); valid: "+validKeys,
			)},
		{"every problem at once, filters in key order", httpsource.Job{
			PageSize: 30,
			Filter:   m{"roles": []any{"boss", "employee", "chief"}, "inactive": 1, "bogus": true},
		}, sourcetest.Problems(
			"page_size", "must be 20: the API's fixed page size",
			"filter.bogus", "unknown filter; valid: "+validKeys,
			"filter.inactive", "must be true or false",
			"filter.roles[0]", `unknown role "boss"; valid: `+validRoles,
			"filter.roles[2]", `unknown role "chief"; valid: `+validRoles,
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
	_, err := New(httpsource.Job{Name: "j", PageSize: 30, Filter: m{"roles": "boss"}}, nil)
	want := `mctime: invalid config: page_size: must be 20: the API's fixed page size; ` +
		`filter.roles: unknown role "boss"; valid: ` + validRoles
	if err == nil || err.Error() != want {
		t.Errorf("New error = %v, want %s", err, want)
	}
}

// TestListsMatchChecks keeps the key list in messages, the filter docs and
// the checks in step.
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
		if c.filterValue(&plan{}, "f", key, nil); strings.Contains(c.problems[0].Message, "unknown") {
			t.Errorf("filter %s is listed but not checked", key)
		}
	}
	if got := strings.Join(Roles(), ", "); got != validRoles {
		t.Errorf("roles %s, want the docs' %s", got, validRoles)
	}
}

func TestPlanListings(t *testing.T) {
	tests := []struct {
		filter m
		want   []bool
	}{
		{nil, []bool{true, false}},
		{m{"roles": "employee"}, []bool{true, false}},
		{m{"inactive": true}, []bool{false}},
		{m{"inactive": false}, []bool{true}},
	}
	for _, tt := range tests {
		p, problems := parseJob(httpsource.Job{Filter: tt.filter})
		if len(problems) > 0 || !slices.Equal(p.actives, tt.want) {
			t.Errorf("filter %v: listings %v (%v), want %v", tt.filter, p.actives, problems, tt.want)
		}
	}
}

func TestScope(t *testing.T) {
	ids := []any{}
	for _, c := range "abcdefghijkl" {
		ids = append(ids, string(c))
	}
	tests := []struct {
		filter m
		want   string
	}{
		{nil, ""},
		{m{"roles": "employee", "inactive": true}, ""},
		{m{"userIds": "x"}, `userIds "x"`},
		{m{"userIds": ids[:2], "organizationId": "7"}, `userIds "a", "b"; organizationId "7"`},
		{m{"organizationName": `Sales "EU"`}, `organizationName "Sales \"EU\""`},
		{m{"userIds": ids}, `userIds "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", and 2 more`},
	}
	for _, tt := range tests {
		if p, _ := parseJob(httpsource.Job{Filter: tt.filter}); p.scope != tt.want {
			t.Errorf("filter %v: scope %s, want %s", tt.filter, p.scope, tt.want)
		}
	}
}
