package nameshield

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

func newClient(job string) *httpsource.Client {
	return sourcetest.Client(Name, job, httpsource.Auth{Type: "bearer", Token: "tok"})
}

func fetchAll(t *testing.T, job httpsource.Job) ([]httpsource.Page, error) {
	t.Helper()
	return sourcetest.FetchAll(t, New, job, newClient(job.Name))
}

func TestSourcePagesToTheEnd(t *testing.T) {
	people := &simdata.People{N: 1234, Seed: 3}
	// The source sorts on id by default, so the listing is in UUID order.
	byID := people.All()
	slices.SortFunc(byID, func(a, b simdata.Person) int { return strings.Compare(a.UUID, b.UUID) })
	base := sourcetest.Mount(t, Name, Simulator(people))
	extracted := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) // after every simulated expiry but 2050
	for _, tt := range []struct{ limit, inFlight, pages int }{{100, 1, 13}, {250, 4, 5}, {0, 2, 3}} {
		t.Run("limit "+strconv.Itoa(tt.limit), func(t *testing.T) {
			job := httpsource.Job{Name: "ns", BaseURL: base, PageSize: tt.limit, MaxInFlight: tt.inFlight, ExtractedAt: extracted}
			pages, err := fetchAll(t, job)
			if err != nil {
				t.Fatal(err)
			}
			all := sourcetest.CheckPages(t, pages, tt.pages, int64(people.N))
			for k, u := range all { // in order, none missed or repeated
				p := byID[k]
				if u.ID != p.UUID {
					t.Fatalf("user %d is %s, want %s", k, u.ID, p.UUID)
				}
				if u.Active != schema.Some(!p.Inactive) || u.Email != schema.Some(p.Email) ||
					u.FullName != schema.Some(p.FirstName+" "+p.LastName) || u.CreatedAt != schema.SomeTime(p.CreatedAt) ||
					u.OrganizationID != schema.Some(strconv.Itoa(p.OrgID)) || len(u.Phones) != min(len(p.Phones), 1) {
					t.Fatalf("user %d: %+v\nperson %+v", k, u, p)
				}
			}
		})
	}
}

func TestSourceFiltersServerSide(t *testing.T) {
	people := &simdata.People{N: 800, Seed: 8}
	org := people.Person(0).OrgID
	var want []string
	for _, p := range people.All() {
		if p.OrgID == org && strings.HasSuffix(p.Email, "@example.com") {
			want = append(want, p.Email)
		}
	}
	slices.Sort(want)
	slices.Reverse(want)
	job := httpsource.Job{
		Name: "ns", BaseURL: sourcetest.Mount(t, Name, Simulator(people)), PageSize: 3, MaxInFlight: 3,
		Filter: map[string]any{"customer_id": org, "email": "*@EXAMPLE.com"},
		Sort:   []any{"email:desc"},
	}
	pages, err := fetchAll(t, job)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range sourcetest.Users(pages) {
		got = append(got, u.Email.V)
	}
	if !slices.Equal(got, want) || pages[0].Total != schema.Some(int64(len(want))) {
		t.Errorf("emails (total %v)\n%v\nwant\n%v", pages[0].Total, got, want)
	}
}

func TestSourceRequestShape(t *testing.T) {
	rec := &sourcetest.Recorder{Next: Simulator(&simdata.People{N: 25, Seed: 1})}
	job := httpsource.Job{
		Name: "ns", BaseURL: sourcetest.Mount(t, Name, rec), PageSize: 10,
		Filter: map[string]any{"include_subsidiaries": false, "firstname": "J*"},
		Sort:   []any{"created_at:desc"},
	}
	if _, err := fetchAll(t, job); err != nil {
		t.Fatal(err)
	}
	// J* matches fewer than 10 of 25, so one page.
	reqs := rec.Take()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	want := url.Values{
		"include_subsidiaries": {"false"}, "firstname": {"J*"},
		"sort[]": {"created_at:desc", "id:asc"}, "limit": {"10"}, "offset": {"0"},
	}
	if r.Method != http.MethodGet || r.URL.Path != Endpoint || r.Header.Get("Authorization") != "Bearer tok" ||
		r.URL.Query().Encode() != want.Encode() {
		t.Errorf("request %s %s %q, want GET %s?%s", r.Method, r.URL, r.Header.Get("Authorization"), Endpoint, want.Encode())
	}

	// One page in flight: requests come in page order.
	job.Filter, job.Sort = nil, nil
	if _, err := fetchAll(t, job); err != nil {
		t.Fatal(err)
	}
	reqs = rec.Take()
	var offsets []string
	for _, r := range reqs {
		offsets = append(offsets, r.URL.Query().Get("offset"))
	}
	if strings.Join(offsets, ",") != "0,10,20" || reqs[0].URL.RawQuery != "limit=10&offset=0&sort%5B%5D=id%3Aasc" {
		t.Errorf("offsets %v, first query %s", offsets, reqs[0].URL.RawQuery)
	}
}

func TestSourceIncludeRaw(t *testing.T) {
	job := httpsource.Job{Name: "ns", BaseURL: sourcetest.Mount(t, Name, Simulator(&simdata.People{N: 3, Seed: 1})), IncludeRaw: true}
	pages, err := fetchAll(t, job)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range sourcetest.Users(pages) {
		var rec map[string]any
		if err := json.Unmarshal(u.Raw, &rec); err != nil || rec["id"] != u.ID || rec["created_by"] == nil {
			t.Errorf("raw %s (%v) for user %s", u.Raw, err, u.ID)
		}
	}
}

func TestSourceSurfacesAPIError(t *testing.T) {
	// New refuses a limit over 500; build the source directly to see what
	// the API answers.
	base := sourcetest.Mount(t, Name, Simulator(&simdata.People{N: 10, Seed: 1}))
	src := &source{job: httpsource.Job{Name: "ns"}, client: newClient("ns"), url: base + Endpoint,
		query: url.Values{"limit": {"501"}}, limit: 501}
	err := src.Fetch(context.Background(), func(httpsource.Page) error { return nil })
	var serr *httpsource.StatusError
	if !errors.As(err, &serr) || serr.Status != http.StatusBadRequest || serr.Page != 0 {
		t.Fatalf("error %v, want a 400 StatusError for page 0", err)
	}
	if !strings.Contains(err.Error(), "limit must be an integer from 1 to 500") ||
		!strings.Contains(err.Error(), `nameshield page 0`) {
		t.Errorf("error %q does not carry the API's message and the page", err)
	}
}

func TestSourceDecodeErrorNamesJobAndPage(t *testing.T) {
	sim := Simulator(&simdata.People{N: 30, Seed: 1})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("offset") == "20" {
			w.Write([]byte(`{"message": "OK", "data": {"total": 30, "results": [{"id": "x", "expires_at": "soon"}]}}`))
			return
		}
		sim.ServeHTTP(w, r)
	})
	_, err := fetchAll(t, httpsource.Job{Name: "ns", BaseURL: sourcetest.Mount(t, Name, h), PageSize: 10, MaxInFlight: 2})
	for _, want := range []string{`nameshield page 2: GET `, `: malformed answer: results[0]: user x: expires_at: parsing time "soon"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %s", err, want)
		}
	}
}
