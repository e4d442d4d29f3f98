package pipeline

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// directory is an independent fake of the Nameshield API whose users
// change while a client pages: change runs once page `after` (counted
// over the server's life, from 0) has been answered, and again every
// `every` pages after that when every > 0.
type directory struct {
	mu     sync.Mutex
	ids    []string // sorted, as sort[]=id:asc asks
	next   int      // for new ids
	served int
	after  int
	every  int
	change func(d *directory)
	// createdAt is every user's created_at, "" for the default.
	createdAt string
}

func newDirectory(n, after, every int, change func(d *directory)) *directory {
	d := &directory{after: after, every: every, change: change, next: n}
	for i := range n {
		d.ids = append(d.ids, fmt.Sprintf("id-%05d", i))
	}
	return d
}

// deleteAt removes the users at positions, counted before any is removed.
func (d *directory) deleteAt(positions ...int) {
	slices.Sort(positions)
	for i, p := range positions {
		d.ids = slices.Delete(d.ids, p-i, p-i+1)
	}
}

// insert adds a user whose id sorts just after the user at position.
func (d *directory) insert(position int) {
	id := d.ids[position] + fmt.Sprintf("-new%d", d.next)
	d.next++
	d.ids = slices.Insert(d.ids, position+1, id)
}

func (d *directory) current() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Sorted(slices.Values(d.ids))
}

func (d *directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	offset, _ := strconv.Atoi(q.Get("offset"))
	d.mu.Lock()
	defer d.mu.Unlock()
	var results []string
	createdAt := cmp.Or(d.createdAt, "2023-01-01T00:00:00+01:00")
	for _, id := range d.ids[min(offset, len(d.ids)):min(offset+limit, len(d.ids))] {
		results = append(results, fmt.Sprintf(`{"id":%q,"firstname":"A","lastname":"B","email":null,"language":"fr","phone":null,"customer_id":1,`+
			`"expires_at":null,"last_login_at":null,"created_at":%q,"updated_at":"2023-01-01T00:00:00+01:00"}`, id, createdAt))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"message":"OK","data":{"total":%d,"limit":%d,"offset":%d,"sort":["id:asc"],"results":[%s]}}`,
		len(d.ids), limit, offset, strings.Join(results, ","))
	if d.change != nil && (d.served == d.after || d.every > 0 && d.served > d.after && (d.served-d.after)%d.every == 0) {
		d.change(d)
	}
	d.served++
}

// committedIDs reads the ids of a job's committed JSONL file.
func committedIDs(t *testing.T, files map[string][]byte, job string) []string {
	t.Helper()
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(files[pinnedDir(job, "jsonl", "r1")+"users.jsonl"]))
	for sc.Scan() {
		var u struct{ ID string }
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestRunDriftRestartsAndCommitsTheFinalListing(t *testing.T) {
	tests := []struct {
		name    string
		dir     *directory
		confirm bool
		reads   int // listing reads thrown away
	}{
		// The case that used to succeed with 5 deleted users in the files and
		// 5 live ones missing: 600 users, 100 a page, 5 deleted after page 0.
		{"5 deleted after the first page", newDirectory(600, 0, 0, func(d *directory) { d.deleteAt(0, 1, 2, 3, 4) }), false, 1},
		{"5 created before the cursor", newDirectory(600, 1, 0, func(d *directory) {
			for range 5 {
				d.insert(3)
			}
		}), false, 1},
		// One user in, one out, both behind the cursor: the total and every
		// later page stay as they were, so only a second read shows it.
		{"one in and one out behind the cursor, confirmed", newDirectory(600, 2, 0, func(d *directory) {
			d.deleteAt(10)
			d.insert(20)
		}), true, 1},
		{"a stable listing, confirmed", newDirectory(600, -1, 0, nil), true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, files := runOneJob(t, tt.dir, fmt.Sprintf(
				`{name: ns, provider: nameshield, base_url: {{url}}, page_size: 100, max_in_flight: 1, rate_limit: 1000/1s, drift: {confirm: %t}}`, tt.confirm))
			if got, want := committedIDs(t, files, "ns"), tt.dir.current(); !slices.Equal(got, want) {
				t.Errorf("committed %d ids, the directory holds %d; missing %v, extra %v",
					len(got), len(want), missing(want, got), missing(got, want))
			}
			var m Manifest
			if err := json.Unmarshal(files[pinnedDir("ns", "jsonl", "r1")+ManifestName], &m); err != nil {
				t.Fatal(err)
			}
			if m.DriftEvents != tt.reads || sum.Jobs[0].DriftEvents != tt.reads || m.Confirmed != tt.confirm {
				t.Errorf("manifest drift_events %d confirmed %v, summary %d; want %d and %v",
					m.DriftEvents, m.Confirmed, sum.Jobs[0].DriftEvents, tt.reads, tt.confirm)
			}
		})
	}
}

// The confirming read compares ids, so it decodes nothing else: a
// created_at that turns unreadable after the first read, which a whole
// decoding would refuse and fail the job on, goes unread, and the files
// hold what the first read wrote.
func TestConfirmingReadDecodesOnlyIDs(t *testing.T) {
	// 600 users in pages of 100: the first read ends with page 5.
	dir := newDirectory(600, 5, 0, func(d *directory) { d.createdAt = "the day before yesterday" })
	_, files := runOneJob(t, dir, `{name: ns, provider: nameshield, base_url: {{url}}, page_size: 100, max_in_flight: 1, rate_limit: 1000/1s}`)
	if dir.served != 12 {
		t.Fatalf("the server answered %d pages, want 6 for each read", dir.served)
	}
	data := files[pinnedDir("ns", "jsonl", "r1")+"users.jsonl"]
	if n := bytes.Count(data, []byte(`"created_at":"2022-12-31T23:00:00Z"`)); n != 600 {
		t.Errorf("%d of 600 users carry the first read's created_at", n)
	}
	var m Manifest
	if err := json.Unmarshal(files[pinnedDir("ns", "jsonl", "r1")+ManifestName], &m); err != nil {
		t.Fatal(err)
	}
	if !m.Confirmed {
		t.Error("the manifest says the read was not confirmed")
	}
}

// runOneJob runs one job, given as a flow mapping whose base_url is
// {{url}}, against api, writing JSONL; it returns the summary of the run,
// which must have succeeded, and its files.
func runOneJob(t *testing.T, api http.Handler, job string) (*Summary, map[string][]byte) {
	t.Helper()
	srv := httptest.NewServer(api)
	defer srv.Close()
	out := t.TempDir()
	cfg := parseTestConfig(t, `
version: 1
output: {destination: "{{out}}", formats: [jsonl]}
jobs:
  - `+strings.ReplaceAll(job, "{{url}}", srv.URL)+`
`, out)
	sum := runPinned(t, context.Background(), cfg, 0)
	if sum.Status != StatusSucceeded {
		t.Fatalf("status %q: %+v", sum.Status, sum.Jobs)
	}
	return sum, listFiles(t, out)
}

// missing lists the ids of want that got lacks; both sorted.
func missing(want, got []string) []string {
	var out []string
	for _, id := range want {
		if _, found := slices.BinarySearch(got, id); !found {
			out = append(out, id)
		}
	}
	return out
}

func TestRunDriftThatNeverSettlesFailsAndCommitsNothing(t *testing.T) {
	// A user deleted after every second page: no read is ever clean. One
	// page in flight, so that the pages reach the server in order and the
	// first read's message is known: with more, page 1 may come after a
	// second deletion.
	churn := newDirectory(600, 0, 2, func(d *directory) { d.deleteAt(len(d.ids) / 2) })
	srv := httptest.NewServer(churn)
	defer srv.Close()
	out := t.TempDir()
	cfg := parseTestConfig(t, `
version: 1
output: {destination: {{out}}, formats: [jsonl, parquet]}
jobs:
  - {name: churn, provider: nameshield, base_url: `+srv.URL+`, page_size: 100, max_in_flight: 1, rate_limit: 1000/1s, drift: {max_restarts: 2}}
  - {name: fine, provider: medipim, base_url: simulator, rate_limit: 1000/1s}
`, out)
	sum := runPinned(t, context.Background(), cfg, 30)
	if sum.Status != StatusFailed || sum.Jobs[0].Status != StatusFailed || sum.Jobs[1].Status != StatusSucceeded {
		t.Fatalf("statuses %q %q %q, want failed, failed, succeeded", sum.Status, sum.Jobs[0].Status, sum.Jobs[1].Status)
	}
	msg := sum.Jobs[0].Error
	for _, want := range []string{
		`job "churn": the listing changed while it was paged, on each of 3 reads (drift.max_restarts: 2); nothing was committed: `,
		"read 1: the listing changed while it was paged (total_changed: listing 0 page 1: page 0 reported a total of 600, page 1 reports 599)",
		"read 3: ",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if sum.Jobs[0].DriftEvents != 3 {
		t.Errorf("drift_events %d, want 3", sum.Jobs[0].DriftEvents)
	}
	for name := range listFiles(t, out) {
		if strings.HasPrefix(name, "churn/") {
			t.Errorf("a job that never settled left %s", name)
		}
	}
}

// A listing that holds a user twice, 30 pages apart, every time it is
// read: a read alone names both pages at once; a confirmed read, whose
// compact id set can only doubt a repeat that far back, learns it from
// the confirming read, and reads no third time per read. Either way the
// job fails with nothing committed.
func TestRunStableDuplicateFailsNamingBothPages(t *testing.T) {
	for _, tt := range []struct {
		confirm bool
		want    string
		served  int // pages a read of 31 pages asks for, in all three reads
	}{
		{false, `user "id-00005" is on listing 0 page 0 and again on listing 0 page 30`, 3 * 31},
		{true, `user "id-00005" is on listing 0 page 0 and again on listing 0 page 30, in both reads`, 3 * 2 * 31},
	} {
		t.Run(fmt.Sprintf("confirm %v", tt.confirm), func(t *testing.T) {
			dir := newDirectory(3050, -1, 0, nil)
			dir.ids[3005] = dir.ids[5] // the listing stays sorted but for it
			srv := httptest.NewServer(dir)
			defer srv.Close()
			out := t.TempDir()
			cfg := parseTestConfig(t, fmt.Sprintf(`
version: 1
output: {destination: {{out}}, formats: [jsonl]}
jobs:
  - {name: ns, provider: nameshield, base_url: %s, page_size: 100, max_in_flight: 1, rate_limit: 10000/1s, drift: {confirm: %t, max_restarts: 2}}
`, srv.URL, tt.confirm), out)
			sum := runPinned(t, context.Background(), cfg, 30)
			if sum.Status != StatusFailed || sum.Jobs[0].DriftEvents != 3 {
				t.Fatalf("status %q, drift_events %d, want failed after 3 reads", sum.Status, sum.Jobs[0].DriftEvents)
			}
			if msg := sum.Jobs[0].Error; !strings.Contains(msg, "duplicate_id: listing 0 page 30: "+tt.want) {
				t.Errorf("error %q does not say %q", msg, tt.want)
			}
			if dir.served != tt.served {
				t.Errorf("the server answered %d pages, want %d", dir.served, tt.served)
			}
			if files := listFiles(t, out); len(files) != 0 {
				t.Errorf("files left: %v", slices.Collect(maps.Keys(files)))
			}
		})
	}
}

// kareListings is an independent fake of Kare's two listings, active and
// deleted users (whereIsDeleted=false, then true), in id order with
// totalCount. before runs ahead of each answer, outside the lock, with the
// listing (0 active, 1 deleted) and the page index (from 0).
type kareListings struct {
	mu     sync.Mutex
	ids    [2][]int64
	served int
	before func(listing, index int)
}

func (k *kareListings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	size, _ := strconv.Atoi(q.Get("pageSize"))
	listing := 0
	if q.Get("whereIsDeleted") == "true" {
		listing = 1
	}
	if k.before != nil {
		k.before(listing, page-1)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.served++
	ids := k.ids[listing]
	var data []string
	for _, id := range ids[min((page-1)*size, len(ids)):min(page*size, len(ids))] {
		data = append(data, fmt.Sprintf(`{"id":%d,"firstName":"A","lastName":"B"}`, id))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"data":[%s],"totalCount":%d}`, strings.Join(data, ","), len(ids))
}

// move takes id out of the active listing and into the deleted one, and
// creates a user, created, in the active listing: its total stays the same.
func (k *kareListings) move(id, created int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ids[0] = slices.DeleteFunc(k.ids[0], func(x int64) bool { return x == id })
	k.ids[0] = append(k.ids[0], created)
	k.ids[1] = append(k.ids[1], id)
	slices.Sort(k.ids[0])
	slices.Sort(k.ids[1])
}

func (k *kareListings) current() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var ids []string
	for _, l := range k.ids {
		for _, id := range l {
			ids = append(ids, strconv.FormatInt(id, 10))
		}
	}
	slices.Sort(ids)
	return ids
}

// The first read of a job with two listings leaves the re-check of their
// page 0 to the confirming read, whose ids show the move it would catch:
// user 90, on the active listing's last page, is deleted (moves to the
// deleted listing) after that listing was read and before the page is
// answered, while user 85 is created on that page, so no count changes.
// The first read holds 85 but not 90; the confirming read holds both, and
// the job reads again.
func TestConfirmingReadCatchesAMoveBetweenListings(t *testing.T) {
	k := &kareListings{ids: [2][]int64{{10, 20, 30, 40, 50, 60, 70, 80, 90}, {100}}}
	deletedRead := make(chan struct{})
	var once, moved sync.Once
	k.before = func(listing, index int) {
		switch {
		case listing == 1 && index == 0:
			once.Do(func() { close(deletedRead) })
		case listing == 0 && index == 2:
			moved.Do(func() {
				select {
				case <-deletedRead:
				case <-time.After(30 * time.Second):
					t.Error("the deleted listing was not read while the active one's last page was in flight")
				}
				k.move(90, 85)
			})
		}
	}
	sum, files := runOneJob(t, k, `{name: kare, provider: kare, base_url: {{url}}, page_size: 3, max_in_flight: 4, rate_limit: 1000/1s,
     auth: {type: bearer, token: t, headers: {x-session-token: s}}}`)
	if got, want := committedIDs(t, files, "kare"), k.current(); !slices.Equal(got, want) {
		t.Errorf("committed %v, the API holds %v", got, want)
	}
	if sum.Jobs[0].DriftEvents != 1 {
		t.Errorf("%d drift events, want 1: the confirming read's", sum.Jobs[0].DriftEvents)
	}
	// Each attempt: 3 + 1 pages, then 3 + 1 again and the 2 re-checks.
	if k.served != 20 {
		t.Errorf("the API answered %d requests, want 20: no re-check after a first read", k.served)
	}
}
