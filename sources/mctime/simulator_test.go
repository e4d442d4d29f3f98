package mctime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/simdata"
)

func simList(t *testing.T, sim http.Handler, query string) simResponse {
	t.Helper()
	return sourcetest.CallOK[simResponse](t, sim, Name, http.MethodGet, Endpoint+"?"+query, "")
}

func simIDs(resp simResponse) []string {
	var ids []string
	for _, u := range resp.Items[0].Data.Users {
		ids = append(ids, u.ID)
	}
	return ids
}

func compact(t *testing.T, raw []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestSimulatorServesTheDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testdata, "doc-example.json"))
	if err != nil {
		t.Fatal(err)
	}
	var example struct {
		Items []struct {
			Data struct{ Users []json.RawMessage }
		}
	}
	if err := json.Unmarshal(doc, &example); err != nil {
		t.Fatal(err)
	}
	docUsers := example.Items[0].Data.Users
	for n := range 3 {
		_, raw := sourcetest.Call(t, Simulator(&simdata.People{N: n, Seed: 1}), Name, http.MethodGet, Endpoint, "")
		users := []string{}
		for _, u := range docUsers[:n] {
			users = append(users, compact(t, u))
		}
		want := fmt.Sprintf(`{"items":[{"message":"Success","data":{"users":[%s],"page":"1","pageSize":"%d"}}],"valid":true}`,
			strings.Join(users, ","), min(n, 1))
		if got := string(raw); got != want {
			t.Errorf("%d people:\n%s\nwant\n%s", n, got, want)
		}
	}
	// The docs' users are active.
	sim := Simulator(&simdata.People{N: 2, Seed: 1})
	if resp := simList(t, sim, "inactive=true"); len(resp.Items[0].Data.Users) != 0 {
		t.Errorf("inactive docs' users: %v", simIDs(resp))
	}
	if got := simIDs(simList(t, sim, "userIds=987abc45-39c5-436f-a70b-d3a14db753c6")); len(got) != 1 {
		t.Errorf("docs' user by id: %v", got)
	}
}

func TestSimulatorWireFormat(t *testing.T) {
	people := &simdata.People{N: 60, Seed: 1}
	_, raw := sourcetest.Call(t, Simulator(people), Name, http.MethodGet, Endpoint+"?page=3", "")
	var resp struct {
		Items []struct {
			Message string
			Data    map[string]json.RawMessage
		}
		Valid *bool
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	active, _ := byListing(people)
	if len(active) <= 40 || len(active) > 60 {
		t.Fatalf("%d active people, want a short third page", len(active))
	}
	wantCount := strconv.Quote(strconv.Itoa(pagesFor(len(active))))
	if len(resp.Items) != 1 || resp.Items[0].Message != "Success" || resp.Valid == nil || !*resp.Valid ||
		string(resp.Items[0].Data["page"]) != `"3"` || string(resp.Items[0].Data["pageSize"]) != wantCount {
		t.Errorf("response %s", raw)
	}
	var users []map[string]any
	if err := json.Unmarshal(resp.Items[0].Data["users"], &users); err != nil {
		t.Fatal(err)
	}
	p := active[40]
	u := users[0]
	if len(users) != len(active)-40 || len(u) != 5 || u["id"] != p.UUID || u["firstName"] != p.FirstName ||
		u["lastName"] != p.LastName || u["email"] != p.Email {
		t.Errorf("first user of page 3: %v, person %+v", u, p)
	}
	for i, u := range users {
		if p := active[40+i]; len(p.Phones) == 0 && u["mobilePhoneNumber"] != nil ||
			len(p.Phones) > 0 && u["mobilePhoneNumber"] != p.Phones[0] {
			t.Errorf("user %s: mobilePhoneNumber %v, phones %v", p.UUID, u["mobilePhoneNumber"], p.Phones)
		}
	}
}

func TestSimulatorPaging(t *testing.T) {
	people := &simdata.People{N: 437, Seed: 5}
	active, inactive := byListing(people)
	sim := Simulator(people)
	for _, tt := range []struct {
		query string
		want  []simdata.Person
	}{{"", active}, {"inactive=false", active}, {"inactive=true", inactive}} {
		var got []string
		n := pagesFor(len(tt.want))
		for page := 1; page <= n+1; page++ { // one past the end
			resp := simList(t, sim, tt.query+"&page="+strconv.Itoa(page))
			d := resp.Items[0].Data
			if d.Page != strconv.Itoa(page) || d.PageSize != strconv.Itoa(n) || len(d.Users) > PageSize ||
				(page > n) != (len(d.Users) == 0) {
				t.Errorf("%s page %d: page %s, pageSize %s, %d users", tt.query, page, d.Page, d.PageSize, len(d.Users))
			}
			got = append(got, simIDs(resp)...)
		}
		var want []string
		for _, p := range tt.want {
			want = append(want, p.UUID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: %d users, want %d in index order", tt.query, len(got), len(want))
		}
	}
	if got, want := simIDs(simList(t, sim, "")), simIDs(simList(t, sim, "page=1")); !slices.Equal(got, want) {
		t.Errorf("no page is not page 1")
	}
	if d := simList(t, sim, "page=9223372036854775807").Items[0].Data; len(d.Users) != 0 || d.Page != "9223372036854775807" {
		t.Errorf("last int page: %d users, page %s", len(d.Users), d.Page)
	}
}

func TestSimulatorFilters(t *testing.T) {
	people := &simdata.People{N: 600, Seed: 4}
	p0, p1, p2 := people.Person(0), people.Person(1), people.Person(2)
	org := strconv.Itoa(p0.OrgID)
	tests := []struct {
		query string
		want  func(p simdata.Person) bool
	}{
		{"inactive=true", func(p simdata.Person) bool { return p.Inactive }},
		{"userIds=" + p0.UUID + "&userIds=" + p2.UUID, func(p simdata.Person) bool {
			return !p.Inactive && (p.UUID == p0.UUID || p.UUID == p2.UUID)
		}},
		{"organizationId=" + org, func(p simdata.Person) bool { return !p.Inactive && p.OrgID == p0.OrgID }},
		{"organizationName=" + url.QueryEscape("Org "+org), func(p simdata.Person) bool { return !p.Inactive && p.OrgID == p0.OrgID }},
		{"organizationId=" + org + "&organizationName=" + url.QueryEscape(simOrgName(p1.OrgID+100)), // the name is ignored
			func(p simdata.Person) bool { return !p.Inactive && p.OrgID == p0.OrgID }},
		{"roles=manager&roles=main_administrator&inactive=true", func(p simdata.Person) bool {
			return p.Inactive && (simRole(&p) == RoleManager || simRole(&p) == RoleMainAdministrator)
		}},
		{"roles=employee&organizationId=" + org, func(p simdata.Person) bool {
			return !p.Inactive && simRole(&p) == RoleEmployee && p.OrgID == p0.OrgID
		}},
	}
	sim := Simulator(people)
	for _, tt := range tests {
		var want []string
		for _, p := range people.All() {
			if tt.want(p) {
				want = append(want, p.UUID)
			}
		}
		var got []string
		for page := 1; page <= pagesFor(len(want)); page++ {
			got = append(got, simIDs(simList(t, sim, tt.query+"&page="+strconv.Itoa(page)))...)
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s: %d users, want %d (and some)", tt.query, len(got), len(want))
		}
	}
}

func TestSimulatorRoles(t *testing.T) {
	counts := map[string]int{}
	for _, p := range (&simdata.People{N: 200, Seed: 1}).All() {
		counts[simRole(&p)]++
	}
	want := map[string]int{RoleMainAdministrator: 10, RoleAdministrator: 20, RoleManager: 30, RoleApprover: 40, RoleEmployee: 100}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("roles %v, want %v", counts, want)
	}
}

func TestSimulatorErrors(t *testing.T) {
	people := &simdata.People{N: 30, Seed: 1}
	known := people.Person(0).UUID
	tests := []struct {
		method, query string
		status        int
		message       string
	}{
		{http.MethodPost, "", 405, "use GET"},
		{http.MethodGet, "page=0", 400, "page must be an integer from 1"},
		{http.MethodGet, "page=x", 400, "page must be an integer from 1"},
		{http.MethodGet, "inactive=maybe", 400, "inactive must be true or false"},
		{http.MethodGet, "roles=boss", 400, `roles: unknown role "boss"; possible roles: ` + validRoles},
		{http.MethodGet, "userIds=" + known + "&userIds=zz&userIds=aa", 401, "Not allowed to see user(s): aa, zz"},
		{http.MethodGet, "organizationId=0", 401, "Not allowed to see organization: 0"},
		{http.MethodGet, "organizationName=Sales", 401, "Not allowed to see organization: Sales"},
	}
	sim := Simulator(people)
	for _, tt := range tests {
		status, raw := sourcetest.Call(t, sim, Name, tt.method, Endpoint+"?"+tt.query, "")
		want := fmt.Sprintf(`{"items":[{"message":%q}],"valid":false}`, tt.message)
		if status != tt.status || string(raw) != want {
			t.Errorf("%s %s: %d %s, want %d %s", tt.method, tt.query, status, raw, tt.status, want)
		}
	}
}

func TestSimulatorUnknownPath(t *testing.T) {
	srv := httptest.NewServer(Simulator(&simdata.People{N: 1}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/groups")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
}

// TestSimulatorServesThePresentPeople checks that each request sees the
// population as it is then, through the cached selection: inserted people
// first, deleted ones gone from both listings and refused by id.
func TestSimulatorServesThePresentPeople(t *testing.T) {
	listing := func(sim http.Handler, query string) []string {
		ids := []string{}
		for page := 1; ; page++ {
			got := simIDs(simList(t, sim, query+"&page="+strconv.Itoa(page)))
			if len(got) == 0 {
				return ids
			}
			ids = append(ids, got...)
		}
	}
	pop := simdata.NewPopulation(50, 3)
	sim := Simulator(pop.People())
	listing(sim, "inactive=false")
	pop.Insert(4)
	deleted := pop.People().Person(pop.Delete(6)[0]).UUID
	want := map[bool][]string{false: {}, true: {}}
	for _, p := range pop.People().Present() {
		want[p.Inactive] = append(want[p.Inactive], p.UUID)
	}
	active, inactive := listing(sim, "inactive=false"), listing(sim, "inactive=true")
	if !slices.Equal(active, want[false]) || !slices.Equal(inactive, want[true]) {
		t.Errorf("active %v\ninactive %v\nwant %v", active, inactive, want)
	}
	if got, all := slices.Sorted(slices.Values(append(active, inactive...))), SimulatedIDs(pop.People()); !slices.Equal(got, slices.Sorted(slices.Values(all))) {
		t.Errorf("listings %v, SimulatedIDs %v", got, all)
	}
	if status, _ := sourcetest.Call(t, sim, Name, http.MethodGet, Endpoint+"?userIds="+deleted, ""); status != http.StatusUnauthorized {
		t.Errorf("a deleted user by id: status %d, want 401", status)
	}

	docs := simdata.NewPopulation(2, 1)
	docs.Insert(1)
	sim = Simulator(docs.People())
	got := append(listing(sim, ""), listing(sim, "inactive=true")...)
	if len(got) != 3 || !slices.Contains(got, docUsers()[0].ID) || !slices.Contains(got, docUsers()[1].ID) ||
		!slices.Contains(got, docs.People().Person(2).UUID) {
		t.Errorf("the docs' users and one inserted: %v", got)
	}
}
