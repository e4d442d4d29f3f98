package kare

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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

// auth is the job auth the contract gives for Kare.
func auth() httpsource.Auth {
	return httpsource.Auth{Type: "bearer", Token: "bearer-secret", Headers: map[string]string{"x-session-token": "session-secret", "x-sites": "['1', '2']"}}
}

func fetchAll(t *testing.T, job httpsource.Job) ([]httpsource.Page, error) {
	t.Helper()
	return sourcetest.FetchAll(t, New, job, sourcetest.Client(Name, job.Name, auth()))
}

// split returns the ids of the people the API shows by default and of the
// deleted ones, each in id order: the two listings of a job.
func split(people *simdata.People) (shown, deleted []string) {
	for _, p := range people.All() {
		if p.Inactive {
			deleted = append(deleted, strconv.Itoa(p.Number))
		} else {
			shown = append(shown, strconv.Itoa(p.Number))
		}
	}
	return shown, deleted
}

func TestSourceExportsBothListings(t *testing.T) {
	people := &simdata.People{N: 1234, Seed: 3}
	shown, deleted := split(people)
	if len(deleted) == 0 {
		t.Fatal("the population has no deleted user")
	}
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, tt := range []struct{ size, inFlight int }{{100, 1}, {250, 4}, {0, 2}} {
		t.Run("size "+strconv.Itoa(tt.size), func(t *testing.T) {
			job := httpsource.Job{Name: "kare", BaseURL: base, PageSize: tt.size, MaxInFlight: tt.inFlight, ExtractedAt: extractedAt}
			pages, err := fetchAll(t, job)
			if err != nil {
				t.Fatal(err)
			}
			size := cmp.Or(tt.size, DefaultPageSize)
			first := pagesOf(len(shown), size)
			if len(pages) != first+pagesOf(len(deleted), size) {
				t.Errorf("%d pages, want %d + %d", len(pages), first, pagesOf(len(deleted), size))
			}
			// Totals run: the first listing's, then both together.
			for i, page := range pages {
				want := int64(people.N)
				if i < first {
					want = int64(len(shown))
				}
				if page.Total != schema.Some(want) {
					t.Errorf("page %d: total %v, want %d", i, page.Total, want)
				}
			}
			all := sourcetest.Users(pages)
			if got, want := sourcetest.IDs(all), append(slices.Clone(shown), deleted...); !slices.Equal(got, want) {
				t.Fatalf("%d users, want %d: not deleted then deleted, each once, in id order", len(got), len(want))
			}
			for _, u := range all {
				p := people.Person(mustAtoi(t, u.ID) - 1000)
				wantDeleted := schema.Null[time.Time]{}
				if p.Inactive {
					wantDeleted = schema.SomeTime(p.UpdatedAt)
				}
				if u.Active != schema.Some(!p.Inactive) || u.DeletedAt != wantDeleted || u.Key != schema.Some(p.UUID) ||
					u.Email != schema.Some(p.Email) || u.FullName != schema.Some(p.FirstName+" "+p.LastName) ||
					u.Language != schema.Some(p.Language) || u.CreatedAt != schema.SomeTime(p.CreatedAt) ||
					u.UpdatedAt != schema.SomeTime(p.UpdatedAt) || len(u.Phones) != min(len(p.Phones), 1) ||
					u.OrganizationID.Valid || u.Raw != nil || u.Provider != Name || u.Job != "kare" {
					t.Fatalf("user %+v\nperson %+v", u, p)
				}
			}
		})
	}
}

func pagesOf(n, size int) int { return max(1, (n+size-1)/size) }

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSourceWhereIsDeletedExportsOneListing(t *testing.T) {
	people := &simdata.People{N: 300, Seed: 7}
	shown, deleted := split(people)
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, tt := range []struct {
		deleted bool
		want    []string
	}{{true, deleted}, {false, shown}} {
		t.Run(fmt.Sprint(tt.deleted), func(t *testing.T) {
			job := httpsource.Job{Name: "kare", BaseURL: base, PageSize: 20, MaxInFlight: 3,
				Filter: map[string]any{"whereIsDeleted": tt.deleted}}
			pages, err := fetchAll(t, job)
			if err != nil {
				t.Fatal(err)
			}
			all := sourcetest.Users(pages)
			if !slices.Equal(sourcetest.IDs(all), tt.want) || pages[len(pages)-1].Total != schema.Some(int64(len(tt.want))) {
				t.Fatalf("%d users, total %v; want %d", len(all), pages[len(pages)-1].Total, len(tt.want))
			}
			for _, u := range all {
				if u.Active != schema.Some(!tt.deleted) || u.DeletedAt.Valid != tt.deleted {
					t.Fatalf("user %s: active %v, deleted at %v", u.ID, u.Active, u.DeletedAt)
				}
			}
		})
	}
}

func TestSourceRequestShape(t *testing.T) {
	people := &simdata.People{N: 25, Seed: 1}
	shown, deleted := split(people)
	rec := &sourcetest.Recorder{Next: Simulator(people)}
	job := httpsource.Job{
		Name: "kare", BaseURL: sourcetest.Mount(t, Name, rec), PageSize: 10,
		Filter: map[string]any{
			"extend":         []any{"user-rule", "organization"},
			"whereType":      []any{2, 1},
			"whereUpdatedAt": map[string]any{"start": "2019-12-31T23:00:00-01:00", "end": "2099-01-01T00:00:00Z"},
			"whereEmail":     "@example",
		},
	}
	if _, err := fetchAll(t, job); err != nil {
		t.Fatal(err)
	}
	const query = "extend=user-rule&extend=organization&includeCount=true&page=%d&pageSize=10" +
		"&whereEmail=%%40example&whereIsDeleted=%s&whereType=2&whereType=1" +
		"&whereUpdatedAt%%5Bend%%5D=2099-01-01T00%%3A00%%3A00.000Z&whereUpdatedAt%%5Bstart%%5D=2020-01-01T00%%3A00%%3A00.000Z"
	var want []string
	for page := range (len(shown) + 9) / 10 {
		want = append(want, fmt.Sprintf(query, page+1, "false"))
	}
	for page := range max(1, (len(deleted)+9)/10) {
		want = append(want, fmt.Sprintf(query, page+1, "true"))
	}
	// Then page 1 of each listing again: did it change meanwhile?
	want = append(want, fmt.Sprintf(query, 1, "false"), fmt.Sprintf(query, 1, "true"))
	reqs := rec.Take()
	var got []string
	for _, r := range reqs { // one page in flight: requests in page order
		got = append(got, r.URL.RawQuery)
		if r.Method != http.MethodGet || r.URL.Path != Endpoint || r.Header.Get("Authorization") != "Bearer bearer-secret" ||
			r.Header.Get("x-session-token") != "session-secret" || r.Header.Get("x-sites") != "['1', '2']" ||
			r.Header.Get("Accept") != "application/json" {
			t.Errorf("request %s %s, headers %v", r.Method, r.URL.Path, r.Header)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("queries\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// As the API reads them: arrays from repeated keys, ranges from brackets.
	q := reqs[0].URL.Query()
	if !slices.Equal(q["whereType"], []string{"2", "1"}) || !slices.Equal(q["extend"], []string{"user-rule", "organization"}) ||
		q.Get("whereUpdatedAt[start]") != "2020-01-01T00:00:00.000Z" || q.Get("includeCount") != "true" {
		t.Errorf("decoded query %v", q)
	}
}

func TestSourceFiltersServerSide(t *testing.T) {
	people := &simdata.People{N: 800, Seed: 8}
	since := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for _, deleted := range []bool{false, true} {
		for _, p := range people.All() {
			if p.Inactive == deleted && strings.Contains(strings.ToLower(p.LastName), "e") && !p.CreatedAt.Before(since) {
				want = append(want, strconv.Itoa(p.Number))
			}
		}
	}
	job := httpsource.Job{
		Name: "kare", BaseURL: sourcetest.Mount(t, Name, Simulator(people)), PageSize: 7, MaxInFlight: 3,
		Filter: map[string]any{"whereLastName": "E", "whereCreatedAt": map[string]any{"start": since}},
	}
	pages, err := fetchAll(t, job)
	if err != nil {
		t.Fatal(err)
	}
	if got := sourcetest.IDs(sourcetest.Users(pages)); !slices.Equal(got, want) || pages[len(pages)-1].Total != schema.Some(int64(len(want))) {
		t.Errorf("%d users (total %v), want %d", len(got), pages[len(pages)-1].Total, len(want))
	}
}

func TestSourceOrganizationOnlyWithExtend(t *testing.T) {
	people := &simdata.People{N: 60, Seed: 2}
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, extend := range [][]any{nil, {"stats", "diplomas", "user-rule"}, {"organization"}} {
		t.Run(fmt.Sprint(extend), func(t *testing.T) {
			job := httpsource.Job{Name: "kare", BaseURL: base, IncludeRaw: true}
			if extend != nil {
				job.Filter = map[string]any{"extend": extend}
			}
			pages, err := fetchAll(t, job)
			if err != nil {
				t.Fatal(err)
			}
			all := sourcetest.Users(pages)
			if len(all) != people.N {
				t.Fatalf("%d users, want %d", len(all), people.N)
			}
			withOrg := slices.Contains(extend, any("organization"))
			for _, u := range all {
				p := people.Person(mustAtoi(t, u.ID) - 1000)
				if withOrg != u.OrganizationID.Valid || (withOrg && u.OrganizationID.V != strconv.Itoa(p.OrgID)) {
					t.Fatalf("extend %v: user %s organization_id %v, org %d", extend, u.ID, u.OrganizationID, p.OrgID)
				}
				var raw map[string]any
				if err := json.Unmarshal(u.Raw, &raw); err != nil {
					t.Fatal(err)
				}
				for _, e := range []struct{ extend, key string }{
					{"organization", "organization"}, {"stats", "stats"}, {"diplomas", "diplomas"}, {"user-rule", "userRules"},
				} {
					if _, ok := raw[e.key]; ok != slices.Contains(extend, any(e.extend)) {
						t.Fatalf("extend %v: raw %s", extend, u.Raw)
					}
				}
				if raw["permissions"] == nil || raw["profession"] == nil {
					t.Fatalf("raw lacks the user's own nested objects: %s", u.Raw)
				}
			}
		})
	}
}

func TestSourceDocUser(t *testing.T) {
	// A population of one is the docs' user, who is deleted: it comes from
	// the second listing, as the golden file shows it.
	job := httpsource.Job{Name: "kare-main", BaseURL: sourcetest.Mount(t, Name, Simulator(&simdata.People{N: 1})),
		IncludeRaw: true, ExtractedAt: extractedAt}
	pages, err := fetchAll(t, job)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 || len(pages[0].Users) != 0 || pages[1].Total != schema.Some(int64(1)) {
		t.Fatalf("pages %+v", pages)
	}
	golden := sourcetest.DecodeGolden(t, testdata+"/doc-example.json", testdata+"/doc-example.golden.jsonl", job,
		func(job httpsource.Job, body []byte) (httpsource.Page, error) { return decodePage(job, body, 0, 50) })
	if got, want := sourcetest.Rows(t, sourcetest.Users(pages)), sourcetest.Rows(t, golden.Users); got != want {
		t.Errorf("rows\n%s\nwant\n%s", got, want)
	}
}

func TestSourceSurfacesAPIErrors(t *testing.T) {
	base := sourcetest.Mount(t, Name, Simulator(&simdata.People{N: 10, Seed: 1}))
	bearerOnly := sourcetest.Client(Name, "kare", httpsource.Auth{Type: "bearer", Token: "bearer-secret"})
	_, err := sourcetest.FetchAll(t, New, httpsource.Job{Name: "kare", BaseURL: base}, bearerOnly)
	var serr *httpsource.StatusError
	if !errors.As(err, &serr) || serr.Status != http.StatusUnauthorized || serr.Page != 0 ||
		!strings.Contains(err.Error(), "missing x-session-token header") || !strings.HasPrefix(err.Error(), "kare page 0: GET ") {
		t.Errorf("error %v, want a 401 for page 0 naming the missing header", err)
	}

	// New refuses what the simulator would refuse; build a listing directly
	// to see the API's answer.
	l := &listing{job: httpsource.Job{Name: "kare"}, client: sourcetest.Client(Name, "kare", auth()),
		url: base + Endpoint, query: map[string][]string{"pageSize": {"501"}}, size: 501}
	_, err = l.FetchPage(context.Background(), 0)
	if !errors.As(err, &serr) || serr.Status != http.StatusBadRequest ||
		!strings.Contains(err.Error(), "pageSize must be an integer from 1 to 500") {
		t.Errorf("error %v, want the simulator's 400", err)
	}
}

func TestSourceDecodeErrorNamesPageAndListing(t *testing.T) {
	sim := Simulator(&simdata.People{N: 300, Seed: 1})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Get("whereIsDeleted") == "true" && q.Get("page") == "2" {
			w.Write([]byte(`{"data": [{"id": 5, "updatedAt": "soon"}], "totalCount": 40}`))
			return
		}
		sim.ServeHTTP(w, r)
	})
	_, err := fetchAll(t, httpsource.Job{Name: "kare", BaseURL: sourcetest.Mount(t, Name, h), PageSize: 10, MaxInFlight: 2})
	for _, want := range []string{`kare page 1: GET `, `whereIsDeleted=true`, `: malformed answer: results[0]: user 5: updatedAt: parsing time "soon"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %s", err, want)
		}
	}
}
