package nameshield

import (
	"cmp"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/simdata"
)

// simGet sends a request to the simulator mounted under a prefix, as the
// built-in `base_url: simulator` mounts every provider.
func simGet(t *testing.T, sim http.Handler, method, query string) (int, []byte) {
	t.Helper()
	return sourcetest.Call(t, sim, Name, method, Endpoint+"?"+query, "")
}

func simList(t *testing.T, sim http.Handler, query string) simResponse {
	t.Helper()
	return sourcetest.CallOK[simResponse](t, sim, Name, http.MethodGet, Endpoint+"?"+query, "")
}

func TestSimulatorRendersLikeTheDocs(t *testing.T) {
	people := &simdata.People{N: 50, Seed: 2}
	var i int // a person with every optional field, and one phone at least
	for i = range people.N {
		p := people.Person(i)
		if !p.ExpiresAt.IsZero() && !p.LastLoginAt.IsZero() && len(p.Phones) > 0 {
			break
		}
	}
	p := people.Person(i)
	_, raw := simGet(t, Simulator(people), http.MethodGet, "limit=1&offset="+strconv.Itoa(i))
	var doc struct {
		Message string
		Data    struct {
			Total               int
			IncludeSubsidiaries bool `json:"include_subsidiaries"`
			Limit, Offset       int
			Sort                []string
			Results             []map[string]any
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Message != "OK" || doc.Data.Total != 50 || !doc.Data.IncludeSubsidiaries || doc.Data.Limit != 1 ||
		doc.Data.Offset != i || doc.Data.Sort == nil || len(doc.Data.Sort) != 0 || len(doc.Data.Results) != 1 {
		t.Fatalf("envelope %s", raw)
	}
	u := doc.Data.Results[0]
	at := func(t time.Time) string {
		return t.In(time.FixedZone("", 3600)).Format("2006-01-02T15:04:05") + "+01:00"
	}
	want := map[string]any{
		"id": p.UUID, "firstname": p.FirstName, "lastname": p.LastName, "email": p.Email,
		"language": p.Language, "phone": p.Phones[0], "customer_id": float64(p.OrgID),
		"expires_at":    at(p.ExpiresAt),
		"last_login_at": at(p.LastLoginAt),
		"created_at":    at(p.CreatedAt),
		"updated_at":    at(p.UpdatedAt),
		"created_by":    map[string]any{"id": "7a1506b9-9ce4-43f9-a6f0-e94ef4252277", "firstname": "Company", "lastname": "Administrator"},
		"updated_by":    map[string]any{"id": "7a1506b9-9ce4-43f9-a6f0-e94ef4252277", "firstname": "Company", "lastname": "Administrator"},
	}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("user\n%v\nwant\n%v", u, want)
	}
}

func TestSimulatorNullsForMissingValues(t *testing.T) {
	people := &simdata.People{N: 200, Seed: 2}
	resp := simList(t, Simulator(people), "limit=200")
	var sawNoPhone, sawNoExpiry, sawNoLogin bool
	for k, u := range resp.Data.Results {
		p := people.Person(k)
		if len(p.Phones) == 0 {
			sawNoPhone = true
			if u.Phone != nil {
				t.Errorf("user %d: phone %q, want null", k, *u.Phone)
			}
		}
		if p.ExpiresAt.IsZero() {
			sawNoExpiry = true
			if u.ExpiresAt != nil {
				t.Errorf("user %d: expires_at %q, want null", k, *u.ExpiresAt)
			}
		}
		if p.LastLoginAt.IsZero() {
			sawNoLogin = true
			if u.LastLoginAt != nil {
				t.Errorf("user %d: last_login_at %q, want null", k, *u.LastLoginAt)
			}
		}
	}
	if !sawNoPhone || !sawNoExpiry || !sawNoLogin {
		t.Errorf("population lacks a case: no phone %v, no expiry %v, no login %v", sawNoPhone, sawNoExpiry, sawNoLogin)
	}
}

func TestSimulatorPagingPastTheEnd(t *testing.T) {
	sim := Simulator(&simdata.People{N: 7, Seed: 1})
	for _, query := range []string{"limit=5&offset=7", "limit=5&offset=100", "customer_id=-1&offset=3"} {
		resp := simList(t, sim, query)
		if resp.Data.Results == nil || len(resp.Data.Results) != 0 {
			t.Errorf("%s: results %v, want []", query, resp.Data.Results)
		}
		if strings.HasPrefix(query, "limit") && resp.Data.Total != 7 {
			t.Errorf("%s: total %d, want 7", query, resp.Data.Total)
		}
	}
	if resp := simList(t, sim, "limit=5&offset=5"); len(resp.Data.Results) != 2 || resp.Data.Results[0].ID != (&simdata.People{N: 7, Seed: 1}).Person(5).UUID {
		t.Errorf("last page: %+v", resp.Data.Results)
	}
	if resp := simList(t, Simulator(&simdata.People{N: 150, Seed: 1}), ""); resp.Data.Limit != 100 || len(resp.Data.Results) != 100 {
		t.Errorf("default limit: %d, %d results", resp.Data.Limit, len(resp.Data.Results))
	}
}

func TestSimulatorFilters(t *testing.T) {
	people := &simdata.People{N: 300, Seed: 4}
	p0 := people.Person(0)
	tests := []struct {
		query string
		want  func(p simdata.Person) bool
	}{
		{"customer_id=" + strconv.Itoa(p0.OrgID), func(p simdata.Person) bool { return p.OrgID == p0.OrgID }},
		{"id=" + p0.UUID, func(p simdata.Person) bool { return p.UUID == p0.UUID }},
		{"id=" + p0.UUID[:4] + "*", func(p simdata.Person) bool { return strings.HasPrefix(p.UUID, p0.UUID[:4]) }},
		{"firstname=J*", func(p simdata.Person) bool { return strings.HasPrefix(p.FirstName, "J") }},
		{"firstname=j*", func(p simdata.Person) bool { return strings.HasPrefix(p.FirstName, "J") }}, // case-insensitive
		{"lastname=*e*e*", func(p simdata.Person) bool { return strings.Count(strings.ToLower(p.LastName), "e") >= 2 }},
		{"lastname=Doe", func(p simdata.Person) bool { return p.LastName == "Doe" }},
		{"email=*%40example.org", func(p simdata.Person) bool { return strings.HasSuffix(p.Email, "@example.org") }},
		{"email=*%40example.org&customer_id=" + strconv.Itoa(p0.OrgID),
			func(p simdata.Person) bool { return strings.HasSuffix(p.Email, "@example.org") && p.OrgID == p0.OrgID }},
		{"created_by=7a15*", func(simdata.Person) bool { return true }},
		{"updated_by=nobody", func(simdata.Person) bool { return false }},
		{"include_subsidiaries=false", func(simdata.Person) bool { return true }},
	}
	sim := Simulator(people)
	for _, tt := range tests {
		var want []string
		for _, p := range people.All() {
			if tt.want(p) {
				want = append(want, p.UUID)
			}
		}
		resp := simList(t, sim, tt.query+"&limit=500")
		var got []string
		for _, u := range resp.Data.Results {
			got = append(got, u.ID)
		}
		if !slices.Equal(got, want) || resp.Data.Total != len(want) {
			t.Errorf("%s: %d users (total %d), want %d", tt.query, len(got), resp.Data.Total, len(want))
		}
	}
}

func TestSimulatorSortIsStableAndMultiKey(t *testing.T) {
	people := &simdata.People{N: 400, Seed: 6}
	sim := Simulator(people)
	resp := simList(t, sim, "sort[]=lastname:desc&sort[]=customer_id:asc&limit=500")
	want := people.All()
	slices.SortStableFunc(want, func(a, b simdata.Person) int {
		return cmp.Or(-strings.Compare(a.LastName, b.LastName), cmp.Compare(a.OrgID, b.OrgID))
	})
	for k, u := range resp.Data.Results {
		if u.ID != want[k].UUID {
			t.Fatalf("user %d is %s, want %s", k, u.ID, want[k].UUID)
		}
	}
	if !slices.Equal(resp.Data.Sort, []string{"lastname:desc", "customer_id:asc"}) {
		t.Errorf("sort echoed as %v", resp.Data.Sort)
	}
	// Pages of the same listing agree with the whole, also in another order
	// in between (the simulator keeps only the last selection).
	page2 := simList(t, sim, "sort[]=lastname:desc&sort[]=customer_id:asc&limit=100&offset=200")
	simList(t, sim, "sort[]=id:asc")
	page3 := simList(t, sim, "sort[]=lastname:desc&sort[]=customer_id:asc&limit=100&offset=300")
	if page2.Data.Results[0].ID != want[200].UUID || page3.Data.Results[99].ID != want[399].UUID {
		t.Errorf("pages disagree with the whole listing")
	}
	for _, field := range strings.Split(sortFieldList, ", ") {
		for _, dir := range []string{"asc", "desc"} {
			if resp := simList(t, sim, "sort[]="+field+":"+dir); resp.Data.Total != people.N {
				t.Errorf("sort on %s:%s: total %d", field, dir, resp.Data.Total)
			}
		}
	}
}

func TestSimulatorErrors(t *testing.T) {
	sim := Simulator(&simdata.People{N: 10, Seed: 1})
	tests := []struct {
		method, query string
		status        int
		message       string
	}{
		{http.MethodPost, "", 405, "use GET"},
		{http.MethodGet, "limit=501", 400, "limit must be an integer from 1 to 500"},
		{http.MethodGet, "limit=0", 400, "limit must be an integer from 1 to 500"},
		{http.MethodGet, "limit=x", 400, "limit must be an integer from 1 to 500"},
		{http.MethodGet, "offset=-1", 400, "offset must be a non-negative integer"},
		{http.MethodGet, "customer_id=abc", 400, "customer_id must be an integer"},
		{http.MethodGet, "include_subsidiaries=maybe", 400, "include_subsidiaries must be true or false"},
		{http.MethodGet, "sort[]=name:asc", 400, `sort[]: unknown field "name"; sortable: ` + sortFieldList},
		{http.MethodGet, "sort[]=id", 400, `sort[]: must be "field:asc" or "field:desc"`},
	}
	for _, tt := range tests {
		status, raw := simGet(t, sim, tt.method, tt.query)
		var resp struct{ Message string }
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatal(err)
		}
		if status != tt.status || resp.Message != tt.message {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.query, status, resp.Message, tt.status, tt.message)
		}
	}
}

func TestWildcard(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"doe", "doe", true},
		{"doe", "does", false},
		{"*", "", true},
		{"d*", "doe", true},
		{"*e", "doe", true},
		{"*o*", "doe", true},
		{"d*e", "de", true},
		{"a*a", "a", false},
		{"a*b*c", "abxbc", true},
		{"a*b*c", "acb", false},
		{"**", "x", true},
	}
	for _, tt := range tests {
		if got := wildcard(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// TestSimulatorServesThePresentPeople checks that each request sees the
// population as it is then, through the cached selection of a sorted
// listing too: inserted people first in natural order, deleted ones gone.
func TestSimulatorServesThePresentPeople(t *testing.T) {
	pop := simdata.NewPopulation(20, 1)
	sim := Simulator(pop.People())
	uuids := func(resp simResponse) []string {
		var out []string
		for _, u := range resp.Data.Results {
			out = append(out, u.ID)
		}
		return out
	}
	before := uuids(simList(t, sim, "sort[]=id:asc&limit=500"))
	inserted := pop.People().Person(pop.Insert(1)[0]).UUID
	deleted := pop.People().Person(pop.Delete(1)[0]).UUID
	sorted := uuids(simList(t, sim, "sort[]=id:asc&limit=500"))
	if len(before) != 20 || len(sorted) != 20 || !slices.Contains(sorted, inserted) ||
		slices.Contains(sorted, deleted) || !slices.IsSorted(sorted) {
		t.Errorf("sorted listing %v: inserted %s, deleted %s", sorted, inserted, deleted)
	}
	natural := simList(t, sim, "limit=5")
	if natural.Data.Total != 20 || natural.Data.Results[0].ID != inserted {
		t.Errorf("natural order: total %d, first %s, want %s", natural.Data.Total, natural.Data.Results[0].ID, inserted)
	}
	if got, want := uuids(simList(t, sim, "limit=500")), SimulatedIDs(pop.People()); !slices.Equal(got, want) {
		t.Errorf("listing %v, SimulatedIDs %v", got, want)
	}
}
