package requestor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

// userProviderKey is the id the API gives a person: its UserProviderKey.
func userProviderKey(p simdata.Person) string { return p.UUID }

func TestIncrementalFetchesTheWindow(t *testing.T) {
	people := &simdata.People{N: 650, Seed: 21}
	all := people.All()
	mid := sourcetest.UpdateQuantile(all, 0.5)
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, form := range forms {
		for _, since := range []time.Time{mid, mid.Add(100 * time.Nanosecond), mid.Add(-time.Nanosecond)} {
			t.Run(form+" "+since.Format(time.RFC3339Nano), func(t *testing.T) {
				want := sourcetest.UpdatedBetween(all, since, time.Time{}, userProviderKey)
				if len(want) == 0 || len(want) == len(all) {
					t.Fatalf("%d of %d people in the window: the test proves nothing", len(want), len(all))
				}
				job := httpsource.Job{Name: "rq", BaseURL: base, WireFormat: form, PageSize: 40, MaxInFlight: 3, UpdatedSince: &since}
				pages, err := fetchAll(t, job)
				if err != nil {
					t.Fatal(err)
				}
				if got := sourcetest.SortedIDs(sourcetest.Users(pages)); !slices.Equal(got, want) || pages[0].Total != schema.Some(int64(len(want))) {
					t.Errorf("%d users (total %v), want the %d updated from %v", len(got), pages[0].Total, len(want), since)
				}
			})
		}
	}
}

// TestIncrementalSeesTouchedAndInsertedPeople narrows to the time people
// were touched and inserted at: exactly they come back. The docs' users of
// a small population have no LastUpdatedUtc: no window holds them, and a
// full run exports them with a null updated_at.
func TestIncrementalSeesTouchedAndInsertedPeople(t *testing.T) {
	at := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tt := range []struct {
		name            string
		n, touch        int
		undated, insert int
	}{
		{"generated people", 300, 8, 0, 3},
		{"the docs' users", 2, 0, 2, 2},
	} {
		for _, form := range forms {
			t.Run(tt.name+" "+form, func(t *testing.T) {
				pop := simdata.NewPopulation(tt.n, 7)
				pop.Now = func() time.Time { return at }
				changed := append(pop.Touch(tt.touch, at), pop.Insert(tt.insert)...)
				var want []string
				for _, i := range changed {
					want = append(want, pop.People().Person(i).UUID)
				}
				slices.Sort(want)
				base := sourcetest.Mount(t, Name, Simulator(pop.People()))
				job := httpsource.Job{Name: "rq", BaseURL: base, WireFormat: form, UpdatedSince: &at}
				pages, err := fetchAll(t, job)
				if err != nil {
					t.Fatal(err)
				}
				if got := sourcetest.SortedIDs(sourcetest.Users(pages)); !slices.Equal(got, want) {
					t.Errorf("users %v, want the touched and inserted %v", got, want)
				}

				job.UpdatedSince = nil
				pages, err = fetchAll(t, job)
				if err != nil {
					t.Fatal(err)
				}
				undated := 0
				for _, u := range sourcetest.Users(pages) {
					if !u.UpdatedAt.Valid {
						undated++
					}
				}
				if undated != tt.undated {
					t.Errorf("a full run has %d users without updated_at, want %d", undated, tt.undated)
				}
			})
		}
	}
}

func TestIncrementalTakesTheLaterStart(t *testing.T) {
	people := &simdata.People{N: 500, Seed: 22}
	all := people.All()
	mid := sourcetest.UpdateQuantile(all, 0.5)
	early, late := mid.Add(-90*24*time.Hour), mid.Add(60*24*time.Hour)
	until := mid.Add(120 * 24 * time.Hour)
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, tt := range []struct {
		name             string
		own, since, from time.Time
	}{
		{"the job's start is later", late, early, late},
		{"the incremental start is later", early, late, late},
		{"the same start", mid, mid, mid},
	} {
		for _, form := range forms {
			t.Run(tt.name+" "+form, func(t *testing.T) {
				job := httpsource.Job{Name: "rq", BaseURL: base, WireFormat: form, PageSize: 30, MaxInFlight: 2, UpdatedSince: &tt.since,
					Filter: m{"LastUpdatedDateFromUtc": tt.own.Format(time.RFC3339), "LastUpdatedDateUntilUtc": until}}
				post, problems := parseJob(job)
				if len(problems) > 0 || !time.Time(*post.LastUpdatedDateFromUtc).Equal(tt.from) ||
					!time.Time(*post.LastUpdatedDateUntilUtc).Equal(until) {
					t.Errorf("post from %v until %v (%v), want from %v until %v",
						post.LastUpdatedDateFromUtc, post.LastUpdatedDateUntilUtc, problems, tt.from, until)
				}
				pages, err := fetchAll(t, job)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := sourcetest.SortedIDs(sourcetest.Users(pages)), sourcetest.UpdatedBetween(all, tt.from, until, userProviderKey); len(want) == 0 || !slices.Equal(got, want) {
					t.Errorf("%d users, want %d", len(got), len(want))
				}
			})
		}
	}
}

// TestIncrementalPostSendsTheWindow checks the window on the wire, in each
// form, to the 100 ns a .NET DateTime holds.
func TestIncrementalPostSendsTheWindow(t *testing.T) {
	since := time.Date(2024, 5, 6, 9, 8, 7, 123456789, time.FixedZone("", 2*3600))
	post, problems := parseJob(httpsource.Job{UpdatedSince: &since})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	b, err := json.Marshal(&post)
	if err != nil {
		t.Fatal(err)
	}
	const want = "2024-05-06T07:08:07.1234567Z"
	if !strings.Contains(string(b), `"LastUpdatedDateFromUtc":"`+want+`"`) ||
		!strings.Contains(string(post.xml()), "<LastUpdatedDateFromUtc>"+want+"</LastUpdatedDateFromUtc>") {
		t.Errorf("JSON %s\nXML %s\nwant LastUpdatedDateFromUtc %s", b, post.xml(), want)
	}
}

// TestProbeMatchesFetch checks that Probe sends one small request and
// predicts exactly the requests, pages and users of a Fetch with no faults.
func TestProbeMatchesFetch(t *testing.T) {
	people := &simdata.People{N: 400, Seed: 23}
	mid := sourcetest.UpdateQuantile(people.All(), 0.5)
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := &sourcetest.Recorder{Next: Simulator(people)}
	base := sourcetest.Mount(t, Name, rec)
	for _, form := range forms {
		for _, since := range []*time.Time{nil, &mid, &future} {
			for _, filter := range []map[string]any{nil, {"IsEndUser": true}} {
				for _, size := range []int{0, 3, 9, 200, 1000} {
					t.Run(fmt.Sprintf("%s since %v filter %v size %d", form, since, filter, size), func(t *testing.T) {
						job := httpsource.Job{Name: "rq", BaseURL: base, WireFormat: form, PageSize: size, MaxInFlight: 3,
							Filter: filter, UpdatedSince: since}
						est, probes := sourcetest.Probe(t, Probe, job, newClient(job.Name), rec, 1)
						if body := probes[0].Body; !strings.Contains(body, `"PageSize":1,`) && !strings.Contains(body, "<PageSize>1</PageSize>") {
							t.Errorf("probe body %s, want PageSize 1", body)
						}

						fetchClient := newClient(job.Name)
						pages, err := sourcetest.FetchAll(t, New, job, fetchClient)
						if err != nil {
							t.Fatal(err)
						}
						sourcetest.CheckEstimate(t, est, pages, fetchClient)
						users := sourcetest.Users(pages)
						if since == &future && (len(users) != 0 || est.Requests != 1) {
							t.Errorf("an empty window: %d users, estimate %+v", len(users), est)
						}
					})
				}
			}
		}
	}
}

func TestProbeErrors(t *testing.T) {
	job := httpsource.Job{Name: "rq", WireFormat: "yaml"}
	if _, err := Probe(context.Background(), job, nil); err == nil || err.Error() != "requestor: invalid config: wire_format: must be json or xml" {
		t.Errorf("invalid job: %v", err)
	}
	job = httpsource.Job{Name: "rq", BaseURL: sourcetest.Mount(t, Name, sourcetest.JSON(`{"PagedUsers": {"Items": []}}`))}
	_, err := Probe(context.Background(), job, newClient(job.Name))
	if err == nil || !strings.Contains(err.Error(), "no PagedUsers.TotalItems") || !strings.Contains(err.Error(), "requestor") ||
		!strings.Contains(err.Error(), "page 0") {
		t.Errorf("no TotalItems: %v", err)
	}
	refuse := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeMessage(w, WireJSON, http.StatusBadRequest, "PageSize is too small.")
	})
	job.BaseURL = sourcetest.Mount(t, Name, refuse)
	_, err = Probe(context.Background(), job, newClient(job.Name))
	var serr *httpsource.StatusError
	if !errors.As(err, &serr) || serr.Status != http.StatusBadRequest || serr.Message != "PageSize is too small." || serr.Provider != Name {
		t.Errorf("a refusal: %v", err)
	}
}

func TestProviderIsIncremental(t *testing.T) {
	if p := Provider(); p.Incremental != httpsource.IncrementalFilter || p.Probe == nil || p.IncrementalNote != IncrementalNote ||
		!strings.Contains(IncrementalNote, "null") || !strings.Contains(IncrementalNote, "delet") {
		t.Errorf("provider: incremental %q, probe set %t, note %q", p.Incremental, p.Probe != nil, p.IncrementalNote)
	}
}
