package kare

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/httpsource"
)

type m = map[string]any

const (
	validKeys = "extend, whereActivatedAt, whereCreatedAt, whereDiplomaTitleIds, whereEmail, whereFirstName, " +
		"whereFullName, whereGuest, whereIsDeleted, whereIsInvited, whereLang, whereLastName, whereMissingRuleIds, " +
		"wherePermission, wherePhone, whereProfessionIds, whereRuleIdIsInPerimeter, whereRuleIdIsNotInPerimeter, " +
		"whereRuleIds, whereText, whereType, whereUpdatedAt, whereUserIds"
	validExtends = "actions-info, diplomas, image, last-next-intervention, organization, stats, " +
		"user-organization-actions-info, user-rule, user-rule-actions-info"
	rangeShape = "must be {start, end} with RFC 3339 timestamps; either may be left out, not both"
	notRFC3339 = "must be an RFC 3339 timestamp, e.g. 2021-01-01T00:00:00Z"
)

func TestCheckConfigValid(t *testing.T) {
	yamlTime := time.Date(2021, 12, 31, 23, 59, 59, 999e6, time.UTC) // YAML's unquoted timestamp
	tests := []struct {
		name string
		job  httpsource.Job
	}{
		{"defaults", httpsource.Job{}},
		{"page size 1", httpsource.Job{PageSize: 1}},
		{"page size 500", httpsource.Job{PageSize: 500}},
		{"every filter", httpsource.Job{Filter: m{
			"extend":                      []any{"image", "organization", "diplomas", "actions-info", "user-rule-actions-info", "last-next-intervention", "stats", "user-rule", "user-organization-actions-info"},
			"whereType":                   []any{1, 2.0},
			"whereFirstName":              "John",
			"whereLastName":               "Doe",
			"whereEmail":                  "test@mail.com",
			"wherePhone":                  "0123456789",
			"whereLang":                   "fr",
			"whereActivatedAt":            m{"start": "2021-01-01T00:00:00.000Z", "end": yamlTime},
			"whereIsDeleted":              true,
			"whereUpdatedAt":              m{"start": "2021-01-01T00:00:00+01:00"},
			"whereCreatedAt":              m{"end": "2021-12-31T23:59:59Z"},
			"whereText":                   "safety",
			"whereRuleIds":                []any{1},
			"whereMissingRuleIds":         []any{uint64(2)},
			"whereRuleIdIsInPerimeter":    1,
			"whereRuleIdIsNotInPerimeter": -9007199254740991,
			"whereGuest":                  false,
			"whereIsInvited":              true,
			"whereFullName":               "John Doe",
			"whereProfessionIds":          []any{1, 2, 3},
			"whereDiplomaTitleIds":        []any{9007199254740991},
			"wherePermission":             3.0,
			"whereUserIds":                []any{1, 1000},
		}}},
		{"empty extend", httpsource.Job{Filter: m{"extend": []any{}}}},
		{"range of one instant", httpsource.Job{Filter: m{"whereUpdatedAt": m{"start": yamlTime, "end": yamlTime}}}},
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
	p := sourcetest.Problems
	tests := []struct {
		name string
		job  httpsource.Job
		want []httpsource.Problem
	}{
		{"page size 501", httpsource.Job{PageSize: 501}, p("page_size", "must be between 1 and 500")},
		{"negative page size", httpsource.Job{PageSize: -1}, p("page_size", "must be between 1 and 500")},
		{"sort", httpsource.Job{Sort: []any{m{"firstName": "asc"}}}, p("sort", "not supported: the docs do not describe orderBy")},
		{"unknown where key", httpsource.Job{Filter: m{"whereColour": "red"}}, p("filter.whereColour", "unknown filter; valid: "+validKeys)},
		{"where key in the wrong case", httpsource.Job{Filter: m{"whereemail": "x"}}, p("filter.whereemail", "unknown filter; valid: "+validKeys)},
		{"page size as a filter", httpsource.Job{Filter: m{"pageSize": 10}}, p("filter.pageSize", "not a filter: set the job's page_size")},
		{"paging as a filter", httpsource.Job{Filter: m{"page": 2, "findId": 5, "includeCount": false}}, p(
			"filter.findId", "not a filter: the export does its own paging",
			"filter.includeCount", "not a filter: the export does its own paging",
			"filter.page", "not a filter: the export does its own paging")},
		{"orderBy", httpsource.Job{Filter: m{"orderBy": []any{}}}, p("filter.orderBy", "not supported: the export leaves it to the API's default")},
		{"string not a string", httpsource.Job{Filter: m{"whereEmail": 5}}, p("filter.whereEmail", "must be a non-empty string")},
		{"empty string", httpsource.Job{Filter: m{"whereLang": ""}}, p("filter.whereLang", "must be a non-empty string")},
		{"bool as text", httpsource.Job{Filter: m{"whereIsDeleted": "true"}}, p("filter.whereIsDeleted", "must be true or false")},
		{"integer as text", httpsource.Job{Filter: m{"wherePermission": "1"}}, p("filter.wherePermission", "must be an integer")},
		{"integer fraction", httpsource.Job{Filter: m{"whereRuleIdIsInPerimeter": 1.5}}, p("filter.whereRuleIdIsInPerimeter", "must be an integer")},
		{"integer past the API's range", httpsource.Job{Filter: m{"whereRuleIdIsNotInPerimeter": 1 << 53}},
			p("filter.whereRuleIdIsNotInPerimeter", "must be between -9007199254740991 and 9007199254740991")},
		{"list as one integer", httpsource.Job{Filter: m{"whereType": 1}}, p("filter.whereType", "must be a non-empty list of integers")},
		{"empty list", httpsource.Job{Filter: m{"whereUserIds": []any{}}}, p("filter.whereUserIds", "must be a non-empty list of integers")},
		{"list items", httpsource.Job{Filter: m{"whereRuleIds": []any{1, "2", 2.5, -1 << 60}}}, p(
			"filter.whereRuleIds[1]", "must be an integer",
			"filter.whereRuleIds[2]", "must be an integer",
			"filter.whereRuleIds[3]", "must be between -9007199254740991 and 9007199254740991")},
		{"range as text", httpsource.Job{Filter: m{"whereUpdatedAt": "2021-01-01T00:00:00Z"}}, p("filter.whereUpdatedAt", rangeShape)},
		{"range without bounds", httpsource.Job{Filter: m{"whereCreatedAt": m{}}}, p("filter.whereCreatedAt", rangeShape)},
		{"range bound not a timestamp", httpsource.Job{Filter: m{"whereUpdatedAt": m{"start": "yesterday", "end": 5}}}, p(
			"filter.whereUpdatedAt.end", notRFC3339,
			"filter.whereUpdatedAt.start", notRFC3339)},
		{"range bound a date only", httpsource.Job{Filter: m{"whereActivatedAt": m{"end": "2021-12-31"}}}, p("filter.whereActivatedAt.end", notRFC3339)},
		{"range unknown key", httpsource.Job{Filter: m{"whereUpdatedAt": m{"from": "2021-01-01T00:00:00Z", "start": "2021-01-01T00:00:00Z"}}},
			p("filter.whereUpdatedAt.from", "unknown key; valid: end, start")},
		{"range start after end", httpsource.Job{Filter: m{"whereCreatedAt": m{"start": "2022-01-01T01:00:00+01:00", "end": "2021-12-31T23:59:59.5Z"}}},
			p("filter.whereCreatedAt", "start 2022-01-01T01:00:00+01:00 is after end 2021-12-31T23:59:59.5Z")},
		{"extend as text", httpsource.Job{Filter: m{"extend": "organization"}}, p("filter.extend", "must be a list of: "+validExtends)},
		{"extend unknown options", httpsource.Job{Filter: m{"extend": []any{"organization", "colour", 5, "target-rule"}}}, p(
			"filter.extend[1]", `unknown option "colour"; valid: `+validExtends,
			"filter.extend[2]", `unknown option 5; valid: `+validExtends,
			"filter.extend[3]", `unknown option "target-rule"; valid: `+validExtends)},
		{"every problem at once, filters in key order", httpsource.Job{
			PageSize: 1000,
			Filter:   m{"whereType": []any{"a"}, "extend": []any{"x"}, "whereColour": 1},
			Sort:     "id",
		}, p(
			"page_size", "must be between 1 and 500",
			"sort", "not supported: the docs do not describe orderBy",
			"filter.extend[0]", `unknown option "x"; valid: `+validExtends,
			"filter.whereColour", "unknown filter; valid: "+validKeys,
			"filter.whereType[0]", "must be an integer",
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

// TestFilterDocs checks what `export providers` shows: every documented
// parameter but paging and order, each with its type and, for arrays,
// ranges and extend, its encoding.
func TestFilterDocs(t *testing.T) {
	var keys []string
	for _, f := range Filters() {
		keys = append(keys, f.Key)
		var wantEnc string
		switch f.Type {
		case "list of integers":
			wantEnc = "sent as repeated keys: " + f.Key + "=1&" + f.Key + "=2"
		case "{start, end} of RFC 3339 timestamps":
			wantEnc = "sent in UTC to the millisecond as " + f.Key + "[start]=...&" + f.Key + "[end]=..."
		case "list of strings":
			wantEnc = "sent as repeated keys: extend=stats&extend=organization"
		case "string", "bool", "integer":
		default:
			t.Errorf("%s: type %q", f.Key, f.Type)
		}
		if f.Doc == "" || !strings.HasSuffix(f.Doc, wantEnc) || strings.HasSuffix(f.Doc, "; ") {
			t.Errorf("%s (%s): doc %q, want it to end with %q", f.Key, f.Type, f.Doc, wantEnc)
		}
	}
	if got := strings.Join(slices.Sorted(slices.Values(keys)), ", "); got != validKeys {
		t.Errorf("documented filters\n%s\nwant\n%s", got, validKeys)
	}
	if p := Provider(); p.Name != "kare" || p.Method != "GET" || p.Endpoint != "/users/v1/rs" ||
		p.PageSize.Default != 50 || p.PageSize.Max != 500 || p.Sort != "" ||
		!strings.Contains(p.AuthKinds[0], "x-session-token") || !strings.HasPrefix(p.AuthKinds[0], "bearer") {
		t.Errorf("provider %+v", p)
	}
}

func TestNewQuery(t *testing.T) {
	tests := []struct {
		name string
		job  httpsource.Job
		want []string // the URL of page index 2 of each listing
	}{
		{"defaults: the not deleted users, then the deleted ones", httpsource.Job{BaseURL: "https://h/main"}, []string{
			"https://h/main/users/v1/rs?includeCount=true&page=3&pageSize=50&whereIsDeleted=false",
			"https://h/main/users/v1/rs?includeCount=true&page=3&pageSize=50&whereIsDeleted=true",
		}},
		{"whereIsDeleted: that listing only", httpsource.Job{BaseURL: "https://h", Filter: m{"whereIsDeleted": true}}, []string{
			"https://h/users/v1/rs?includeCount=true&page=3&pageSize=50&whereIsDeleted=true",
		}},
		{"arrays repeat their key, ranges use brackets", httpsource.Job{
			BaseURL:  "https://h",
			PageSize: 100,
			Filter: m{
				"extend":          []any{"stats", "organization"},
				"whereType":       []any{1, 2.0},
				"whereFirstName":  "Zoë & co",
				"whereGuest":      false,
				"wherePermission": 7,
				"whereUpdatedAt": m{
					"start": "2021-01-01T01:00:00+01:00",
					"end":   time.Date(2021, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
				},
				"whereCreatedAt": m{"end": "2022-06-01T00:00:00Z"},
			},
		}, []string{
			"https://h/users/v1/rs?extend=stats&extend=organization&includeCount=true&page=3&pageSize=100" +
				"&whereCreatedAt%5Bend%5D=2022-06-01T00%3A00%3A00.000Z&whereFirstName=Zo%C3%AB+%26+co&whereGuest=false" +
				"&whereIsDeleted=false&wherePermission=7&whereType=1&whereType=2" +
				"&whereUpdatedAt%5Bend%5D=2021-12-31T23%3A59%3A59.999Z&whereUpdatedAt%5Bstart%5D=2021-01-01T00%3A00%3A00.000Z",
			"https://h/users/v1/rs?extend=stats&extend=organization&includeCount=true&page=3&pageSize=100" +
				"&whereCreatedAt%5Bend%5D=2022-06-01T00%3A00%3A00.000Z&whereFirstName=Zo%C3%AB+%26+co&whereGuest=false" +
				"&whereIsDeleted=true&wherePermission=7&whereType=1&whereType=2" +
				"&whereUpdatedAt%5Bend%5D=2021-12-31T23%3A59%3A59.999Z&whereUpdatedAt%5Bstart%5D=2021-01-01T00%3A00%3A00.000Z",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := New(tt.job, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range src.(*source).listings {
				got = append(got, l.(*listing).pageURL(2))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("URLs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	_, err := New(httpsource.Job{Name: "j", PageSize: 501, Filter: m{"whereColour": 1}}, nil)
	want := `kare: invalid config: page_size: must be between 1 and 500; filter.whereColour: unknown filter; valid: ` + validKeys
	if err == nil || err.Error() != want {
		t.Errorf("New error = %v, want %s", err, want)
	}
}
