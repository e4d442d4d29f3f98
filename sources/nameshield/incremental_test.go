package nameshield

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
	"sync"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

// newestFirst sorts people as an incremental read lists them: updated_at
// descending, then id ascending.
func newestFirst(people []simdata.Person) []simdata.Person {
	out := slices.Clone(people)
	slices.SortFunc(out, func(a, b simdata.Person) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), strings.Compare(a.UUID, b.UUID))
	})
	return out
}

func uuids(people []simdata.Person) []string {
	out := make([]string, len(people))
	for i, p := range people {
		out[i] = p.UUID
	}
	return out
}

// inWindow counts the people updated at or after since; sorted newest
// first, they are the first ones.
func inWindow(sorted []simdata.Person, since time.Time) int {
	return slices.IndexFunc(sorted, func(p simdata.Person) bool { return p.UpdatedAt.Before(since) })
}

// TestIncrementalStopsPastTheWindow checks that an incremental read lists
// the users newest first and stops at the first page that reaches past
// the window: every user in the window comes back, then the rest of that
// page, and no further page is emitted.
func TestIncrementalStopsPastTheWindow(t *testing.T) {
	people := &simdata.People{N: 500, Seed: 41}
	sorted := newestFirst(people.All())
	base := sourcetest.Mount(t, Name, Simulator(people))
	const limit = 20
	fullPages := people.N / limit
	for _, tt := range []struct {
		name  string
		since time.Time
	}{
		{"half the people, from one's own update time", sourcetest.UpdateQuantile(people.All(), 0.5)},
		{"a tenth, a second after one's update time", sourcetest.UpdateQuantile(people.All(), 0.9).Add(time.Second)},
		{"a twentieth, a nanosecond before one's update time", sourcetest.UpdateQuantile(people.All(), 0.95).Add(-time.Nanosecond)},
	} {
		want := inWindow(sorted, tt.since)
		if want <= 0 || want >= people.N {
			t.Fatalf("%s: %d of %d people in the window: the test proves nothing", tt.name, want, people.N)
		}
		// The first page whose last user is older than since ends the read.
		readPages := want/limit + 1
		for _, inFlight := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s, %d in flight", tt.name, inFlight), func(t *testing.T) {
				job := httpsource.Job{Name: "ns", BaseURL: base, PageSize: limit, MaxInFlight: inFlight, UpdatedSince: &tt.since}
				client := newClient(job.Name)
				pages, err := sourcetest.FetchAll(t, New, job, client)
				if err != nil {
					t.Fatal(err)
				}
				got := sourcetest.IDs(sourcetest.Users(pages))
				if !slices.Equal(got, uuids(sorted[:min(readPages*limit, people.N)])) {
					t.Fatalf("%d users, want the %d newest, in order, %d of them in the window", len(got), readPages*limit, want)
				}
				if len(pages) != readPages || !pages[len(pages)-1].Last || pages[0].Total != schema.Some(int64(people.N)) {
					t.Errorf("%d pages (last %t, total %v), want %d", len(pages), pages[len(pages)-1].Last, pages[0].Total, readPages)
				}
				// Pages already in flight when the read stopped were sent,
				// never emitted, one of them perhaps while the last page
				// was decoded.
				sent := client.Stats().Requests
				if lo, hi := int64(readPages), int64(min(readPages+inFlight, fullPages)); sent < lo || sent > hi {
					t.Errorf("%d requests, want %d to %d", sent, lo, hi)
				}
				if tt.since.After(sorted[people.N/2].UpdatedAt) && sent >= int64(fullPages) {
					t.Errorf("%d requests for a small window, as many as the whole listing (%d)", sent, fullPages)
				}
			})
		}
	}
}

func TestIncrementalWindowAfterEveryone(t *testing.T) {
	people := &simdata.People{N: 500, Seed: 42}
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, inFlight := range []int{1, 4} {
		job := httpsource.Job{Name: "ns", BaseURL: base, PageSize: 20, MaxInFlight: inFlight, UpdatedSince: &future}
		client := newClient(job.Name)
		pages, err := sourcetest.FetchAll(t, New, job, client)
		if err != nil {
			t.Fatal(err)
		}
		kept := slices.DeleteFunc(sourcetest.Users(pages), func(u schema.User) bool { return u.UpdatedAt.V.Before(future) })
		// Stream starts the pages after page 0 before it sees page 0 is
		// the last, so with several in flight a few more may be sent.
		if sent := client.Stats().Requests; len(pages) != 1 || len(kept) != 0 || sent < 1 || sent > int64(inFlight) ||
			(inFlight == 1 && sent != 1) {
			t.Errorf("%d in flight: %d pages, %d users in the window, %d requests", inFlight, len(pages), len(kept), sent)
		}
	}
}

// TestIncrementalTiesAndTouches reads a window that starts at the time
// people were touched: exactly they are in it, in id order since they tie,
// and the read goes on until a page reaches past them.
func TestIncrementalTiesAndTouches(t *testing.T) {
	pop := simdata.NewPopulation(300, 43)
	at := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	pop.Now = func() time.Time { return at }
	touched := pop.Touch(30, at)
	inserted := pop.Insert(2)
	var want []simdata.Person
	for _, i := range append(touched, inserted...) {
		want = append(want, pop.People().Person(i))
	}
	slices.SortFunc(want, func(a, b simdata.Person) int { return strings.Compare(a.UUID, b.UUID) })
	job := httpsource.Job{Name: "ns", BaseURL: sourcetest.Mount(t, Name, Simulator(pop.People())), PageSize: 16, UpdatedSince: &at}
	client := newClient(job.Name)
	pages, err := sourcetest.FetchAll(t, New, job, client)
	if err != nil {
		t.Fatal(err)
	}
	users := sourcetest.Users(pages)
	// 32 tie at the window's start: pages 0 and 1 hold only them, and page
	// 2 reaches past them (page 3 may be asked for while it is decoded).
	n := client.Stats().Requests
	if got := sourcetest.IDs(users[:len(want)]); !slices.Equal(got, uuids(want)) || len(pages) != 3 || n < 3 || n > 4 {
		t.Errorf("%d pages, %d requests, first users %v, want %v", len(pages), client.Stats().Requests, got, uuids(want))
	}
	for _, u := range users[len(want):] {
		if !u.UpdatedAt.V.Before(at) {
			t.Errorf("user %s updated at %v, in the window, after the ties", u.ID, u.UpdatedAt.V)
		}
	}
}

func TestIncrementalQuery(t *testing.T) {
	since := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	job := httpsource.Job{BaseURL: "https://h", PageSize: 50, Filter: m{"customer_id": 7}, UpdatedSince: &since}
	src, err := New(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "https://h/user/v1/users?customer_id=7&limit=50&offset=100&sort%5B%5D=updated_at%3Adesc&sort%5B%5D=id%3Aasc"
	if got := src.(*source).pageURL(2); got != want {
		t.Errorf("URL\n%s\nwant\n%s", got, want)
	}
	// The job's own sort cannot hold: New refuses it rather than change it.
	job.Sort = []any{"lastname:asc"}
	if _, err := New(job, nil); err == nil ||
		err.Error() != "nameshield: invalid config: sort: cannot be combined with an incremental run, which sorts by updated_at:desc" {
		t.Errorf("sort and incremental: %v", err)
	}
	job.UpdatedSince = nil
	if problems := CheckConfig(job); len(problems) != 0 {
		t.Errorf("a full run with a sort: %v", problems)
	}
}

// TestSimulatorSortsNewestFirst checks the simulator's updated_at:desc
// with the id tie-break, on people of whom many share an update time, and
// that a touch is seen by the next request.
func TestSimulatorSortsNewestFirst(t *testing.T) {
	pop := simdata.NewPopulation(400, 44)
	sim := Simulator(pop.People())
	query := "sort[]=updated_at:desc&sort[]=id:asc&limit=500"
	for round, at := range []time.Time{time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)} {
		simList(t, sim, query) // cached before the touch
		pop.Touch(60, at)
		resp := simList(t, sim, query)
		want := newestFirst(pop.People().Present())
		got := make([]string, len(resp.Data.Results))
		for k, u := range resp.Data.Results {
			got[k] = u.ID
		}
		ties := 0
		for _, p := range want {
			if p.UpdatedAt.Equal(at) {
				ties++
			}
		}
		if !slices.Equal(got, uuids(want)) || ties < 60 {
			t.Errorf("round %d: the simulator's order differs from updated_at desc, id asc (%d ties)", round, ties)
		}
	}
}

// fixed serves a fixed listing, already in the order asked for, as the API
// does: data.total, limit and offset. It keeps the sort it was asked for.
type fixed struct {
	users []map[string]any
	mu    sync.Mutex
	sorts [][]string
}

func (f *fixed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.sorts = append(f.sorts, q["sort[]"])
	f.mu.Unlock()
	limit, _ := strconv.Atoi(q.Get("limit"))
	offset, _ := strconv.Atoi(q.Get("offset"))
	from, to := min(offset, len(f.users)), min(offset+limit, len(f.users))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"message": "OK", "data": map[string]any{
		"total": len(f.users), "limit": limit, "offset": offset, "results": f.users[from:to],
	}})
}

// TestIncrementalUsersWithoutUpdatedAt checks both places a sort may put
// users without updated_at: an incremental read still gets every user in
// its window, and a full read gets everyone.
func TestIncrementalUsersWithoutUpdatedAt(t *testing.T) {
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	dated := func(from, to int) []map[string]any { // newest first
		var out []map[string]any
		for i := to - 1; i >= from; i-- {
			out = append(out, map[string]any{"id": fmt.Sprintf("d%02d", i), "updated_at": base.Add(time.Duration(i) * time.Hour).Format(time.RFC3339)})
		}
		return out
	}
	undated := func(n int) []map[string]any {
		var out []map[string]any
		for i := range n {
			u := map[string]any{"id": fmt.Sprintf("n%02d", i)}
			if i%2 == 0 {
				u["updated_at"] = nil // and absent for the others
			}
			out = append(out, u)
		}
		return out
	}
	since := base.Add(30 * time.Hour) // d30..d39 are in the window
	for _, tt := range []struct {
		name      string
		users     []map[string]any
		wantPages int
	}{
		// 12 undated, then d39..d30 in pages 2 to 4; page 4 reaches d27.
		{"first", append(undated(12), dated(0, 40)...), 5},
		// d39..d30 in pages 0 and 1, which reaches d33; the undated are
		// never read.
		{"last", append(dated(0, 40), undated(12)...), 3},
		{"first, a window holding no one", append(undated(12), dated(0, 20)...), 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := &fixed{users: tt.users}
			job := httpsource.Job{Name: "ns", BaseURL: sourcetest.Mount(t, Name, api), PageSize: 5, MaxInFlight: 2, UpdatedSince: &since}
			pages, err := fetchAll(t, job)
			if err != nil {
				t.Fatal(err)
			}
			var inWindow []string
			for _, u := range sourcetest.Users(pages) {
				if u.UpdatedAt.Valid && !u.UpdatedAt.V.Before(since) {
					inWindow = append(inWindow, u.ID)
				}
			}
			var want []string
			for _, u := range tt.users {
				if at, ok := u["updated_at"].(string); ok && at >= since.Format(time.RFC3339) {
					want = append(want, u["id"].(string))
				}
			}
			if !slices.Equal(inWindow, want) || len(pages) != tt.wantPages {
				t.Errorf("%d pages, in the window %v, want %d pages, %v", len(pages), inWindow, tt.wantPages, want)
			}
			api.mu.Lock()
			sort := api.sorts[0]
			api.mu.Unlock()
			if !slices.Equal(sort, []string{"updated_at:desc", "id:asc"}) {
				t.Errorf("sort %v", sort)
			}

			job.UpdatedSince = nil // a full read: everyone, undated or not
			pages, err = fetchAll(t, job)
			if err != nil {
				t.Fatal(err)
			}
			if got := sourcetest.Users(pages); len(got) != len(tt.users) {
				t.Errorf("a full read: %d users, want %d", len(got), len(tt.users))
			}
		})
	}
}

// TestProbeMatchesFetch checks that Probe sends one one-user request and
// predicts exactly the requests, pages and users of a full Fetch with no
// faults, and bounds those of an incremental one.
func TestProbeMatchesFetch(t *testing.T) {
	people := &simdata.People{N: 222, Seed: 45}
	mid := sourcetest.UpdateQuantile(people.All(), 0.5)
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	org := people.Person(0).OrgID
	sim := Simulator(people)
	for _, since := range []*time.Time{nil, &mid, &future} {
		for _, filter := range []map[string]any{nil, {"customer_id": org}, {"email": "nobody@*"}} {
			for _, size := range []int{0, 1, 7, 50, 111, 500} {
				t.Run(fmt.Sprintf("since %v, filter %v, size %d", since, filter, size), func(t *testing.T) {
					// A server of its own: requests an earlier read that
					// stopped early had in flight may still arrive.
					rec := &sourcetest.Recorder{Next: sim}
					base := sourcetest.Mount(t, Name, rec)
					job := httpsource.Job{Name: "ns", BaseURL: base, PageSize: size, MaxInFlight: 3, Filter: filter, UpdatedSince: since}
					est, probes := sourcetest.Probe(t, Probe, job, newClient(job.Name), rec, 1)
					wantSort := []string{"id:asc"}
					if since != nil {
						wantSort = []string{"updated_at:desc", "id:asc"}
					}
					q := probes[0].URL.Query()
					if q.Get("limit") != "1" || q.Get("offset") != "0" || !slices.Equal(q["sort[]"], wantSort) {
						t.Errorf("probe query %v", q)
					}
					for key, v := range filter {
						if q.Get(key) != fmt.Sprint(v) {
							t.Errorf("probe query %v, want %s=%v", q, key, v)
						}
					}

					fetchClient := newClient(job.Name)
					pages, err := sourcetest.FetchAll(t, New, job, fetchClient)
					if err != nil {
						t.Fatal(err)
					}
					users := sourcetest.Users(pages)
					sent := fetchClient.Stats().Requests
					if since == nil {
						sourcetest.CheckEstimate(t, est, pages, fetchClient)
					} else if int64(est.Requests) < sent || est.Pages < len(pages) || !est.AtMost || est.Total.Valid {
						t.Errorf("estimate %+v; the fetch sent %d requests for %d pages", est, sent, len(pages))
					}
					if filter["email"] != nil && (len(users) != 0 || est.Requests != 1) {
						t.Errorf("an empty listing: %d users, estimate %+v", len(users), est)
					}
				})
			}
		}
	}
}

func TestProbeErrors(t *testing.T) {
	job := httpsource.Job{Name: "ns", PageSize: 501}
	if _, err := Probe(context.Background(), job, nil); err == nil || err.Error() != "nameshield: invalid config: page_size: must be between 1 and 500" {
		t.Errorf("invalid job: %v", err)
	}
	// Without data.total the listing cannot be counted; asking again
	// would not change the answer.
	job = httpsource.Job{Name: "ns", BaseURL: sourcetest.Mount(t, Name, sourcetest.JSON(`{"message": "OK", "data": {"results": []}}`))}
	client := httpsource.NewClient(httpsource.ClientConfig{Job: job.Name, Provider: Name, Auth: httpsource.Auth{Type: "bearer", Token: "tok"}})
	_, err := Probe(context.Background(), job, client)
	if want := "nameshield page 0: GET /user/v1/users: the answer has no data.total"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("no data.total: %v, want %q", err, want)
	}
	if n := client.Stats().Requests; n != 1 {
		t.Errorf("no data.total: %d requests, want 1", n)
	}
	// A refusal names the provider and the page.
	refuse := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"message": "Unauthorized"}`, http.StatusUnauthorized)
	})
	job.BaseURL = sourcetest.Mount(t, Name, refuse)
	_, err = Probe(context.Background(), job, newClient(job.Name))
	var serr *httpsource.StatusError
	if !errors.As(err, &serr) || serr.Status != http.StatusUnauthorized || serr.Provider != Name || !strings.Contains(err.Error(), "nameshield page 0") {
		t.Errorf("refused: %v", err)
	}
}

func TestProviderIsIncremental(t *testing.T) {
	if p := Provider(); p.Incremental != httpsource.IncrementalSorted || p.Probe == nil || p.IncrementalNote != IncrementalNote ||
		!strings.Contains(IncrementalNote, "Deletions are invisible") {
		t.Errorf("provider: incremental %q, probe set %t, note %q", p.Incremental, p.Probe != nil, p.IncrementalNote)
	}
}
