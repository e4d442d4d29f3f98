package mctime

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

// TestProbeMatchesFetch checks that Probe reads page 0 of each listing
// once and predicts exactly the requests and pages of a Fetch with no
// faults, listings of one page, several and none included.
func TestProbeMatchesFetch(t *testing.T) {
	for _, n := range []int{333, 25} {
		people := &simdata.People{N: n, Seed: 31}
		active, _ := byListing(people)
		rec := &sourcetest.Recorder{Next: Simulator(people)}
		base := sourcetest.Mount(t, Name, rec)
		for _, tt := range []struct {
			filter   map[string]any
			listings int
		}{
			{nil, 2},
			{map[string]any{"inactive": true}, 1},
			{map[string]any{"inactive": false}, 1},
			{map[string]any{"roles": []any{RoleManager, RoleApprover}}, 2},
			// An active user's id, among the inactive: an empty listing.
			{map[string]any{"inactive": true, "userIds": active[0].UUID}, 1},
			{map[string]any{"userIds": active[0].UUID}, 2},
		} {
			for _, size := range []int{0, PageSize} {
				t.Run(fmt.Sprintf("%d people, filter %v, size %d", n, tt.filter, size), func(t *testing.T) {
					job := httpsource.Job{Name: "mc", BaseURL: base, PageSize: size, MaxInFlight: 3, Filter: tt.filter}
					est, probes := sourcetest.Probe(t, Probe, job, sourcetest.Client(Name, job.Name, apiKey), rec, tt.listings) // one a listing
					for _, r := range probes {
						if q := r.URL.Query(); q.Get("page") != "1" || (tt.filter["userIds"] != nil && q.Get("userIds") != active[0].UUID) ||
							(tt.filter["roles"] != nil && !slices.Equal(q["roles"], []string{RoleManager, RoleApprover})) {
							t.Errorf("probe query %v", q)
						}
					}

					fetchClient := sourcetest.Client(Name, job.Name, apiKey)
					pages, err := sourcetest.FetchAll(t, New, job, fetchClient)
					if err != nil {
						t.Fatal(err)
					}
					sourcetest.CheckEstimate(t, est, pages, fetchClient) // no total: McTime counts no users
					if tt.filter["inactive"] == true && tt.filter["userIds"] != nil &&
						(len(sourcetest.Users(pages)) != 0 || est.Requests != 1) {
						t.Errorf("an empty listing: %d users, estimate %+v", len(sourcetest.Users(pages)), est)
					}
				})
			}
		}
	}
}

func TestProbeErrors(t *testing.T) {
	job := httpsource.Job{Name: "mc", PageSize: 50}
	if _, err := Probe(context.Background(), job, nil); err == nil ||
		err.Error() != "mctime: invalid config: page_size: must be 20: the API's fixed page size" {
		t.Errorf("invalid job: %v", err)
	}
	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	job = httpsource.Job{Name: "mc", UpdatedSince: &since}
	if _, err := Probe(context.Background(), job, nil); err == nil || !strings.Contains(err.Error(), "no update time") {
		t.Errorf("incremental job: %v", err)
	}
	if _, err := New(job, nil); err == nil || !strings.Contains(err.Error(), "no update time") {
		t.Errorf("incremental job: %v", err)
	}

	// Without pageSize the listing cannot be counted; asking again would
	// not change the answer.
	sim := Simulator(&simdata.People{N: 50, Seed: 1})
	count := regexp.MustCompile(`,"pageSize":"\d+"`)
	noCount := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		_, _ = w.Write(count.ReplaceAll(rec.Body.Bytes(), nil))
	})
	job = httpsource.Job{Name: "mc", BaseURL: sourcetest.Mount(t, Name, noCount)}
	client := httpsource.NewClient(httpsource.ClientConfig{Job: job.Name, Provider: Name, Auth: apiKey})
	_, err := Probe(context.Background(), job, client)
	if want := "mctime page 0: GET /users?inactive=false: the answer has no pageSize"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("no pageSize: %v, want %q", err, want)
	}
	if n := client.Stats().Requests; n != 1 {
		t.Errorf("no pageSize: %d requests, want 1", n)
	}

	// A 401 names the provider, the page and what the job asked for.
	job = httpsource.Job{Name: "mc", BaseURL: sourcetest.Mount(t, Name, sim), Filter: map[string]any{"userIds": "nobody"}}
	_, err = Probe(context.Background(), job, sourcetest.Client(Name, job.Name, apiKey))
	var serr *httpsource.StatusError
	if !errors.As(err, &serr) || serr.Status != http.StatusUnauthorized || serr.Provider != Name ||
		!strings.Contains(err.Error(), `userIds "nobody"`) || !strings.Contains(err.Error(), "mctime page 0") {
		t.Errorf("refused: %v", err)
	}
}

func TestProviderIsNotIncremental(t *testing.T) {
	if p := Provider(); p.Incremental != httpsource.IncrementalNone || p.Probe == nil || p.IncrementalNote != IncrementalNote ||
		!strings.Contains(IncrementalNote, "no update time") {
		t.Errorf("provider: incremental %q, probe set %t, note %q", p.Incremental, p.Probe != nil, p.IncrementalNote)
	}
}
