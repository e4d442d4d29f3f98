package requestor

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

const (
	jsonType = "application/json"
	xmlType  = "application/xml"
)

// simCall posts body to the simulator mounted under a prefix, as the
// built-in `base_url: simulator` mounts every provider, and returns the
// answer read whole.
func simCall(t *testing.T, sim http.Handler, method, contentType, accept, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, sourcetest.Mount(t, Name, sim)+Endpoint, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

// postBody is a request for page index of size users with filter set, in
// the given wire format.
func postBody(t *testing.T, form string, index, size int, filter map[string]any) string {
	t.Helper()
	post, problems := parseJob(httpsource.Job{Filter: filter})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	post.PageIndex, post.PageSize = index, size
	if form == WireXML {
		return string(post.xml())
	}
	b, err := json.Marshal(&post)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSimulatorServesTheDocExamplesVerbatim(t *testing.T) {
	for _, tt := range []struct{ form, mediaType, file string }{
		{WireJSON, jsonType, "doc-example.json"},
		{WireXML, xmlType, "doc-example.xml"},
	} {
		t.Run(tt.form, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(testdata, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			resp, got := simCall(t, Simulator(&simdata.People{N: 2}), http.MethodPost, tt.mediaType, tt.mediaType,
				postBody(t, tt.form, 0, 200, nil))
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.mediaType) {
				t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if !bytes.Equal(got, want) {
				t.Errorf("answer differs from %s:\n%s", tt.file, got)
			}
		})
	}
}

func TestSimulatorSmallPopulationsAreTheDocUsers(t *testing.T) {
	for n, want := range [][]string{{}, {"john.doe"}, {"john.doe", "jane.doe"}} {
		page := simJSON(t, Simulator(&simdata.People{N: n}), postBody(t, WireJSON, 0, 10, nil))
		var got []string
		for _, u := range page.Items {
			got = append(got, u.UserName)
		}
		if !slices.Equal(got, want) || page.TotalItems != n || page.TotalPages != min(n, 1) {
			t.Errorf("N=%d: users %v, total %d, pages %d", n, got, page.TotalItems, page.TotalPages)
		}
	}
}

func simJSON(t *testing.T, sim http.Handler, body string) simPage {
	t.Helper()
	resp, raw := simCall(t, sim, http.MethodPost, jsonType, "", body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	var result struct{ PagedUsers simPage }
	if err := json.Unmarshal(raw, &result); err != nil {
		t.Fatal(err)
	}
	return result.PagedUsers
}

func TestSimulatorNegotiatesTheWireFormat(t *testing.T) {
	sim := Simulator(&simdata.People{N: 5, Seed: 1})
	tests := []struct {
		name, contentType, accept, body, answer string
	}{
		{"json", jsonType, jsonType, postBody(t, WireJSON, 0, 2, nil), jsonType},
		{"xml", xmlType, xmlType, postBody(t, WireXML, 0, 2, nil), xmlType},
		{"text/xml, no Accept: the request's form", "text/xml; charset=utf-8", "", postBody(t, WireXML, 0, 2, nil), xmlType},
		{"text/json, no Accept", "text/json", "", postBody(t, WireJSON, 0, 2, nil), jsonType},
		{"json request, xml answer", jsonType, "text/html, application/xml;q=0.9", postBody(t, WireJSON, 0, 2, nil), xmlType},
		{"xml request, json answer", xmlType, jsonType, postBody(t, WireXML, 0, 2, nil), jsonType},
		{"Accept */*", jsonType, "*/*", postBody(t, WireJSON, 0, 2, nil), jsonType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw := simCall(t, sim, http.MethodPost, tt.contentType, tt.accept, tt.body)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.answer) {
				t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
			form := WireJSON
			if tt.answer == xmlType {
				form = WireXML
			}
			page, err := decodePage(httpsource.Job{WireFormat: form}, raw, 0, 2)
			if err != nil || len(page.Users) != 2 || page.Total.V != 5 {
				t.Errorf("answer decodes to %d users, total %v, error %v", len(page.Users), page.Total, err)
			}
		})
	}
}

func TestSimulatorErrors(t *testing.T) {
	sim := Simulator(&simdata.People{N: 10, Seed: 1})
	valid := postBody(t, WireJSON, 0, 10, nil)
	tests := []struct {
		name, method, contentType, body string
		status                          int
		message                         string
	}{
		{"GET", http.MethodGet, jsonType, "", 405, "The requested resource does not support http method 'GET'."},
		{"no Content-Type", http.MethodPost, "", valid, 415, "The request entity's media type '' is not supported for this resource."},
		{"form Content-Type", http.MethodPost, "application/x-www-form-urlencoded", valid, 415,
			"The request entity's media type 'application/x-www-form-urlencoded' is not supported for this resource."},
		{"no body", http.MethodPost, jsonType, "", 400, "The request body must be a UsersFilterPost."},
		{"PageSize 0", http.MethodPost, jsonType, `{"PageIndex": 0}`, 400, "PageSize must be between 1 and 1000."},
		{"PageSize 1001", http.MethodPost, jsonType, `{"PageIndex": 0, "PageSize": 1001}`, 400, "PageSize must be between 1 and 1000."},
		{"PageIndex -1", http.MethodPost, jsonType, `{"PageIndex": -1, "PageSize": 10}`, 400, "PageIndex must be 0 or more."},
		{"bad date", http.MethodPost, jsonType, `{"PageSize": 10, "LastUpdatedDateFromUtc": "soon"}`, 400,
			`The request is invalid: "soon" is not a date and time as .NET writes one (2024-01-31T08:00:00Z, with or without an offset)`},
		{"XML with the wrong root", http.MethodPost, xmlType, `<UsersFilter/>`, 400,
			`The request is invalid: the body is <UsersFilter> in namespace "", not UsersFilterPost in "` + nsPosts + `"`},
		{"XML with a bad flag", http.MethodPost, xmlType,
			strings.Replace(postBody(t, WireXML, 0, 10, nil), `<IsOperator i:nil="true" />`, `<IsOperator>yes</IsOperator>`, 1), 400,
			`The request is invalid: IsOperator: "yes" is not a boolean`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw := simCall(t, sim, tt.method, tt.contentType, jsonType, tt.body)
			var got struct{ Message string }
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("%v: %s", err, raw)
			}
			if resp.StatusCode != tt.status || got.Message != tt.message {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, got.Message, tt.status, tt.message)
			}
		})
	}
	t.Run("in XML when asked", func(t *testing.T) {
		resp, raw := simCall(t, sim, http.MethodPost, xmlType, xmlType, `<UsersFilterPost xmlns="`+nsPosts+`"><PageSize>0</PageSize></UsersFilterPost>`)
		want := "<Error>\n  <Message>PageSize must be between 1 and 1000.</Message>\n</Error>"
		if resp.StatusCode != 400 || string(raw) != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), xmlType) {
			t.Errorf("%d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
		}
	})
	t.Run("another path", func(t *testing.T) {
		base := sourcetest.Mount(t, Name, sim)
		resp, err := http.Post(base+"/api/Account/GetUser", jsonType, strings.NewReader(valid))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func TestSimulatorFilters(t *testing.T) {
	people := &simdata.People{N: 400, Seed: 4}
	var all []simUser
	for _, p := range people.All() {
		all = append(all, generatedUser(p))
	}
	u0 := all[0]
	mid := all[200].updated
	tests := []struct {
		filter map[string]any
		want   func(u *simUser) bool
	}{
		{map[string]any{"UserName": strings.ToUpper(u0.UserName)}, func(u *simUser) bool { return u.UserName == u0.UserName }},
		{map[string]any{"Email": u0.Email}, func(u *simUser) bool { return u.Email == u0.Email }},
		{map[string]any{"IsEndUser": true}, func(u *simUser) bool { return u.IsEndUser }},
		{map[string]any{"IsSmartUser": false}, func(u *simUser) bool { return !u.IsSmartUser }},
		{map[string]any{"IsOperator": true, "IsSuperOperator": false}, func(u *simUser) bool { return u.IsOperator && !u.IsSuperOperator }},
		{map[string]any{"IsAdministrator": true}, func(u *simUser) bool { return u.IsAdministrator }},
		{map[string]any{"CustomerId": *u0.CustomerID}, func(u *simUser) bool { return *u.CustomerID == *u0.CustomerID }},
		{map[string]any{"LastUpdatedDateFromUtc": mid}, func(u *simUser) bool { return !u.updated.Before(mid) }},
		{map[string]any{"LastUpdatedDateUntilUtc": mid}, func(u *simUser) bool { return !u.updated.After(mid) }},
		{map[string]any{"LastUpdatedDateFromUtc": "2021-01-01", "LastUpdatedDateUntilUtc": "2022-01-01T00:00:00Z", "IsEndUser": true},
			func(u *simUser) bool {
				return u.IsEndUser && u.updated.Year() == 2021 || u.IsEndUser && u.updated.Equal(mustTime(t, "2022-01-01T00:00:00Z"))
			}},
	}
	sim := Simulator(people)
	for _, tt := range tests {
		var want []string
		for i := range all {
			if tt.want(&all[i]) {
				want = append(want, all[i].UserProviderKey)
			}
		}
		if len(want) == 0 || len(want) == len(all) {
			t.Errorf("%v: a filter that matches %d of %d users tests nothing", tt.filter, len(want), len(all))
		}
		for _, form := range []string{WireJSON, WireXML} {
			resp, raw := simCall(t, sim, http.MethodPost, "application/"+form, "", postBody(t, form, 0, MaxPageSize, tt.filter))
			page, err := decodePage(httpsource.Job{WireFormat: form}, raw, 0, MaxPageSize)
			if err != nil {
				t.Fatalf("%v %s: status %d: %v", tt.filter, form, resp.StatusCode, err)
			}
			var got []string
			for _, u := range page.Users {
				got = append(got, u.ID)
			}
			if !slices.Equal(got, want) || page.Total.V != int64(len(want)) {
				t.Errorf("%v %s: %d users (total %v), want %d", tt.filter, form, len(got), page.Total, len(want))
			}
		}
	}
}

func TestSimulatorPaging(t *testing.T) {
	sim := Simulator(&simdata.People{N: 25, Seed: 1})
	tests := []struct{ index, size, first, n, pages int }{
		{0, 10, 0, 10, 3},
		{2, 10, 20, 5, 3},
		{3, 10, 25, 0, 3},
		{0, 25, 0, 25, 1},
		{0, 1000, 0, 25, 1},
		{1 << 60, 1000, 25, 0, 1}, // no overflow
	}
	for _, tt := range tests {
		page := simJSON(t, sim, `{"PageIndex": `+strconv.Itoa(tt.index)+`, "PageSize": `+strconv.Itoa(tt.size)+`}`)
		if page.PageIndex != tt.index || page.PageSize != tt.size || page.TotalItems != 25 || page.TotalPages != tt.pages ||
			len(page.Items) != tt.n {
			t.Errorf("page %d of %d: %+v", tt.index, tt.size, page)
			continue
		}
		if tt.n > 0 && page.Items[0].UserProviderKey != generatedUser((&simdata.People{N: 25, Seed: 1}).Person(tt.first)).UserProviderKey {
			t.Errorf("page %d of %d starts with the wrong user", tt.index, tt.size)
		}
	}
}

// TestSimulatorJSONIsEncodingJSONs holds the simulator's answers, written
// by goccy/go-json for speed, to the bytes encoding/json writes: every
// shape of user (the docs' two, and generated ones with quotes, commas and
// non-ASCII letters in their names, null and empty phones and tags) in
// pages of the JSON form.
func TestSimulatorJSONIsEncodingJSONs(t *testing.T) {
	for _, people := range []*simdata.People{{N: 2, Seed: 1}, {N: 3000, Seed: 5}} {
		sim := Simulator(people)
		for index := range 3 {
			resp, body := simCall(t, sim, http.MethodPost, jsonType, "", `{"PageIndex": `+strconv.Itoa(index)+`, "PageSize": 1000}`)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			want, err := json.MarshalIndent(struct{ PagedUsers simPage }{sim.(*simulator).page(&usersFilterPost{PageIndex: index, PageSize: 1000})}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, want) {
				at := 0
				for at < min(len(body), len(want)) && body[at] == want[at] {
					at++
				}
				t.Fatalf("%d people, page %d: the answer differs from encoding/json's at byte %d: %q, want %q",
					people.N, index, at, body[at:min(at+60, len(body))], want[at:min(at+60, len(want))])
			}
		}
	}
}

func TestSimulatorGeneratedUsers(t *testing.T) {
	people := &simdata.People{N: 2000, Seed: 9}
	var inactive, unapproved, anonymized, noRole, nullPhones, emptyPhones, noZ int
	roleCount := map[string]int{}
	for _, p := range people.All() {
		u := generatedUser(p)
		rec := record{IsApproved: &u.IsApproved, Anonymized: &u.Anonymized}
		if active(&rec) != schema.Some(!p.Inactive) {
			t.Fatalf("person %d: inactive %v, but IsApproved %v and Anonymized %v", p.Index, p.Inactive, u.IsApproved, u.Anonymized)
		}
		rec = record{IsEndUser: &u.IsEndUser, IsSmartUser: &u.IsSmartUser, IsOperator: &u.IsOperator,
			IsSuperOperator: &u.IsSuperOperator, IsAdministrator: &u.IsAdministrator}
		rs := roles(&rec)
		for _, r := range rs {
			roleCount[r]++
		}
		if len(rs) == 0 {
			noRole++
		}
		if p.Inactive {
			inactive++
		}
		if !u.IsApproved {
			unapproved++
		}
		if u.Anonymized {
			anonymized++
		}
		switch {
		case u.Phones == nil:
			nullPhones++
		case len(u.Phones) == 0:
			emptyPhones++
		}
		if !strings.HasSuffix(*u.LastUpdatedUtc, "Z") {
			noZ++
		}
		if user, _, _ := strings.Cut(u.Email, "@"); u.UserName != user || u.Language != 0 || *u.CustomerID != p.OrgID {
			t.Fatalf("person %d: %+v", p.Index, u)
		}
	}
	if inactive < 2000/12 || inactive > 2000/6 || unapproved == 0 || anonymized == 0 || noRole == 0 ||
		nullPhones == 0 || emptyPhones == 0 || noZ == 0 || noZ == 2000 {
		t.Errorf("inactive %d (unapproved %d, anonymized %d), no role %d, null phones %d, empty phones %d, without Z %d",
			inactive, unapproved, anonymized, noRole, nullPhones, emptyPhones, noZ)
	}
	for _, r := range []string{"end_user", "smart_user", "operator", "super_operator", "administrator"} {
		if roleCount[r] == 0 {
			t.Errorf("no %s", r)
		}
	}
}

// TestSimulatorXMLIsDataContractXML checks every generated member in the
// XML form: in data-contract (alphabetical) order, the same members as
// the JSON form, well-formed, in the contract's namespaces.
func TestSimulatorXMLIsDataContractXML(t *testing.T) {
	sim := Simulator(&simdata.People{N: 60, Seed: 2})
	_, raw := simCall(t, sim, http.MethodPost, xmlType, "", postBody(t, WireXML, 0, 60, nil))
	root, err := parseXML(raw)
	if err != nil {
		t.Fatal(err)
	}
	_, rawJSON := simCall(t, sim, http.MethodPost, jsonType, "", postBody(t, WireJSON, 0, 60, nil))
	var doc struct {
		PagedUsers struct{ Items []map[string]json.RawMessage }
	}
	if err := json.Unmarshal(rawJSON, &doc); err != nil {
		t.Fatal(err)
	}
	items, err := xmlItems(root.member("PagedUsers"))
	if err != nil || len(items) != 60 {
		t.Fatalf("%d items, %v", len(items), err)
	}
	for k, item := range items {
		var names []string
		for _, c := range item.children {
			if c.name.Space != nsData {
				t.Fatalf("user %d: member %s in namespace %s", k, c.name.Local, c.name.Space)
			}
			names = append(names, c.name.Local)
		}
		if !slices.IsSorted(names) {
			t.Errorf("user %d: members not in alphabetical order: %v", k, names)
		}
		jsonNames := slices.Sorted(maps.Keys(doc.PagedUsers.Items[k]))
		if !slices.Equal(names, jsonNames) {
			t.Fatalf("user %d: XML members\n%v\nJSON members\n%v", k, names, jsonNames)
		}
	}
}

// TestSimulatorServesThePresentPeople checks that each request sees the
// population as it is then: a person inserted among the docs' users is
// generated and comes first, a deleted one is gone, and filters see the
// same people.
func TestSimulatorServesThePresentPeople(t *testing.T) {
	pop := simdata.NewPopulation(2, 1)
	sim := Simulator(pop.People())
	names := func(page simPage) []string {
		var out []string
		for _, u := range page.Items {
			out = append(out, u.UserName)
		}
		return out
	}
	inserted := generatedUser(pop.People().Person(pop.Insert(1)[0]))
	page := simJSON(t, sim, postBody(t, WireJSON, 0, 10, nil))
	if got := names(page); !slices.Equal(got, []string{inserted.UserName, "john.doe", "jane.doe"}) || page.TotalItems != 3 {
		t.Errorf("after an insert: %v, total %d", got, page.TotalItems)
	}
	pop.Delete(1)
	page = simJSON(t, sim, postBody(t, WireJSON, 0, 10, nil))
	var keys []string
	for _, u := range page.Items {
		keys = append(keys, u.UserProviderKey)
	}
	if want := SimulatedIDs(pop.People()); !slices.Equal(keys, want) || len(keys) != 2 {
		t.Errorf("after a delete: listing %v, SimulatedIDs %v", keys, want)
	}
	last := page.Items[1].UserName
	filtered := simJSON(t, sim, postBody(t, WireJSON, 0, 10, map[string]any{"UserName": last}))
	if got := names(filtered); !slices.Equal(got, []string{last}) {
		t.Errorf("filtered by %s: %v", last, got)
	}
}
