package medipim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/simdata"
)

// simPost posts body to the simulator mounted under a prefix, as the
// built-in `base_url: simulator` mounts every provider.
func simPost(t *testing.T, people *simdata.People, method, body string) (int, []byte) {
	t.Helper()
	return sourcetest.Call(t, Simulator(people), Name, method, Endpoint, body)
}

func simQueryOK(t *testing.T, people *simdata.People, body string) simResponse {
	t.Helper()
	return sourcetest.CallOK[simResponse](t, Simulator(people), Name, http.MethodPost, Endpoint, body)
}

func ids(resp simResponse) []int {
	out := make([]int, len(resp.Results))
	for i, u := range resp.Results {
		out[i] = u.ID
	}
	return out
}

func TestSimulatorPaging(t *testing.T) {
	people := &simdata.People{N: 25, Seed: 1}
	resp := simQueryOK(t, people, `{"page": {"no": 2, "size": 10}}`)
	if resp.Meta.Total != 25 || resp.Meta.Page == nil || *resp.Meta.Page != (simPage{No: 2, Offset: 20, Size: 10}) {
		t.Errorf("meta = %+v, page %+v", resp.Meta, resp.Meta.Page)
	}
	if got := fmt.Sprint(ids(resp)); got != "[1020 1021 1022 1023 1024]" {
		t.Errorf("ids = %s", got)
	}
	p := people.Person(20)
	u := resp.Results[0]
	if u.Name != p.FirstName+" "+p.LastName || u.Organization != p.OrgID ||
		u.Meta.CreatedAt != p.CreatedAt.Unix() || u.Meta.UpdatedAt != p.UpdatedAt.Unix() {
		t.Errorf("user = %+v, person %+v", u, p)
	}

	past := simQueryOK(t, people, `{"page": {"no": 3, "size": 10}}`)
	if past.Meta.Total != 25 || len(past.Results) != 0 {
		t.Errorf("page past the end: total %d, %d results", past.Meta.Total, len(past.Results))
	}
	def := simQueryOK(t, &simdata.People{N: 150, Seed: 1}, `{"page": {"no": 0}}`)
	if def.Meta.Page.Size != 100 || len(def.Results) != 100 {
		t.Errorf("default size: %+v, %d results", def.Meta.Page, len(def.Results))
	}
}

func TestSimulatorWithoutPageReturnsAll(t *testing.T) {
	for _, body := range []string{``, `{}`, `{"filter": {}}`} {
		_, raw := simPost(t, &simdata.People{N: 300, Seed: 1}, http.MethodPost, body)
		var resp struct {
			Meta    map[string]any `json:"meta"`
			Results []any          `json:"results"`
		}
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatal(err)
		}
		if _, ok := resp.Meta["page"]; ok || resp.Meta["total"] != 300.0 || len(resp.Results) != 300 {
			t.Errorf("body %q: meta %v, %d results", body, resp.Meta, len(resp.Results))
		}
	}
}

func TestSimulatorFiltersAndSorting(t *testing.T) {
	people := &simdata.People{N: 200, Seed: 7}
	org := people.Person(0).OrgID
	tests := []struct {
		name, query string
		want        func(p simdata.Person) bool
	}{
		{"organization", fmt.Sprintf(`{"organization": %d}`, org), func(p simdata.Person) bool { return p.OrgID == org }},
		{"vatNr", fmt.Sprintf(`{"vatNr": "BE%010d"}`, org), func(p simdata.Person) bool { return p.OrgID == org }},
		{"apbNr int", fmt.Sprintf(`{"apbNr": %d}`, 100000+org), func(p simdata.Person) bool { return p.OrgID == org }},
		{"rizivNr string", fmt.Sprintf(`{"rizivNr": "%d"}`, 21000000000+org), func(p simdata.Person) bool { return p.OrgID == org }},
		{"id list", `{"id": [1003, 1001, 5]}`, func(p simdata.Person) bool { return p.Number == 1001 || p.Number == 1003 }},
		{"and/not", fmt.Sprintf(`{"and": [{"not": {"organization": %d}}, {"id": [1000, 1001, 1002]}]}`, org),
			func(p simdata.Person) bool { return p.OrgID != org && p.Number <= 1002 }},
		{"or", fmt.Sprintf(`{"or": [{"organization": %d}, {"id": 1199}]}`, org),
			func(p simdata.Person) bool { return p.OrgID == org || p.Number == 1199 }},
		{"no match", `{"id": 1}`, func(simdata.Person) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := simQueryOK(t, people, `{"filter": `+tt.query+`, "sorting": {"id": "DESC"}, "page": {"no": 0, "size": 250}}`)
			var want []int
			all := people.All()
			for i := len(all) - 1; i >= 0; i-- {
				if tt.want(all[i]) {
					want = append(want, all[i].Number)
				}
			}
			if got := ids(resp); fmt.Sprint(got) != fmt.Sprint(want) || resp.Meta.Total != len(want) {
				t.Errorf("ids %v (total %d), want %v", got, resp.Meta.Total, want)
			}
		})
	}
}

func TestSimulatorErrors(t *testing.T) {
	people := &simdata.People{N: 10, Seed: 1}
	tests := []struct {
		method, body string
		status       int
		message      string
	}{
		{http.MethodGet, ``, 405, "use POST"},
		{http.MethodPost, `{"page":`, 400, "malformed body: unexpected EOF"},
		{http.MethodPost, `[1]`, 400, "malformed body: json: cannot unmarshal array"},
		{http.MethodPost, `{"page": {"no": 0, "size": 30}}`, 400, "page.size must be one of 10, 50, 100 or 250, got 30"},
		{http.MethodPost, `{"page": {"no": -1, "size": 10}}`, 400, "page.no must be 0 or more, got -1"},
		{http.MethodPost, `{"filter": {"organization": "x"}}`, 400, "filter.organization: must be an integer"},
		{http.MethodPost, `{"sorting": {"name": "ASC"}}`, 400, "sorting.name: unknown sort key; only id is sortable"},
	}
	for _, tt := range tests {
		status, raw := simPost(t, people, tt.method, tt.body)
		var resp struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatal(err)
		}
		if status != tt.status || !strings.HasPrefix(resp.Error.Message, tt.message) {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.body, status, resp.Error.Message, tt.status, tt.message)
		}
	}
}

func TestSimulatorUnknownPath(t *testing.T) {
	srv := httptest.NewServer(Simulator(&simdata.People{N: 1}))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/v4/products/query", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
}

// TestSimulatorServesThePresentPeople checks that each request sees the
// population as it is then: inserted people first in id order, deleted
// ones gone, with and without a filter.
func TestSimulatorServesThePresentPeople(t *testing.T) {
	pop := simdata.NewPopulation(30, 1)
	sim := Simulator(pop.People())
	call := func(body string) simResponse {
		return sourcetest.CallOK[simResponse](t, sim, Name, http.MethodPost, Endpoint, body)
	}
	if got := fmt.Sprint(ids(call(`{"page": {"no": 0, "size": 10}}`))); got != "[1000 1001 1002 1003 1004 1005 1006 1007 1008 1009]" {
		t.Fatalf("before: %s", got)
	}
	pop.Insert(2)
	deleted := pop.People().Person(pop.Delete(1)[0]).Number
	first := call(`{"page": {"no": 0, "size": 10}}`)
	if first.Meta.Total != 31 || fmt.Sprint(ids(first)[:2]) != "[998 999]" {
		t.Errorf("after: total %d, ids %v", first.Meta.Total, ids(first))
	}
	filtered := call(`{"filter": {"not": {"id": [998]}}, "sorting": {"id": "DESC"}, "page": {"no": 0, "size": 250}}`)
	got := ids(filtered)
	if filtered.Meta.Total != 30 || got[len(got)-1] != 999 || slices.Contains(got, deleted) {
		t.Errorf("filtered: total %d, ids %v, deleted %d", filtered.Meta.Total, got, deleted)
	}
	want := SimulatedIDs(pop.People())
	all := ids(call(`{"page": {"no": 0, "size": 250}}`))
	if fmt.Sprint(all) != "["+strings.Join(want, " ")+"]" {
		t.Errorf("listing %v, SimulatedIDs %v", all, want)
	}
}
