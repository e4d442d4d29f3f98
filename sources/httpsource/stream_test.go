package httpsource

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/saas-export/export/schema"
)

// pagerFunc adapts a function to Pager.
type pagerFunc func(ctx context.Context, index int) (Page, error)

func (f pagerFunc) FetchPage(ctx context.Context, index int) (Page, error) { return f(ctx, index) }

// pageOf is a page whose users have the given ids.
func pageOf(ids ...string) Page {
	var p Page
	for _, id := range ids {
		p.Users = append(p.Users, schema.User{ID: id})
	}
	return p
}

// numbered is page index of a listing with two distinct users a page.
func numbered(index, pages int) Page {
	p := pageOf(fmt.Sprintf("%d-a", index), fmt.Sprintf("%d-b", index))
	if pages > 0 {
		p.Pages = schema.Some(pages)
	}
	return p
}

// sleep waits d unless ctx ends first, as a real fetch would.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// collector records emitted pages and fails the test if emit is ever
// called concurrently.
type collector struct {
	busy    atomic.Bool
	mu      sync.Mutex
	firstID []string
	count   atomic.Int64
	t       *testing.T
}

func (c *collector) emit(p Page) error {
	if !c.busy.CompareAndSwap(false, true) {
		c.t.Error("emit called concurrently")
	}
	defer c.busy.Store(false)
	c.mu.Lock()
	defer c.mu.Unlock()
	id := "<empty>"
	if len(p.Users) > 0 {
		id = p.Users[0].ID
	}
	c.firstID = append(c.firstID, id)
	c.count.Add(1)
	return nil
}

func (c *collector) pages() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.firstID, " ")
}

func wantPages(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%d-a", i)
	}
	return strings.Join(ids, " ")
}

func TestStreamKeepsOrderWhenLaterPagesFinishFirst(t *testing.T) {
	const pages = 8
	p := pagerFunc(func(ctx context.Context, index int) (Page, error) {
		// Later pages answer sooner.
		if err := sleep(ctx, time.Duration(pages-index)*10*time.Millisecond); err != nil {
			return Page{}, err
		}
		return numbered(index, pages), nil
	})
	c := &collector{t: t}
	if err := Stream(t.Context(), p, Paging{Window: 4}, c.emit); err != nil {
		t.Fatal(err)
	}
	if got, want := c.pages(), wantPages(pages); got != want {
		t.Errorf("emitted %s, want %s", got, want)
	}
}

func TestStreamBoundsPagesInFlight(t *testing.T) {
	const pages, window = 20, 3
	var running, peak atomic.Int64
	c := &collector{t: t}
	p := pagerFunc(func(ctx context.Context, index int) (Page, error) {
		// Page index may start only once page index-window was taken for
		// emission, so once the pages before it were emitted.
		if emitted := c.count.Load(); index >= window && emitted < int64(index-window) {
			t.Errorf("page %d started with only %d pages emitted", index, emitted)
		}
		n := running.Add(1)
		defer running.Add(-1)
		for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return Page{}, err
		}
		return numbered(index, pages), nil
	})
	if err := Stream(t.Context(), p, Paging{Window: window}, c.emit); err != nil {
		t.Fatal(err)
	}
	if got := peak.Load(); got > window || got < 2 {
		t.Errorf("peak of %d fetches in flight, want 2..%d", got, window)
	}
	if got, want := c.pages(), wantPages(pages); got != want {
		t.Errorf("emitted %s, want %s", got, want)
	}
}

func TestStreamSequentialStops(t *testing.T) {
	cases := map[string]struct {
		last func(index int) Page
		want string
	}{
		"at a page marked last": {
			last: func(index int) Page { p := numbered(index, 0); p.Last = true; return p },
			want: wantPages(4),
		},
		"at an empty page": {
			last: func(int) Page { return Page{} },
			want: wantPages(3) + " <empty>",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int64
			p := pagerFunc(func(_ context.Context, index int) (Page, error) {
				calls.Add(1)
				if index == 3 {
					return tc.last(index), nil
				}
				return numbered(index, 0), nil
			})
			c := &collector{t: t}
			if err := Stream(t.Context(), p, Paging{Window: 4}, c.emit); err != nil {
				t.Fatal(err)
			}
			if got := c.pages(); got != tc.want {
				t.Errorf("emitted %s, want %s", got, tc.want)
			}
			if n := calls.Load(); n != 4 {
				t.Errorf("%d pages fetched, want 4", n)
			}
		})
	}
}

func TestStreamDetectsRepeatedPage(t *testing.T) {
	for name, pages := range map[string]int{"sequential": 0, "known count": 6} {
		t.Run(name, func(t *testing.T) {
			p := pagerFunc(func(_ context.Context, index int) (Page, error) {
				if index == 3 {
					index = 2 // the API serves page 2 again
				}
				return numbered(index, pages), nil
			})
			// Its first user is already seen: a duplicate, which also ends
			// an API that would serve the same page for ever.
			err := Stream(t.Context(), p, Paging{Window: 2}, (&collector{t: t}).emit)
			if err == nil || !strings.Contains(err.Error(), `duplicate_id: listing 0 page 3: user "2-a" is on listing 0 page 2 and again on listing 0 page 3`) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestStreamPageLimit(t *testing.T) {
	var calls atomic.Int64
	endless := pagerFunc(func(_ context.Context, index int) (Page, error) {
		calls.Add(1)
		return numbered(index, 0), nil
	})
	err := sequence(t.Context(), []Pager{endless}, Paging{Window: 1}, 5, (&collector{t: t}).emit)
	if err == nil || !strings.Contains(err.Error(), "no last page after 5 pages") {
		t.Fatalf("err = %v", err)
	}
	if n := calls.Load(); n != 5 {
		t.Errorf("%d pages fetched, want 5", n)
	}

	absurd := pagerFunc(func(context.Context, int) (Page, error) { return numbered(0, 6), nil })
	err = sequence(t.Context(), []Pager{absurd}, Paging{Window: 1}, 5, (&collector{t: t}).emit)
	if err == nil || !strings.Contains(err.Error(), "reports 6 pages, more than the limit of 5") {
		t.Fatalf("err = %v", err)
	}
}

func TestStreamStopsOnFetchError(t *testing.T) {
	const pages, window, failing = 50, 4, 5
	boom := errors.New("boom")
	var running, maxStarted atomic.Int64
	p := pagerFunc(func(ctx context.Context, index int) (Page, error) {
		running.Add(1)
		defer running.Add(-1)
		for old := maxStarted.Load(); int64(index) > old && !maxStarted.CompareAndSwap(old, int64(index)); old = maxStarted.Load() {
		}
		if index == failing {
			return Page{}, boom
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return Page{}, err
		}
		return numbered(index, pages), nil
	})
	c := &collector{t: t}
	err := Stream(t.Context(), p, Paging{Window: window}, c.emit)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if n := running.Load(); n != 0 {
		t.Errorf("%d fetches still running after Stream returned", n)
	}
	if got := c.pages(); !strings.HasPrefix(wantPages(failing), got) {
		t.Errorf("emitted %s, want a prefix of pages before %d", got, failing)
	}
	if got := maxStarted.Load(); got >= failing+window {
		t.Errorf("page %d was started", got)
	}
}

func TestStreamStopsOnEmitError(t *testing.T) {
	const pages, window = 50, 3
	full := errors.New("disk full")
	var running, calls atomic.Int64
	p := pagerFunc(func(ctx context.Context, index int) (Page, error) {
		running.Add(1)
		defer running.Add(-1)
		calls.Add(1)
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return Page{}, err
		}
		return numbered(index, pages), nil
	})
	emitted := 0
	err := Stream(t.Context(), p, Paging{Window: window}, func(Page) error {
		if emitted++; emitted == 3 {
			return full
		}
		return nil
	})
	if !errors.Is(err, full) {
		t.Fatalf("err = %v, want disk full", err)
	}
	if n := running.Load(); n != 0 {
		t.Errorf("%d fetches still running after Stream returned", n)
	}
	// Pages 0..2 were taken for emission; at most the window after page 2
	// was started.
	if n := calls.Load(); n > 3+window {
		t.Errorf("%d pages fetched after emit failed on page 2", n)
	}
}

func TestStreamStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p := pagerFunc(func(ctx context.Context, index int) (Page, error) {
		if index == 3 {
			cancel()
		}
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return Page{}, err
		}
		return numbered(index, 100), nil
	})
	if err := Stream(ctx, p, Paging{Window: 2}, (&collector{t: t}).emit); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// A page marked Last ends a windowed listing there: no later page is
// emitted, the fetches still in flight are cancelled without failing the
// listing, and a first page that is Last sends no other request.
func TestStreamStopsAtALastPage(t *testing.T) {
	for _, c := range []struct{ last, inFlight, maxRequests int }{
		{last: 0, inFlight: 4, maxRequests: 1},
		{last: 3, inFlight: 1, maxRequests: 4},
		{last: 3, inFlight: 4, maxRequests: 4 + 3},
	} {
		t.Run(fmt.Sprintf("last=%d/in_flight=%d", c.last, c.inFlight), func(t *testing.T) {
			var requests atomic.Int64
			p := pagerFunc(func(ctx context.Context, index int) (Page, error) {
				requests.Add(1)
				if err := sleep(ctx, time.Duration(index)*time.Millisecond); err != nil {
					return Page{}, err
				}
				page := numbered(index, 10)
				page.Last = index == c.last
				return page, nil
			})
			var got []string
			err := Stream(context.Background(), p, Paging{Window: c.inFlight}, func(pg Page) error {
				got = append(got, pg.Users[0].ID)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != c.last+1 || got[len(got)-1] != fmt.Sprintf("%d-a", c.last) {
				t.Fatalf("emitted %v, want pages 0..%d", got, c.last)
			}
			if n := requests.Load(); n > int64(c.maxRequests) {
				t.Errorf("%d requests, want at most %d", n, c.maxRequests)
			}
		})
	}
}
