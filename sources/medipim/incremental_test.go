package medipim

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

// medianUpdate is the update time of the person in the middle of people
// by update time: a window from it holds about half of them.
func medianUpdate(people []simdata.Person) time.Time {
	times := make([]time.Time, len(people))
	for i, p := range people {
		times[i] = p.UpdatedAt
	}
	slices.SortFunc(times, time.Time.Compare)
	return times[len(times)/2]
}

func (rec *recorder) take() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	reqs := rec.reqs
	rec.reqs = nil
	return reqs
}

// TestIncrementalReadsTheWholeListing checks that UpdatedSince changes no
// request: the API cannot narrow to it, so the whole listing comes back.
func TestIncrementalReadsTheWholeListing(t *testing.T) {
	people := &simdata.People{N: 260, Seed: 21}
	mid := medianUpdate(people.All())
	rec := &recorder{next: Simulator(people)}
	base := sourcetest.Mount(t, Name, rec)
	job := httpsource.Job{Name: "mp", BaseURL: base, PageSize: 50, MaxInFlight: 1, Filter: map[string]any{"not": map[string]any{"id": 1000}}}
	if _, err := fetchAll(t, job); err != nil {
		t.Fatal(err)
	}
	full := rec.take()
	job.UpdatedSince = &mid
	pages, err := fetchAll(t, job)
	if err != nil {
		t.Fatal(err)
	}
	if incremental := rec.take(); !slices.Equal(incremental, full) || len(full) != 6 {
		t.Errorf("incremental requests\n%v\nwant those of a full read\n%v", incremental, full)
	}
	sourcetest.CheckPages(t, pages, 6, int64(people.N-1))
}

// TestProbeMatchesFetch checks that Probe sends one request for the
// smallest page and predicts exactly the requests, pages and users of a
// Fetch with no faults.
func TestProbeMatchesFetch(t *testing.T) {
	people := &simdata.People{N: 333, Seed: 22}
	mid := medianUpdate(people.All())
	org := people.Person(0).OrgID
	rec := &recorder{next: Simulator(people)}
	base := sourcetest.Mount(t, Name, rec)
	for _, since := range []*time.Time{nil, &mid} {
		for _, filter := range []map[string]any{nil, {"organization": org}, {"id": 1}} { // ids start at 1000: no one
			for _, size := range []int{0, 10, 50, 100, 250} {
				t.Run(fmt.Sprintf("since %v, filter %v, size %d", since, filter, size), func(t *testing.T) {
					job := httpsource.Job{Name: "mp", BaseURL: base, PageSize: size, MaxInFlight: 3, Filter: filter, Sort: map[string]any{"id": "DESC"}, UpdatedSince: since}
					probeClient := newClient(job.Name)
					est, err := Probe(context.Background(), job, probeClient)
					if err != nil {
						t.Fatal(err)
					}
					probes := rec.take()
					if n := probeClient.Stats().Requests; n != 1 || len(probes) != 1 {
						t.Fatalf("the probe sent %d requests (%d answered), want 1", n, len(probes))
					}
					var body struct {
						Filter  map[string]any `json:"filter"`
						Sorting map[string]any `json:"sorting"`
						Page    pageRef        `json:"page"`
					}
					if err := json.Unmarshal([]byte(probes[0].body), &body); err != nil {
						t.Fatal(err)
					}
					if body.Page != (pageRef{No: 0, Size: probePageSize}) || fmt.Sprint(body.Filter) != fmt.Sprint(filter) ||
						body.Sorting["id"] != "DESC" {
						t.Errorf("probe body %s", probes[0].body)
					}

					fetchClient := newClient(job.Name)
					pages, err := sourcetest.FetchAll(t, New, job, fetchClient)
					if err != nil {
						t.Fatal(err)
					}
					rec.take()
					users := sourcetest.Users(pages)
					if got := fetchClient.Stats().Requests; int64(est.Requests) != got || est.Pages != len(pages) || est.AtMost {
						t.Errorf("estimate %+v; the fetch sent %d requests for %d pages", est, got, len(pages))
					}
					if est.Total != schema.Some(int64(len(users))) || pages[len(pages)-1].Total != est.Total {
						t.Errorf("estimate total %v; the fetch returned %d users, reported %v", est.Total, len(users), pages[len(pages)-1].Total)
					}
					if filter["id"] != nil && (len(users) != 0 || est.Requests != 1) {
						t.Errorf("an empty listing: %d users, estimate %+v", len(users), est)
					}
				})
			}
		}
	}
}

func TestProbeErrors(t *testing.T) {
	job := httpsource.Job{Name: "mp", PageSize: 20}
	if _, err := Probe(context.Background(), job, nil); err == nil ||
		!strings.HasPrefix(err.Error(), "medipim: invalid config: page_size:") {
		t.Errorf("invalid job: %v", err)
	}
	// Without meta.total the listing cannot be counted; asking again
	// would not change the answer.
	noTotal := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"results": []}`))
	})
	job = httpsource.Job{Name: "mp", BaseURL: sourcetest.Mount(t, Name, noTotal)}
	client := httpsource.NewClient(httpsource.ClientConfig{Job: job.Name, Provider: Name})
	_, err := Probe(context.Background(), job, client)
	if want := "medipim page 0: POST /v4/users/query: the answer has no meta.total"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("no meta.total: %v, want %q", err, want)
	}
	if n := client.Stats().Requests; n != 1 {
		t.Errorf("no meta.total: %d requests, want 1", n)
	}
	// A refusal names the provider and the page.
	refuse := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error": {"code": "unauthorized"}}`, http.StatusUnauthorized)
	})
	job.BaseURL = sourcetest.Mount(t, Name, refuse)
	_, err = Probe(context.Background(), job, newClient(job.Name))
	var serr *httpsource.StatusError
	if !errors.As(err, &serr) || serr.Status != http.StatusUnauthorized || serr.Provider != Name || !strings.Contains(err.Error(), "medipim page 0") {
		t.Errorf("refused: %v", err)
	}
}

func TestProviderIsIncremental(t *testing.T) {
	if p := Provider(); p.Incremental != httpsource.IncrementalClient || p.Probe == nil || p.IncrementalNote != IncrementalNote ||
		!strings.Contains(IncrementalNote, "whole listing") || !strings.Contains(IncrementalNote, "Deletions are invisible") {
		t.Errorf("provider: incremental %q, probe set %t, note %q", p.Incremental, p.Probe != nil, p.IncrementalNote)
	}
}
