package mctime

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

var apiKey = httpsource.Auth{Type: httpsource.AuthHeader, Name: "x-api-key", Value: "secret-key"}

func fetchAll(t *testing.T, job httpsource.Job) ([]httpsource.Page, error) {
	t.Helper()
	return sourcetest.FetchAll(t, New, job, sourcetest.Client(Name, job.Name, apiKey))
}

// byListing splits people into the active and the inactive, in index order.
func byListing(people *simdata.People) (active, inactive []simdata.Person) {
	for _, p := range people.All() {
		if p.Inactive {
			inactive = append(inactive, p)
		} else {
			active = append(active, p)
		}
	}
	return active, inactive
}

func pagesFor(n int) int { return max(1, (n+PageSize-1)/PageSize) }

// checkUsers fails unless got is want in order, each with active set.
func checkUsers(t *testing.T, got []schema.User, want []simdata.Person, active bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d users, want %d", len(got), len(want))
	}
	for k, u := range got {
		p := want[k]
		if u.ID != p.UUID || u.Active != schema.Some(active) || u.Email != schema.Some(p.Email) ||
			u.FullName != schema.Some(p.FirstName+" "+p.LastName) || u.OrganizationID.Valid ||
			len(u.Phones) != min(len(p.Phones), 1) {
			t.Fatalf("user %d: %+v\nperson %+v, active %v", k, u, p, active)
		}
	}
}

func TestSourceExportsBothListings(t *testing.T) {
	people := &simdata.People{N: 437, Seed: 5}
	active, inactive := byListing(people)
	if len(inactive) == 0 || len(active)+len(inactive) != people.N {
		t.Fatalf("population of %d active and %d inactive", len(active), len(inactive))
	}
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, inFlight := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d in flight", inFlight), func(t *testing.T) {
			pages, err := fetchAll(t, httpsource.Job{Name: "mc", BaseURL: base, MaxInFlight: inFlight})
			if err != nil {
				t.Fatal(err)
			}
			if want := pagesFor(len(active)) + pagesFor(len(inactive)); len(pages) != want {
				t.Errorf("%d pages, want %d", len(pages), want)
			}
			for i, p := range pages {
				if p.Total.Valid || !p.Pages.Valid {
					t.Errorf("page %d: total %v, pages %v; want null and a count", i, p.Total, p.Pages)
				}
			}
			all := sourcetest.Users(pages)
			if len(all) != people.N {
				t.Fatalf("%d users, want every one of %d once", len(all), people.N)
			}
			checkUsers(t, all[:len(active)], active, true)
			checkUsers(t, all[len(active):], inactive, false)
		})
	}
}

func TestSourceInactiveFilterExportsOneListing(t *testing.T) {
	people := &simdata.People{N: 437, Seed: 5}
	active, inactive := byListing(people)
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, tt := range []struct {
		inactive bool
		want     []simdata.Person
	}{{true, inactive}, {false, active}} {
		t.Run(fmt.Sprint("inactive ", tt.inactive), func(t *testing.T) {
			job := httpsource.Job{Name: "mc", BaseURL: base, MaxInFlight: 3, Filter: map[string]any{"inactive": tt.inactive}}
			pages, err := fetchAll(t, job)
			if err != nil {
				t.Fatal(err)
			}
			if len(pages) != pagesFor(len(tt.want)) {
				t.Errorf("%d pages, want %d", len(pages), pagesFor(len(tt.want)))
			}
			checkUsers(t, sourcetest.Users(pages), tt.want, !tt.inactive)
		})
	}
}

func TestSourceFiltersServerSide(t *testing.T) {
	people := &simdata.People{N: 300, Seed: 2}
	org := people.Person(0).OrgID
	var want []string
	for _, listing := range []bool{false, true} { // active first
		for _, p := range people.All() {
			role := simRole(&p)
			if p.Inactive == listing && p.OrgID == org && (role == RoleManager || role == RoleApprover) {
				want = append(want, p.UUID)
			}
		}
	}
	job := httpsource.Job{Name: "mc", BaseURL: sourcetest.Mount(t, Name, Simulator(people)), MaxInFlight: 2,
		Filter: map[string]any{"organizationName": simOrgName(org), "roles": []any{"manager", "approver"}}}
	pages, err := fetchAll(t, job)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range sourcetest.Users(pages) {
		got = append(got, u.ID)
	}
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ids\n%v\nwant\n%v", got, want)
	}
}

func TestSourceRequestShape(t *testing.T) {
	people := &simdata.People{N: 70, Seed: 1}
	p0, p1 := people.Person(0), people.Person(1)
	rec := &sourcetest.Recorder{Next: Simulator(people)}
	job := httpsource.Job{
		Name: "mc", BaseURL: sourcetest.Mount(t, Name, rec),
		Filter: map[string]any{
			"userIds": []any{p1.UUID, p0.UUID}, "roles": []any{"manager", "employee"},
			"organizationId": fmt.Sprint(p0.OrgID),
		},
	}
	if _, err := fetchAll(t, job); err != nil {
		t.Fatal(err)
	}
	// Repeated parameters in the filter's order; one page of each listing.
	filter := fmt.Sprintf("organizationId=%d&page=1&roles=manager&roles=employee&userIds=%s&userIds=%s", p0.OrgID, p1.UUID, p0.UUID)
	var got []string
	for _, r := range rec.Take() {
		if r.Method != http.MethodGet || r.URL.Path != Endpoint || r.Header.Get("x-api-key") != "secret-key" ||
			r.Header.Get("Accept") != "application/json" {
			t.Errorf("request %s %s, x-api-key %q, Accept %q", r.Method, r.URL.Path, r.Header.Get("x-api-key"), r.Header.Get("Accept"))
		}
		got = append(got, r.URL.RawQuery)
	}
	// Each listing's first page is read again at the end: did it change meanwhile?
	if want := []string{"inactive=false&" + filter, "inactive=true&" + filter, "inactive=false&" + filter, "inactive=true&" + filter}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("queries\n%v\nwant\n%v", got, want)
	}

	// Without a filter, one page in flight: pages from 1, in order, active
	// users first; a bearer token works as well as a header.
	job.Filter = nil
	client := sourcetest.Client(Name, "mc", httpsource.Auth{Type: httpsource.AuthBearer, Token: "t"})
	if _, err := sourcetest.FetchAll(t, New, job, client); err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, r := range rec.Take() {
		if r.Header.Get("Authorization") != "Bearer t" {
			t.Errorf("Authorization %q", r.Header.Get("Authorization"))
		}
		got = append(got, r.URL.RawQuery)
	}
	active, inactive := byListing(people)
	var want []string
	for page := range pagesFor(len(active)) {
		want = append(want, fmt.Sprintf("inactive=false&page=%d", page+1))
	}
	for page := range pagesFor(len(inactive)) {
		want = append(want, fmt.Sprintf("inactive=true&page=%d", page+1))
	}
	want = append(want, "inactive=false&page=1", "inactive=true&page=1")
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("queries\n%v\nwant\n%v", got, want)
	}
}

func TestSource401NamesWhatTheJobAskedFor(t *testing.T) {
	people := &simdata.People{N: 50, Seed: 1}
	base := sourcetest.Mount(t, Name, Simulator(people))
	known := people.Person(3).UUID
	tests := []struct {
		filter map[string]any
		want   string
	}{
		{map[string]any{"userIds": []any{known, "not-mine"}},
			`mctime: the API refused userIds "` + known + `", "not-mine" (HTTP 401): the API key may not see what the filter asks for, ` +
				`or the key itself is wrong: mctime page 0: GET `},
		{map[string]any{"organizationName": "Org 99", "inactive": true},
			`mctime: the API refused organizationName "Org 99" (HTTP 401)`},
	}
	for _, tt := range tests {
		_, err := fetchAll(t, httpsource.Job{Name: "mc", BaseURL: base, Filter: tt.filter})
		var serr *httpsource.StatusError
		if !errors.As(err, &serr) || serr.Status != http.StatusUnauthorized || serr.Page != 0 {
			t.Fatalf("filter %v: error %v, want a wrapped 401 StatusError for page 0", tt.filter, err)
		}
		if !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), "Not allowed to see") {
			t.Errorf("filter %v: error\n%v\nwant prefix\n%s\nand the API's message", tt.filter, err, tt.want)
		}
	}
}

func TestSource401WithoutIDsIsTheKeys(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeMessage(w, http.StatusUnauthorized, "Invalid API key")
	})
	_, err := fetchAll(t, httpsource.Job{Name: "mc", BaseURL: sourcetest.Mount(t, Name, h), Filter: map[string]any{"roles": "employee"}})
	var serr *httpsource.StatusError
	if !errors.As(err, &serr) || serr.Status != http.StatusUnauthorized {
		t.Fatalf("error %v, want a 401 StatusError", err)
	}
	if strings.Contains(err.Error(), "refused") || !strings.HasPrefix(err.Error(), "mctime page 0: GET ") ||
		!strings.Contains(err.Error(), "check the job's auth") || !strings.Contains(err.Error(), "Invalid API key") {
		t.Errorf("error %q: want the client's own, about the key", err)
	}
}

func TestSourceDuplicateIsDrift(t *testing.T) {
	// "b" is on both pages of the active listing (a user was added during
	// the export), or "a" in both listings (its validTo passed meanwhile):
	// either way the pass is not a listing of the users as they are.
	tests := []struct {
		name, want string
		pages      map[string]string
	}{
		{"shifted between pages", `user "b" is on listing 0 page 0 and again on listing 0 page 1`, map[string]string{
			"false/1": `{"id": "a"}, {"id": "b"}`, "false/2": `{"id": "b"}, {"id": "c"}`, "true/1": `{"id": "d"}`}},
		{"moved to the inactive listing", `user "a" is on listing 0 page 0 and again on listing 1 page 0`, map[string]string{
			"false/1": `{"id": "a"}, {"id": "b"}`, "false/2": `{"id": "c"}`, "true/1": `{"id": "a"}, {"id": "d"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				n := map[string]string{"false": "2", "true": "1"}[q.Get("inactive")]
				fmt.Fprintf(w, `{"items":[{"message":"Success","data":{"users":[%s],"page":%q,"pageSize":%q}}],"valid":true}`,
					tt.pages[q.Get("inactive")+"/"+q.Get("page")], q.Get("page"), n)
			})
			_, err := fetchAll(t, httpsource.Job{Name: "mc", BaseURL: sourcetest.Mount(t, Name, h), MaxInFlight: 2})
			var drift *httpsource.DriftError
			if !errors.As(err, &drift) || drift.Event.Kind != httpsource.DriftDuplicate || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want a duplicate_id drift: %s", err, tt.want)
			}
		})
	}
}

func TestSourceDecodeErrorNamesPageAndListing(t *testing.T) {
	sim := Simulator(&simdata.People{N: 300, Seed: 1})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Get("inactive") == "true" && q.Get("page") == "2" {
			fmt.Fprint(w, `{"items": [{"message": "Internal failure"}], "valid": false}`)
			return
		}
		sim.ServeHTTP(w, r)
	})
	_, err := fetchAll(t, httpsource.Job{Name: "mc", BaseURL: sourcetest.Mount(t, Name, h), MaxInFlight: 2})
	for _, want := range []string{`mctime page 1: GET `, `inactive=true`, `: malformed answer: the API answered valid=false: "Internal failure"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %s", err, want)
		}
	}
}

func TestSourceWithoutPageCount(t *testing.T) {
	// Without pageSize the listing ends at its first short page.
	people := &simdata.People{N: 90, Seed: 1}
	sim := Simulator(people)
	count := regexp.MustCompile(`,"pageSize":"\d+"`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		w.Write(count.ReplaceAll(rec.Body.Bytes(), nil))
	})
	pages, err := fetchAll(t, httpsource.Job{Name: "mc", BaseURL: sourcetest.Mount(t, Name, h), MaxInFlight: 4})
	if err != nil {
		t.Fatal(err)
	}
	active, inactive := byListing(people)
	checkUsers(t, sourcetest.Users(pages)[:len(active)], active, true)
	checkUsers(t, sourcetest.Users(pages)[len(active):], inactive, false)
	for i, p := range pages {
		if p.Pages.Valid {
			t.Errorf("page %d: pages %v, want null", i, p.Pages)
		}
	}
}

func TestSourceIncludeRaw(t *testing.T) {
	job := httpsource.Job{Name: "mc", BaseURL: sourcetest.Mount(t, Name, Simulator(&simdata.People{N: 30, Seed: 1})), IncludeRaw: true}
	pages, err := fetchAll(t, job)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range sourcetest.Users(pages) {
		var rec map[string]any
		if err := json.Unmarshal(u.Raw, &rec); err != nil || rec["id"] != u.ID || rec["firstName"] != u.FirstName.V {
			t.Errorf("raw %s (%v) for user %s", u.Raw, err, u.ID)
		}
	}
}

// A user of the active listing's last page becomes inactive after the
// inactive listing, one page, was read, while that last page is in
// flight: with the listings read concurrently, the move leaves the user
// out of both, with no page count changed. Reading every listing's page 1
// again at the end catches it, as drift on the inactive listing.
func TestSourceUserMovingBetweenOverlappingListingsIsDrift(t *testing.T) {
	var mu sync.Mutex
	lists := map[string][]string{"false": {}, "true": {"i0"}}
	for i := range 2*PageSize + 1 {
		lists["false"] = append(lists["false"], fmt.Sprintf("a%02d", i))
	}
	lists["false"] = append(lists["false"], "moving") // on page 3, beside a40
	inactiveRead := make(chan struct{})
	var once sync.Once
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		inactive, page := q.Get("inactive"), q.Get("page")
		switch {
		case inactive == "false" && page == "3":
			select {
			case <-inactiveRead:
			case <-r.Context().Done():
				return
			case <-time.After(30 * time.Second):
				t.Error("the inactive listing was not read while the active one's last page was in flight")
			}
			mu.Lock()
			lists["false"] = lists["false"][:len(lists["false"])-1]
			lists["true"] = append(lists["true"], "moving")
			mu.Unlock()
		case inactive == "true":
			defer once.Do(func() { close(inactiveRead) })
		}
		mu.Lock()
		ids := lists[inactive]
		mu.Unlock()
		n, _ := strconv.Atoi(page)
		var users []string
		for _, id := range ids[min((n-1)*PageSize, len(ids)):min(n*PageSize, len(ids))] {
			users = append(users, fmt.Sprintf(`{"id": %q}`, id))
		}
		fmt.Fprintf(w, `{"items":[{"message":"Success","data":{"users":[%s],"page":%q,"pageSize":"%d"}}],"valid":true}`,
			strings.Join(users, ","), page, max(1, (len(ids)+PageSize-1)/PageSize))
	})
	_, err := fetchAll(t, httpsource.Job{Name: "mc", BaseURL: sourcetest.Mount(t, Name, h), MaxInFlight: 4})
	var drift *httpsource.DriftError
	if !errors.As(err, &drift) || drift.Event.Kind != httpsource.DriftFirstPage || drift.Event.Listing != 1 {
		t.Fatalf("error %v, want first_page_changed on the inactive listing", err)
	}
}
