package kare

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/simdata"
)

// withAuth adds the headers the simulator requires, as a job's auth does.
func withAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", "Bearer t")
		r.Header.Set("x-session-token", "s")
		h.ServeHTTP(w, r)
	})
}

// simResult is a response as a client reads it.
type simResult struct {
	Data       []map[string]any `json:"data"`
	TotalCount *int             `json:"totalCount"`
	Pagination struct{ Page, PageSize int }
}

func simList(t *testing.T, sim http.Handler, query string) simResult {
	t.Helper()
	return sourcetest.CallOK[simResult](t, withAuth(sim), Name, http.MethodGet, Endpoint+"?"+query, "")
}

func dataIDs(r simResult) []string {
	out := make([]string, len(r.Data))
	for i, u := range r.Data {
		out[i] = strconv.FormatFloat(u["id"].(float64), 'f', -1, 64)
	}
	return out
}

func TestSimulatorServesTheDocUserVerbatim(t *testing.T) {
	body, err := os.ReadFile(testdata + "/doc-example.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc simResult
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	sim := Simulator(&simdata.People{N: 1})
	for _, query := range []string{"whereIsDeleted=true", "whereIsDeleted=true&extend=organization&includeCount=true&whereLang=fr"} {
		resp := simList(t, sim, query)
		if !reflect.DeepEqual(resp.Data, doc.Data) {
			t.Errorf("%s: data\n%v\nwant\n%v", query, resp.Data, doc.Data)
		}
	}
	// The docs' user is deleted, so hidden by default, and filters apply to it.
	for _, query := range []string{"includeCount=true", "whereIsDeleted=false&includeCount=true",
		"whereIsDeleted=true&whereLang=nl&includeCount=true", "whereIsDeleted=true&whereUserIds=2&includeCount=true"} {
		if resp := simList(t, sim, query); len(resp.Data) != 0 || resp.TotalCount == nil || *resp.TotalCount != 0 {
			t.Errorf("%s: %d users, total %v; want none", query, len(resp.Data), resp.TotalCount)
		}
	}
}

func TestSimulatorRendersPeople(t *testing.T) {
	people := &simdata.People{N: 50, Seed: 2}
	var p simdata.Person
	for _, q := range people.All() {
		if q.Inactive && len(q.Phones) > 0 {
			p = q
			break
		}
	}
	if !p.Inactive {
		t.Fatal("no deleted person with a phone")
	}
	resp := simList(t, Simulator(people), "whereIsDeleted=true&whereUserIds="+strconv.Itoa(p.Number)+
		"&extend=organization&extend=stats&extend=diplomas&extend=user-rule&extend=image")
	if len(resp.Data) != 1 {
		t.Fatalf("%d users", len(resp.Data))
	}
	at := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	prof := professions()[p.Index%4]
	var dips []any
	for _, d := range diplomas()[:p.Index%4] {
		dips = append(dips, map[string]any{"id": float64(d.ID), "name": d.Name})
	}
	want := map[string]any{
		"id": float64(p.Number), "key": p.UUID, "type": float64(1 + p.Index%2),
		"firstName": p.FirstName, "lastName": p.LastName, "email": p.Email, "phone": p.Phones[0], "lang": p.Language,
		"activatedAt": at(p.CreatedAt), "updatedAt": at(p.UpdatedAt), "createdAt": at(p.CreatedAt), "deletedAt": at(p.UpdatedAt),
		"permissions":  map[string]any{"group": 1.0, "read": []any{float64(p.OrgID)}, "manage": []any{}},
		"scope":        1.0,
		"profession":   map[string]any{"id": float64(prof.ID), "name": prof.Name},
		"organization": map[string]any{"id": float64(p.OrgID), "name": "Organization " + strconv.Itoa(p.OrgID)},
		"diplomas":     append([]any{}, dips...),
		"stats":        map[string]any{"nbPastDue": float64(p.Index % 6), "nbFutureDue": float64(p.Number % 4)},
		"userRules": []any{map[string]any{
			"id": float64(p.Number), "dueAt": at(p.CreatedAt.AddDate(1, 0, 0)), "contractId": 8.0, "routineId": 5.0,
			"archivedAt": nil, "deletedAt": nil, "createdAt": at(p.CreatedAt),
			"rule": map[string]any{
				"id": 1.0, "name": "Annual Safety Check", "sourceType": 1.0, "rrule": "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=1",
				"userScopes": []any{map[string]any{"professionIds": []any{float64(prof.ID)}, "diplomaIds": []any{}}},
				"createdAt":  at(p.CreatedAt),
			},
		}},
	}
	if got := resp.Data[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("user\n%v\nwant\n%v", got, want)
	}
}

func TestSimulatorNullsForMissingValues(t *testing.T) {
	people := &simdata.People{N: 200, Seed: 2}
	resp := simList(t, Simulator(people), "pageSize=200&whereIsDeleted=false")
	var sawNoPhone bool
	for _, u := range resp.Data {
		p := people.Person(int(u["id"].(float64)) - 1000)
		if len(p.Phones) == 0 {
			sawNoPhone = true
			if v, ok := u["phone"]; !ok || v != nil {
				t.Errorf("user %d: phone %v, want null", p.Number, v)
			}
		}
		if v, ok := u["deletedAt"]; !ok || v != nil {
			t.Errorf("user %d: deletedAt %v, want null", p.Number, v)
		}
		for _, extend := range []string{"organization", "diplomas", "userRules", "stats"} {
			if _, ok := u[extend]; ok {
				t.Errorf("user %d has %s without the extend", p.Number, extend)
			}
		}
	}
	if !sawNoPhone {
		t.Error("population lacks a user without a phone")
	}
}

func TestSimulatorPaging(t *testing.T) {
	people := &simdata.People{N: 150, Seed: 1}
	shown, _ := split(people)
	sim := Simulator(people)
	resp := simList(t, sim, "page=2&pageSize=10&includeCount=true")
	if !slices.Equal(dataIDs(resp), shown[10:20]) || resp.TotalCount == nil || *resp.TotalCount != len(shown) ||
		resp.Pagination.Page != 2 || resp.Pagination.PageSize != 10 {
		t.Errorf("page 2: ids %v, total %v, pagination %+v", dataIDs(resp), resp.TotalCount, resp.Pagination)
	}
	if def := simList(t, sim, ""); len(def.Data) != 50 || def.TotalCount != nil || def.Pagination.Page != 1 || def.Pagination.PageSize != 50 {
		t.Errorf("defaults: %d users, total %v, pagination %+v; want 50, none, page 1 of 50", len(def.Data), def.TotalCount, def.Pagination)
	}
	last := (len(shown) + 9) / 10
	if resp := simList(t, sim, "pageSize=10&page="+strconv.Itoa(last)); !slices.Equal(dataIDs(resp), shown[(last-1)*10:]) {
		t.Errorf("last page: %v", dataIDs(resp))
	}
	for _, page := range []string{strconv.Itoa(last + 1), "9007199254740991"} {
		if resp := simList(t, sim, "pageSize=500&includeCount=true&page="+page); resp.Data == nil || len(resp.Data) != 0 || *resp.TotalCount != len(shown) {
			t.Errorf("page %s past the end: %v, total %v; want [] and %d", page, resp.Data, resp.TotalCount, len(shown))
		}
	}
}

func TestSimulatorFilters(t *testing.T) {
	people := &simdata.People{N: 300, Seed: 4}
	p0 := people.Person(0)
	mid := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	shown := func(p simdata.Person) bool { return !p.Inactive }
	tests := []struct {
		query string
		want  func(p simdata.Person) bool
	}{
		{"", shown},
		{"whereIsDeleted=true", func(p simdata.Person) bool { return p.Inactive }},
		{"whereIsDeleted=false", shown},
		{"whereFirstName=" + p0.FirstName[:2], func(p simdata.Person) bool { return shown(p) && strings.HasPrefix(p.FirstName, p0.FirstName[:2]) }},
		{"whereLastName=E", func(p simdata.Person) bool { return shown(p) && strings.Contains(strings.ToLower(p.LastName), "e") }},
		{"whereFullName=" + url.QueryEscape(p0.FirstName+" "+p0.LastName), func(p simdata.Person) bool {
			return shown(p) && p.FirstName == p0.FirstName && p.LastName == p0.LastName
		}},
		{"whereText=" + url.QueryEscape(p0.LastName), func(p simdata.Person) bool { return shown(p) && p.LastName == p0.LastName }},
		{"whereEmail=%40example.org", func(p simdata.Person) bool { return shown(p) && strings.HasSuffix(p.Email, "@example.org") }},
		{"wherePhone=%2B32+4", func(p simdata.Person) bool { return shown(p) && len(p.Phones) > 0 }},
		{"whereLang=nl&whereIsDeleted=true", func(p simdata.Person) bool { return p.Inactive && p.Language == "nl" }},
		{"whereType=2", func(p simdata.Person) bool { return shown(p) && p.Index%2 == 1 }},
		{"whereType=1&whereType=2", shown},
		{"whereUserIds=1000&whereUserIds=1003&whereUserIds=5", func(p simdata.Person) bool { return shown(p) && (p.Index == 0 || p.Index == 3) }},
		{"whereProfessionIds=3", func(p simdata.Person) bool { return shown(p) && p.Index%4 == 2 }},
		{"whereCreatedAt%5Bstart%5D=2022-01-01T00%3A00%3A00.000Z", func(p simdata.Person) bool { return shown(p) && !p.CreatedAt.Before(mid) }},
		{"whereActivatedAt[end]=2022-01-01T00:00:00Z", func(p simdata.Person) bool { return shown(p) && !p.CreatedAt.After(mid) }},
		{"whereUpdatedAt[start]=" + url.QueryEscape(p0.UpdatedAt.Format(time.RFC3339)) + "&whereUpdatedAt[end]=" + url.QueryEscape(p0.UpdatedAt.In(time.FixedZone("", 3600)).Format(time.RFC3339)),
			func(p simdata.Person) bool { return shown(p) && p.UpdatedAt.Equal(p0.UpdatedAt) }},
		// Checked, then ignored: people have no such data.
		{"whereGuest=true&whereIsInvited=false&whereRuleIds=1&whereMissingRuleIds=2&whereRuleIdIsInPerimeter=1" +
			"&whereRuleIdIsNotInPerimeter=2&whereDiplomaTitleIds=3&wherePermission=4", shown},
	}
	sim := Simulator(people)
	for _, tt := range tests {
		var want []string
		for _, p := range people.All() {
			if tt.want(p) {
				want = append(want, strconv.Itoa(p.Number))
			}
		}
		if len(want) == 0 && tt.query != "" {
			t.Errorf("%s: the population has no match; the test proves nothing", tt.query)
		}
		resp := simList(t, sim, tt.query+"&pageSize=500&includeCount=true")
		if got := dataIDs(resp); !slices.Equal(got, want) || *resp.TotalCount != len(want) {
			t.Errorf("%s: %d users (total %d), want %d", tt.query, len(got), *resp.TotalCount, len(want))
		}
	}
}

func TestSimulatorErrors(t *testing.T) {
	sim := Simulator(&simdata.People{N: 10, Seed: 1})
	const safe = "from -9007199254740991 to 9007199254740991"
	tests := []struct {
		method, query string
		status        int
		message       string
	}{
		{http.MethodPost, "", 405, "use GET"},
		{http.MethodGet, "whereType[]=1", 400, "property whereType[] should not exist"},
		{http.MethodGet, "whereType[0]=1", 400, "property whereType[0] should not exist"},
		{http.MethodGet, "extend[]=stats", 400, "property extend[] should not exist"},
		{http.MethodGet, "whereUpdatedAt=2021-01-01T00:00:00Z", 400, "property whereUpdatedAt should not exist"},
		{http.MethodGet, "whereUpdatedAt[from]=2021-01-01T00:00:00Z", 400, "property whereUpdatedAt[from] should not exist"},
		{http.MethodGet, "whereUpdatedAt.start=2021-01-01T00:00:00Z", 400, "property whereUpdatedAt.start should not exist"},
		{http.MethodGet, "whereLang[start]=fr", 400, "property whereLang[start] should not exist"},
		{http.MethodGet, "whereColour=red", 400, "property whereColour should not exist"},
		{http.MethodGet, "findId=3", 400, "property findId should not exist"},
		{http.MethodGet, "whereUpdatedAt[start]=yesterday", 400, "whereUpdatedAt[start] must be a valid ISO 8601 date string"},
		{http.MethodGet, "whereIsDeleted=1", 400, "whereIsDeleted must be a boolean value"},
		{http.MethodGet, "whereGuest=yes", 400, "whereGuest must be a boolean value"},
		{http.MethodGet, "whereIsDeleted=true&whereIsDeleted=false", 400, "whereIsDeleted must be given once"},
		{http.MethodGet, "whereType=1,2", 400, "whereType must be an integer " + safe},
		{http.MethodGet, "whereUserIds=9007199254740992", 400, "whereUserIds must be an integer " + safe},
		{http.MethodGet, "wherePermission=x", 400, "wherePermission must be an integer " + safe},
		{http.MethodGet, "extend=stats&extend=colour", 400, "each value in extend must be one of: " + strings.Join(extendOptions(), ", ")},
		{http.MethodGet, "page=0", 400, "page must be an integer from 1 to 9007199254740991"},
		{http.MethodGet, "pageSize=501", 400, "pageSize must be an integer from 1 to 500"},
		{http.MethodGet, "pageSize=10&pageSize=20", 400, "pageSize must be given once"},
		{http.MethodGet, "includeCount=1", 400, "includeCount must be a boolean value"},
	}
	for _, tt := range tests {
		status, raw := sourcetest.Call(t, withAuth(sim), Name, tt.method, Endpoint+"?"+tt.query, "")
		var resp struct {
			StatusCode int
			Message    string
			Error      string
		}
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatal(err)
		}
		if status != tt.status || resp.StatusCode != tt.status || resp.Message != tt.message || resp.Error != http.StatusText(tt.status) {
			t.Errorf("%s %s: %d %s, want %d %q", tt.method, tt.query, status, raw, tt.status, tt.message)
		}
	}
}

func TestSimulatorAuthAndPath(t *testing.T) {
	sim := Simulator(&simdata.People{N: 10, Seed: 1})
	tests := []struct {
		name    string
		path    string
		header  map[string]string
		status  int
		message string
	}{
		{"no auth", Endpoint, nil, 401, "missing bearer token in the Authorization header"},
		{"basic auth", Endpoint, map[string]string{"Authorization": "Basic dTpw", "x-session-token": "s"}, 401,
			"missing bearer token in the Authorization header"},
		{"empty bearer", Endpoint, map[string]string{"Authorization": "Bearer ", "x-session-token": "s"}, 401,
			"missing bearer token in the Authorization header"},
		{"bearer only", Endpoint, map[string]string{"Authorization": "Bearer t"}, 401, "missing x-session-token header"},
		{"both", Endpoint, map[string]string{"Authorization": "Bearer t", "x-session-token": "s"}, 200, ""},
		{"unknown path", "/users/v2/rs", map[string]string{"Authorization": "Bearer t", "x-session-token": "s"}, 404,
			"Cannot GET /users/v2/rs"},
	}
	for _, tt := range tests {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			sim.ServeHTTP(w, r)
		})
		status, raw := sourcetest.Call(t, h, Name, http.MethodGet, tt.path, "")
		var resp struct{ Message string }
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatal(err)
		}
		if status != tt.status || resp.Message != tt.message {
			t.Errorf("%s: %d %s, want %d %q", tt.name, status, raw, tt.status, tt.message)
		}
	}
}

// TestSimulatorServesThePresentPeople checks that each request sees the
// population as it is then, through the cached selection: inserted people
// first in id order, deleted ones gone whatever whereIsDeleted says.
func TestSimulatorServesThePresentPeople(t *testing.T) {
	pop := simdata.NewPopulation(60, 2)
	sim := Simulator(pop.People())
	simList(t, sim, "pageSize=500")
	pop.Insert(3)
	pop.Delete(7)
	want := map[bool][]string{false: {}, true: {}}
	for _, p := range pop.People().Present() {
		want[p.Inactive] = append(want[p.Inactive], strconv.Itoa(p.Number))
	}
	shown := simList(t, sim, "pageSize=500&includeCount=true")
	deleted := simList(t, sim, "pageSize=500&whereIsDeleted=true")
	if !slices.Equal(dataIDs(shown), want[false]) || *shown.TotalCount != len(want[false]) || !slices.Equal(dataIDs(deleted), want[true]) {
		t.Errorf("shown %v (total %d)\ndeleted %v\nwant %v", dataIDs(shown), *shown.TotalCount, dataIDs(deleted), want)
	}
	if got, all := slices.Sorted(slices.Values(append(dataIDs(shown), dataIDs(deleted)...))), SimulatedIDs(pop.People()); !slices.Equal(got, slices.Sorted(slices.Values(all))) {
		t.Errorf("listings %v, SimulatedIDs %v", got, all)
	}

	doc := simdata.NewPopulation(1, 1)
	doc.Insert(2)
	sim = Simulator(doc.People())
	// The docs' user is deleted, and so is the first inserted, for this seed.
	shownIDs, deletedIDs := dataIDs(simList(t, sim, "")), dataIDs(simList(t, sim, "whereIsDeleted=true"))
	if !slices.Equal(shownIDs, []string{"998"}) || !slices.Equal(deletedIDs, []string{"1", "999"}) {
		t.Errorf("the docs' user and two inserted: shown %v, deleted %v, want [998] and [1 999]", shownIDs, deletedIDs)
	}
}
