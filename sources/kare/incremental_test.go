package kare

import (
	"context"
	"errors"
	"fmt"
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

// personID is the id the API gives a person.
func personID(p simdata.Person) string { return strconv.Itoa(p.Number) }

func TestIncrementalFetchesTheWindow(t *testing.T) {
	people := &simdata.People{N: 700, Seed: 11}
	all := people.All()
	mid := sourcetest.UpdateQuantile(all, 0.5)
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, tt := range []struct {
		name  string
		since time.Time
	}{
		{"from a person's own update time, inclusive", mid},
		{"from a millisecond later", mid.Add(time.Millisecond)},
		{"from a time with nanoseconds, sent truncated", mid.Add(-time.Nanosecond)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := sourcetest.UpdatedBetween(all, tt.since, time.Time{}, personID)
			if len(want) == 0 || len(want) == len(all) {
				t.Fatalf("%d of %d people in the window: the test proves nothing", len(want), len(all))
			}
			job := httpsource.Job{Name: "kare", BaseURL: base, PageSize: 30, MaxInFlight: 3, UpdatedSince: &tt.since}
			pages, err := fetchAll(t, job)
			if err != nil {
				t.Fatal(err)
			}
			got := sourcetest.Users(pages)
			// Sent truncated to the millisecond, a window may grow, never
			// shrink; people are updated on whole seconds, so it holds
			// the same users here.
			if ids := sourcetest.SortedIDs(got); !slices.Equal(ids, want) {
				t.Errorf("%d users, want the %d updated from %v", len(ids), len(want), tt.since)
			}
			if last := pages[len(pages)-1].Total; last != schema.Some(int64(len(want))) {
				t.Errorf("total %v, want %d", last, len(want))
			}
		})
	}
}

// TestIncrementalSeesTouchedAndInsertedPeople narrows to the time people
// were touched and inserted at: exactly they come back, deleted or not.
func TestIncrementalSeesTouchedAndInsertedPeople(t *testing.T) {
	pop := simdata.NewPopulation(300, 6)
	at := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	pop.Now = func() time.Time { return at }
	changed := append(pop.Touch(9, at), pop.Insert(2)...)
	var want []string
	for _, i := range changed {
		want = append(want, strconv.Itoa(pop.People().Person(i).Number))
	}
	slices.Sort(want)
	job := httpsource.Job{Name: "kare", BaseURL: sourcetest.Mount(t, Name, Simulator(pop.People())), UpdatedSince: &at}
	pages, err := fetchAll(t, job)
	if err != nil {
		t.Fatal(err)
	}
	if got := sourcetest.SortedIDs(sourcetest.Users(pages)); !slices.Equal(got, want) {
		t.Errorf("users %v, want the touched and inserted %v", got, want)
	}
}

func TestIncrementalTakesTheLaterStart(t *testing.T) {
	people := &simdata.People{N: 500, Seed: 12}
	all := people.All()
	mid := sourcetest.UpdateQuantile(all, 0.5)
	early, late := mid.Add(-90*24*time.Hour), mid.Add(60*24*time.Hour)
	end := mid.Add(120 * 24 * time.Hour)
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, tt := range []struct {
		name        string
		own, since  time.Time
		wantStart   time.Time
		whereDelete any // nil: both listings
	}{
		{"the job's start is later", late, early, late, nil},
		{"the incremental start is later", early, late, late, nil},
		{"the same start", mid, mid, mid, nil},
		{"one listing, the incremental start later", early, mid, mid, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			filter := map[string]any{"whereUpdatedAt": map[string]any{"start": tt.own, "end": end.Format(time.RFC3339)}}
			if tt.whereDelete != nil {
				filter["whereIsDeleted"] = tt.whereDelete
			}
			job := httpsource.Job{Name: "kare", BaseURL: base, PageSize: 40, MaxInFlight: 2, Filter: filter, UpdatedSince: &tt.since}
			src, err := New(job, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range src.(*source).listings {
				u, err := url.Parse(l.(*listing).pageURL(0))
				if err != nil {
					t.Fatal(err)
				}
				if q := u.Query(); q.Get("whereUpdatedAt[start]") != tt.wantStart.Format(isoMillis) ||
					q.Get("whereUpdatedAt[end]") != end.Format(isoMillis) {
					t.Errorf("query %s, want start %s and end %s", u.RawQuery, tt.wantStart.Format(isoMillis), end.Format(isoMillis))
				}
			}
			pages, err := fetchAll(t, job)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, id := range sourcetest.UpdatedBetween(all, tt.wantStart, end, personID) {
				if tt.whereDelete == nil || people.Person(mustAtoi(t, id)-1000).Inactive {
					want = append(want, id)
				}
			}
			if got := sourcetest.SortedIDs(sourcetest.Users(pages)); len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("%d users, want %d", len(got), len(want))
			}
		})
	}
}

// TestProbeMatchesFetch checks that Probe sends one small request a
// listing and predicts exactly the requests, pages and users of a Fetch
// with no faults.
func TestProbeMatchesFetch(t *testing.T) {
	people := &simdata.People{N: 333, Seed: 13}
	all := people.All()
	mid := sourcetest.UpdateQuantile(all, 0.5)
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := &sourcetest.Recorder{Next: Simulator(people)}
	base := sourcetest.Mount(t, Name, rec)
	for _, since := range []*time.Time{nil, &mid, &future} {
		for _, filter := range []map[string]any{nil, {"whereIsDeleted": true}, {"whereLastName": "e"}} {
			for _, size := range []int{0, 1, 7, 50, 120, 500} {
				t.Run(fmt.Sprintf("since %v, filter %v, size %d", since, filter, size), func(t *testing.T) {
					job := httpsource.Job{Name: "kare", BaseURL: base, PageSize: size, MaxInFlight: 3, Filter: filter, UpdatedSince: since}
					listings := 2
					if filter["whereIsDeleted"] != nil {
						listings = 1
					}
					est, probes := sourcetest.Probe(t, Probe, job, sourcetest.Client(Name, job.Name, auth()), rec, listings) // one a listing
					for _, r := range probes {
						if q := r.URL.Query(); q.Get("pageSize") != "1" || q.Get("page") != "1" || q.Get("includeCount") != "true" ||
							(since != nil && q.Get("whereUpdatedAt[start]") != since.Format(isoMillis)) {
							t.Errorf("probe query %v", q)
						}
					}

					fetchClient := sourcetest.Client(Name, job.Name, auth())
					pages, err := sourcetest.FetchAll(t, New, job, fetchClient)
					if err != nil {
						t.Fatal(err)
					}
					sourcetest.CheckEstimate(t, est, pages, fetchClient)
					users := sourcetest.Users(pages)
					if since == &future && (len(users) != 0 || est.Requests != listings+httpsource.Rechecks(listings)) {
						t.Errorf("an empty window: %d users, estimate %+v", len(users), est)
					}
				})
			}
		}
	}
}

func TestProbeErrors(t *testing.T) {
	job := httpsource.Job{Name: "kare", PageSize: 501}
	if _, err := Probe(context.Background(), job, nil); err == nil || err.Error() != "kare: invalid config: page_size: must be between 1 and 500" {
		t.Errorf("invalid job: %v", err)
	}
	// Without totalCount the listing cannot be counted.
	job = httpsource.Job{Name: "kare", BaseURL: sourcetest.Mount(t, Name, sourcetest.JSON(`{"data": []}`))}
	_, err := Probe(context.Background(), job, sourcetest.Client(Name, job.Name, auth()))
	if want := "no totalCount"; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "kare") ||
		!strings.Contains(err.Error(), "page 0") {
		t.Errorf("no totalCount: %v", err)
	}
	// A refusal names the provider and the request.
	job.BaseURL = sourcetest.Mount(t, Name, Simulator(&simdata.People{N: 3, Seed: 1}))
	_, err = Probe(context.Background(), job, sourcetest.Client(Name, job.Name, httpsource.Auth{}))
	var serr *httpsource.StatusError
	if !errors.As(err, &serr) || serr.Status != http.StatusUnauthorized || serr.Provider != Name {
		t.Errorf("no auth: %v", err)
	}
}

// TestSimulatorUpdatedAtStartIsInclusive checks the simulator's
// whereUpdatedAt[start] to the millisecond: a user updated at the bound is
// in, one a millisecond before it is out.
func TestSimulatorUpdatedAtStartIsInclusive(t *testing.T) {
	people := &simdata.People{N: 200, Seed: 14}
	all := people.All()
	mid := sourcetest.UpdateQuantile(all, 0.5)
	sim := Simulator(people)
	for _, start := range []time.Time{mid, mid.Add(time.Millisecond), mid.Add(-time.Millisecond)} {
		var want []string
		for _, p := range all {
			if !p.Inactive && !p.UpdatedAt.Before(start) {
				want = append(want, strconv.Itoa(p.Number))
			}
		}
		resp := simList(t, sim, "pageSize=500&includeCount=true&whereUpdatedAt%5Bstart%5D="+url.QueryEscape(start.Format(isoMillis)))
		if got := dataIDs(resp); !slices.Equal(got, want) || *resp.TotalCount != len(want) {
			t.Errorf("start %s: %d users (total %d), want %d", start.Format(isoMillis), len(got), *resp.TotalCount, len(want))
		}
	}
}

func TestProviderIsIncremental(t *testing.T) {
	if p := Provider(); p.Incremental != httpsource.IncrementalFilter || p.Probe == nil || p.IncrementalNote != IncrementalNote ||
		!strings.Contains(IncrementalNote, "deleted") {
		t.Errorf("provider: incremental %q, probe set %t, note %q", p.Incremental, p.Probe != nil, p.IncrementalNote)
	}
}
