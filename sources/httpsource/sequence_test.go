package httpsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/saas-export/export/schema"
)

// listing serves n users in pages of size, reporting its total or not.
type listing struct {
	prefix    string
	n, size   int
	withTotal bool
}

func (l listing) FetchPage(_ context.Context, i int) (Page, error) {
	var users []schema.User
	for j := i * l.size; j < min(l.n, (i+1)*l.size); j++ {
		users = append(users, schema.User{ID: fmt.Sprintf("%s%d", l.prefix, j)})
	}
	var total *int64
	if l.withTotal {
		t := int64(l.n)
		total = &t
	}
	return NumberedPage(users, total, i, l.size), nil
}

func TestSequenceRunsListingsInTurnWithRunningTotals(t *testing.T) {
	for _, tc := range []struct {
		name       string
		listings   []Pager
		wantTotals []string
	}{
		{"both report", []Pager{listing{"a", 5, 2, true}, listing{"i", 3, 2, true}},
			[]string{"5", "5", "5", "8", "8"}},
		{"second reports none", []Pager{listing{"a", 3, 2, true}, listing{"i", 1, 2, false}},
			[]string{"3", "3", "-"}},
		{"first reports none", []Pager{listing{"a", 1, 2, false}, listing{"i", 3, 2, true}},
			[]string{"-", "-", "-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ids, totals []string
			err := Sequence(t.Context(), tc.listings, Paging{Window: 2}, func(p Page) error {
				for _, u := range p.Users {
					ids = append(ids, u.ID)
				}
				tot := "-"
				if p.Total.Valid {
					tot = fmt.Sprint(p.Total.V)
				}
				totals = append(totals, tot)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(totals) != fmt.Sprint(tc.wantTotals) {
				t.Errorf("totals %v, want %v", totals, tc.wantTotals)
			}
			if ids[0][0] != 'a' || ids[len(ids)-1][0] != 'i' {
				t.Errorf("listings out of order: %v", ids)
			}
		})
	}
}

// requestLog records, across listings, which page each request asked for,
// in the order they were sent, and how many are in flight at once.
type requestLog struct {
	mu       sync.Mutex
	sent     []string // "listing/page", in the order sent
	inFlight int
	peak     int
}

func (r *requestLog) begin(listing, index int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, fmt.Sprintf("%d/%d", listing, index))
	r.inFlight++
	r.peak = max(r.peak, r.inFlight)
}

func (r *requestLog) end() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight--
}

// count is how many requests named one of pages were sent.
func (r *requestLog) count(pages ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.sent {
		if slices.Contains(pages, s) {
			n++
		}
	}
	return n
}

// fake is listing number of a Sequence: pages of ids with their page
// count (and total, if withTotal), served after before(page) returns.
type fake struct {
	number, pages int
	withTotal     bool
	log           *requestLog
	before        func(ctx context.Context, index int) error
}

func (f fake) FetchPage(ctx context.Context, index int) (Page, error) {
	f.log.begin(f.number, index)
	defer f.log.end()
	if f.before != nil {
		if err := f.before(ctx, index); err != nil {
			return Page{}, err
		}
	}
	p := pageOf(fmt.Sprintf("%d-%d-a", f.number, index), fmt.Sprintf("%d-%d-b", f.number, index))
	p.Pages = schema.Some(f.pages)
	if f.withTotal {
		p.Total = schema.Some(int64(2 * f.pages))
	}
	p.Last = index == f.pages-1
	return p, nil
}

func wantIDs(pages ...int) []string {
	var ids []string
	for listing, n := range pages {
		for index := range n {
			ids = append(ids, fmt.Sprintf("%d-%d-a", listing, index), fmt.Sprintf("%d-%d-b", listing, index))
		}
	}
	return ids
}

// waitFor blocks until ch is closed, or fails the test: a Sequence that
// never sends the request awaited would otherwise hang.
func waitFor(ctx context.Context, t *testing.T, ch <-chan struct{}, what string) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second):
		t.Errorf("%s never happened", what)
		return errors.New(what + " never happened")
	}
}

// Later pages and later listings answer first; the pages still come out
// in order, listing by listing, whatever the window, and the listings'
// totals still add up.
func TestSequenceKeepsOrderAcrossListings(t *testing.T) {
	sizes := []int{7, 1, 12}
	for _, window := range []int{1, 2, 3, 8, 40} {
		t.Run(fmt.Sprint("window ", window), func(t *testing.T) {
			log := &requestLog{}
			listings := make([]Pager, len(sizes))
			for i, n := range sizes {
				listings[i] = fake{number: i, pages: n, withTotal: true, log: log, before: func(ctx context.Context, index int) error {
					return sleep(ctx, time.Duration((len(sizes)-i)*(n-index)%7)*time.Millisecond)
				}}
			}
			var ids []string
			var totals []int64
			c := &collector{t: t}
			err := Sequence(t.Context(), listings, Paging{Window: window}, func(p Page) error {
				for _, u := range p.Users {
					ids = append(ids, u.ID)
				}
				totals = append(totals, p.Total.V)
				return c.emit(p)
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := wantIDs(sizes...); !slices.Equal(ids, want) {
				t.Errorf("emitted\n%v\nwant\n%v", ids, want)
			}
			var want []int64
			var done int64
			for _, n := range sizes {
				for range n {
					want = append(want, done+int64(2*n))
				}
				done += int64(2 * n)
			}
			if !slices.Equal(totals, want) {
				t.Errorf("totals %v, want %v", totals, want)
			}
		})
	}
}

// The listings overlap: listing 1's page 0 is requested while listing 0's
// pages are still in flight, and listing 0's page 1 cannot answer until it
// is. With a long listing 0, page 0 of listing 1 waits until listing 0 has
// at most a window of pages left to start, and none of listing 1's other
// pages starts before all of listing 0's have.
func TestSequenceOverlapsListings(t *testing.T) {
	for _, tc := range []struct{ first, second, window, blocked int }{
		{first: 3, second: 5, window: 4, blocked: 1},
		{first: 20, second: 5, window: 4, blocked: 19},
		{first: 1, second: 9, window: 2, blocked: -1}, // listing 0 is its page 0
	} {
		t.Run(fmt.Sprintf("%d+%d pages, window %d", tc.first, tc.second, tc.window), func(t *testing.T) {
			log := &requestLog{}
			requested := make(chan struct{})
			var once sync.Once
			startedBefore := -1 // pages of listing 0 that reached FetchPage before listing 1's page 0
			first := fake{number: 0, pages: tc.first, log: log, before: func(ctx context.Context, index int) error {
				if index != tc.blocked {
					return nil
				}
				return waitFor(ctx, t, requested, "the request of listing 1's page 0")
			}}
			second := fake{number: 1, pages: tc.second, log: log, before: func(ctx context.Context, index int) error {
				if index == 0 {
					once.Do(func() {
						startedBefore = log.count(pageNames(0, tc.first)...)
						close(requested)
					})
				}
				return nil
			}}
			var ids []string
			err := Sequence(t.Context(), []Pager{first, second}, Paging{Window: tc.window}, func(p Page) error {
				for _, u := range p.Users {
					ids = append(ids, u.ID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := wantIDs(tc.first, tc.second); !slices.Equal(ids, want) {
				t.Errorf("emitted %v, want %v", ids, want)
			}
			// Started with at most a window of listing 0's pages to go, of
			// which at most a window more may not have reached FetchPage.
			if startedBefore < tc.first-2*tc.window {
				t.Errorf("listing 1's page 0 was requested after %d of listing 0's %d pages: it holds a place until they are emitted",
					startedBefore, tc.first)
			}
			// Every page once, then page 0 of each listing again.
			log.mu.Lock()
			sent := slices.Clone(log.sent)
			log.mu.Unlock()
			if rechecks := sent[len(sent)-2:]; len(sent) != tc.first+tc.second+2 || !slices.Contains(rechecks, "0/0") || !slices.Contains(rechecks, "1/0") {
				t.Errorf("requests %v", sent)
			}
		})
	}
}

// Which page the scheduler starts next, in the states that decide it: the
// current listing's pages first; page 0 of the next listing once the
// current one has at most a window of pages left to start (or no page
// count), or one less than the places in flight when there are some, and
// then only if a place stays free or comes back; no other page of the
// next listing while the current one has pages to start.
func TestSchedulerNextPage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		free     int
		cur      listingRun
		next     listingRun
		want     string // "cur", "next" or "none"
		inFlight int    // places in flight; 0: none
	}{
		{"page 0 not in yet", 3, listingRun{known: 1, started: 1}, listingRun{known: 1}, "none", 0},
		{"a long listing to go", 3, listingRun{known: 20, final: true, started: 10, first: true}, listingRun{known: 1}, "cur", 0},
		{"a window to go", 3, listingRun{known: 20, final: true, started: 16, first: true}, listingRun{known: 1}, "next", 0},
		{"the last place, none held", 1, listingRun{known: 20, final: true, started: 16, first: true}, listingRun{known: 1}, "cur", 0},
		{"the last place, one held", 1, listingRun{known: 20, final: true, started: 16, first: true, pending: map[int]*fetch{15: {}}}, listingRun{known: 1}, "next", 0},
		{"unknown length", 2, listingRun{known: 3, started: 3, first: true, pending: map[int]*fetch{2: {}}}, listingRun{known: 1}, "next", 0},
		{"next page 0 started", 3, listingRun{known: 20, final: true, started: 18, first: true}, listingRun{known: 5, final: true, started: 1, first: true}, "cur", 0},
		{"current all started", 3, listingRun{known: 20, final: true, started: 20, first: true}, listingRun{known: 5, final: true, started: 1, first: true}, "next", 0},
		{"waiting for the next page of unknown length", 1, listingRun{known: 3, started: 3, first: true}, listingRun{known: 1, started: 1}, "none", 0},
		{"4 in flight, a round to go", 3, listingRun{known: 20, final: true, started: 17, first: true}, listingRun{known: 1}, "next", 4},
		{"4 in flight, more than a round to go", 3, listingRun{known: 20, final: true, started: 16, first: true}, listingRun{known: 1}, "cur", 4},
		{"1 in flight, one to go", 3, listingRun{known: 20, final: true, started: 19, first: true}, listingRun{known: 1}, "cur", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur, next := tc.cur, tc.next
			s := &scheduler{window: 4, lead: 4, free: tc.free, listings: []*listingRun{&cur, &next}}
			if tc.inFlight > 0 {
				s.lead = tc.inFlight - 1
			}
			l, ok := s.nextPage()
			got := "none"
			switch {
			case ok && l == &cur:
				got = "cur"
			case ok && l == &next:
				got = "next"
			}
			if got != tc.want {
				t.Errorf("next page from %s, want %s", got, tc.want)
			}
		})
	}
}

func pageNames(listing, pages int) []string {
	names := make([]string, pages)
	for i := range names {
		names[i] = fmt.Sprintf("%d/%d", listing, i)
	}
	return names
}

// The window is shared: across both listings and the rechecks, never more
// than its size of requests in flight, and never more pages fetched and
// not yet emitted than the window and the page being emitted.
func TestSequenceBoundsRequestsAcrossListings(t *testing.T) {
	for _, window := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprint("window ", window), func(t *testing.T) {
			log := &requestLog{}
			var fetched, emitted atomic.Int64
			held := func(ctx context.Context, index int) error {
				// Counted before the request waits: a fetch that started
				// holds a place, even if it has not answered yet.
				if n := fetched.Add(1) - emitted.Load(); n > int64(window)+1 {
					t.Errorf("%d pages fetched and not emitted, window %d", n, window)
				}
				return sleep(ctx, time.Duration(index%3)*time.Millisecond)
			}
			listings := []Pager{
				fake{number: 0, pages: 11, withTotal: true, log: log, before: held},
				fake{number: 1, pages: 6, withTotal: true, log: log, before: held},
			}
			err := Sequence(t.Context(), listings, Paging{Window: window}, func(Page) error {
				emitted.Add(1)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if log.peak > window {
				t.Errorf("%d requests in flight at once, window %d", log.peak, window)
			}
			if n := len(log.sent); n != 11+6+2 {
				t.Errorf("%d requests, want every page and two rechecks", n)
			}
		})
	}
}

// A listing that fails cancels the requests of the other, which end;
// the failure is what Sequence returns, with nothing emitted after it.
func TestSequenceErrorCancelsTheOtherListing(t *testing.T) {
	boom := errors.New("boom")
	hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	for _, tc := range []struct {
		name          string
		first, second func(ctx context.Context, index int) error
		emit          func(p Page) error
		want          error
	}{
		{"the second listing fails, the first waits",
			func(ctx context.Context, index int) error {
				if index > 0 {
					return hang(ctx)
				}
				return nil
			},
			func(context.Context, int) error { return boom }, nil, boom},
		{"the first listing fails, the second waits",
			func(_ context.Context, index int) error {
				if index == 2 {
					return boom
				}
				return nil
			},
			func(ctx context.Context, int int) error { return hang(ctx) }, nil, boom},
		{"emit fails, the second listing waits",
			func(context.Context, int) error { return nil },
			func(ctx context.Context, int int) error { return hang(ctx) },
			func(p Page) error {
				if p.Users[0].ID == "0-1-a" {
					return boom
				}
				return nil
			}, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &requestLog{}
			listings := []Pager{
				fake{number: 0, pages: 3, withTotal: true, log: log, before: tc.first},
				fake{number: 1, pages: 3, withTotal: true, log: log, before: tc.second},
			}
			var ids []string
			err := Sequence(t.Context(), listings, Paging{Window: 4}, func(p Page) error {
				ids = append(ids, p.Users[0].ID)
				if tc.emit != nil {
					return tc.emit(p)
				}
				return nil
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if log.inFlight != 0 {
				t.Errorf("%d requests still in flight after Sequence returned", log.inFlight)
			}
			if !slices.Equal(ids, []string{"0-0-a", "0-1-a"}[:len(ids)]) {
				t.Errorf("emitted %v", ids)
			}
		})
	}
}

// A page that is Last ends its listing there, and the next listing follows
// it: the pages requested past it are not emitted, and their places go to
// the next listing's pages.
func TestSequenceLastPageEndsItsListingOnly(t *testing.T) {
	log := &requestLog{}
	short := pagerFunc(func(ctx context.Context, index int) (Page, error) {
		log.begin(0, index)
		defer log.end()
		p := numbered(index, 10) // reports 10 pages, has 3
		p.Last = index == 2
		return p, nil
	})
	var ids []string
	err := Sequence(t.Context(), []Pager{short, fake{number: 1, pages: 4, log: log}}, Paging{Window: 3}, func(p Page) error {
		ids = append(ids, p.Users[0].ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0-a", "1-a", "2-a", "1-0-a", "1-1-a", "1-2-a", "1-3-a"}; !slices.Equal(ids, want) {
		t.Errorf("emitted %v, want %v", ids, want)
	}
}

// A listing without a page count is followed a page at a time, and the
// listing after it still overlaps it.
func TestSequenceListingOfUnknownLength(t *testing.T) {
	log := &requestLog{}
	requested := make(chan struct{})
	var once sync.Once
	unknown := pagerFunc(func(ctx context.Context, index int) (Page, error) {
		log.begin(0, index)
		defer log.end()
		if index == 3 {
			if err := waitFor(ctx, t, requested, "the request of listing 1's page 0"); err != nil {
				return Page{}, err
			}
			return Page{}, nil // the end
		}
		return numbered(index, 0), nil
	})
	second := fake{number: 1, pages: 2, log: log, before: func(_ context.Context, index int) error {
		if index == 0 {
			once.Do(func() { close(requested) })
		}
		return nil
	}}
	var ids []string
	err := Sequence(t.Context(), []Pager{unknown, second}, Paging{Window: 2}, func(p Page) error {
		id := "<empty>"
		if len(p.Users) > 0 {
			id = p.Users[0].ID
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0-a", "1-a", "2-a", "<empty>", "1-0-a", "1-1-a"}; !slices.Equal(ids, want) {
		t.Errorf("emitted %v, want %v", ids, want)
	}
}
