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
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

// TestIncrementalReadsTheWholeListing checks that UpdatedSince changes no
// request: the API cannot narrow to it, so the whole listing comes back.
func TestIncrementalReadsTheWholeListing(t *testing.T) {
	people := &simdata.People{N: 260, Seed: 21}
	mid := sourcetest.UpdateQuantile(people.All(), 0.5)
	rec := &sourcetest.Recorder{Next: Simulator(people)}
	base := sourcetest.Mount(t, Name, rec)
	job := httpsource.Job{Name: "mp", BaseURL: base, PageSize: 50, MaxInFlight: 1, Filter: map[string]any{"not": map[string]any{"id": 1000}}}
	if _, err := fetchAll(t, job); err != nil {
		t.Fatal(err)
	}
	full := take(rec)
	job.UpdatedSince = &mid
	pages, err := fetchAll(t, job)
	if err != nil {
		t.Fatal(err)
	}
	if incremental := take(rec); !slices.Equal(incremental, full) || len(full) != 6 {
		t.Errorf("incremental requests\n%v\nwant those of a full read\n%v", incremental, full)
	}
	sourcetest.CheckPages(t, pages, 6, int64(people.N-1))
}

// TestProbeMatchesFetch checks that Probe sends one request for the
// smallest page and predicts exactly the requests, pages and users of a
// Fetch with no faults.
func TestProbeMatchesFetch(t *testing.T) {
	people := &simdata.People{N: 333, Seed: 22}
	mid := sourcetest.UpdateQuantile(people.All(), 0.5)
	org := people.Person(0).OrgID
	rec := &sourcetest.Recorder{Next: Simulator(people)}
	base := sourcetest.Mount(t, Name, rec)
	for _, since := range []*time.Time{nil, &mid} {
		for _, filter := range []map[string]any{nil, {"organization": org}, {"id": 1}} { // ids start at 1000: no one
			for _, size := range []int{0, 10, 50, 100, 250} {
				t.Run(fmt.Sprintf("since %v, filter %v, size %d", since, filter, size), func(t *testing.T) {
					job := httpsource.Job{Name: "mp", BaseURL: base, PageSize: size, MaxInFlight: 3, Filter: filter, Sort: map[string]any{"id": "DESC"}, UpdatedSince: since}
					est, probes := sourcetest.Probe(t, Probe, job, newClient(job.Name), rec, 1)
					var body struct {
						Filter  map[string]any `json:"filter"`
						Sorting map[string]any `json:"sorting"`
						Page    pageRef        `json:"page"`
					}
					if err := json.Unmarshal([]byte(probes[0].Body), &body); err != nil {
						t.Fatal(err)
					}
					if body.Page != (pageRef{No: 0, Size: probePageSize}) || fmt.Sprint(body.Filter) != fmt.Sprint(filter) ||
						body.Sorting["id"] != "DESC" {
						t.Errorf("probe body %s", probes[0].Body)
					}

					fetchClient := newClient(job.Name)
					pages, err := sourcetest.FetchAll(t, New, job, fetchClient)
					if err != nil {
						t.Fatal(err)
					}
					sourcetest.CheckEstimate(t, est, pages, fetchClient)
					users := sourcetest.Users(pages)
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
	job = httpsource.Job{Name: "mp", BaseURL: sourcetest.Mount(t, Name, sourcetest.JSON(`{"results": []}`))}
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
