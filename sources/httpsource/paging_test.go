package httpsource

import (
	"context"
	"fmt"
	"hash/maphash"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/saas-export/export/schema"
)

// With Paging.Expect, a read starts its window at once, before page 0 says
// how many pages follow; page 0, or a page that ends the listing, still
// decides what is emitted, whether the listing grew or shrank since.
func TestSequenceStartsTheExpectedPagesAtOnce(t *testing.T) {
	const window = 4
	for _, tc := range []struct {
		name          string
		expect, pages int
		withTotal     bool // else a short page ends the listing
	}{
		{"as expected", 5, 5, true},
		{"fewer than expected", 6, 2, true},
		{"more than expected", 2, 7, true},
		{"one page", 3, 1, true},
		{"no count, as expected", 4, 4, false},
		{"no count, fewer than expected", 6, 2, false},
		{"no count, more than expected", 2, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 2*tc.pages - 1 // 2 a page, the last one short
			all := listing{prefix: "u", n: n, size: 2, withTotal: tc.withTotal}
			var mu sync.Mutex
			started := 0
			atOnce := make(chan struct{}) // closed once the expected window has started
			p := pagerFunc(func(ctx context.Context, index int) (Page, error) {
				mu.Lock()
				if started++; started == min(window, tc.expect) {
					close(atOnce)
				}
				mu.Unlock()
				if index == 0 {
					if err := waitFor(ctx, t, atOnce, fmt.Sprintf("%d pages in flight before page 0 is in", min(window, tc.expect))); err != nil {
						return Page{}, err
					}
				}
				return all.FetchPage(ctx, index)
			})
			var ids []string
			err := Sequence(t.Context(), []Pager{p}, Paging{Window: window, Expect: []int{tc.expect}}, func(p Page) error {
				ids = append(ids, userIDs(p)...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := range n {
				want = append(want, fmt.Sprintf("u%d", i))
			}
			if !slices.Equal(ids, want) {
				t.Errorf("emitted %v, want %v", ids, want)
			}
		})
	}
}

// The rechecks of page 0 at the end of a read of several listings are
// left out with Paging.NoRecheck, for a read that a confirming read
// follows.
func TestSequenceNoRecheck(t *testing.T) {
	for _, tc := range []struct {
		noRecheck bool
		want      int // requests for page 0 of each listing
	}{{false, 2}, {true, 1}} {
		t.Run(fmt.Sprint("NoRecheck ", tc.noRecheck), func(t *testing.T) {
			log := &requestLog{}
			listings := []Pager{fake{number: 0, pages: 3, log: log}, fake{number: 1, pages: 2, log: log}}
			var ids []string
			err := Sequence(t.Context(), listings, Paging{Window: 2, NoRecheck: tc.noRecheck}, func(p Page) error {
				ids = append(ids, userIDs(p)...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, wantIDs(3, 2)) {
				t.Errorf("emitted %v", ids)
			}
			for l := range listings {
				if got := log.count(fmt.Sprintf("%d/0", l)); got != tc.want {
					t.Errorf("listing %d: page 0 requested %d times, want %d", l, got, tc.want)
				}
			}
		})
	}
}

// A Sequence tells each page's listing, for the read that follows.
func TestSequencePagesNameTheirListing(t *testing.T) {
	log := &requestLog{}
	var got []int
	err := Sequence(t.Context(), []Pager{fake{number: 0, pages: 2, log: log}, fake{number: 1, pages: 1, log: log}},
		Paging{Window: 3}, func(p Page) error {
			got = append(got, p.Listing)
			return nil
		})
	if err != nil || !slices.Equal(got, []int{0, 0, 1}) {
		t.Fatalf("err %v, listings of the pages %v, want [0 0 1]", err, got)
	}
}

// clientListing is a listing of pages pages of 2 users behind a real
// client, its page index asked as ?page=, its name (a prefix of its ids)
// as ?listing=; decode, when set, runs on each answer before it is
// decoded.
type clientListing struct {
	client *Client
	url    string
	name   string
	pages  int
	decode func(index int)
}

func (l clientListing) FetchPage(ctx context.Context, index int) (Page, error) {
	var page Page
	url := fmt.Sprintf("%s?listing=%s&page=%d", l.url, l.name, index)
	_, err := l.client.Do(ctx, Request{URL: url, Page: index, Decode: func([]byte) error {
		if l.decode != nil {
			l.decode(index)
		}
		page = pageOf(fmt.Sprintf("%s%d-a", l.name, index), fmt.Sprintf("%s%d-b", l.name, index))
		page.Pages = schema.Some(l.pages)
		page.Last = index == l.pages-1
		return nil
	}})
	return page, err
}

// pageAsked is the page index a request asked for.
func pageAsked(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	return n
}

// Paging.InFlight bounds the requests at the server, retries included,
// while the window holds twice as many pages; and they go out in page
// order, the window's waiting pages included. Every answer is held 30 ms;
// the first attempt at every third page is a 503.
func TestSequenceBoundsRequestsOnTheWire(t *testing.T) {
	const pages = 12
	for _, inFlight := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(inFlight, " in flight"), func(t *testing.T) {
			var mu sync.Mutex
			now, peak := 0, 0
			var asked []int
			tried := map[int]bool{}
			srv, _ := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				index := pageAsked(r)
				mu.Lock()
				now++
				peak = max(peak, now)
				asked = append(asked, index)
				fail := index%3 == 1 && !tried[index]
				tried[index] = true
				mu.Unlock()
				time.Sleep(30 * time.Millisecond)
				mu.Lock()
				now--
				mu.Unlock()
				if fail {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				ok(w)
			})
			l := clientListing{client: NewClient(testConfig()), url: srv.URL, pages: pages}
			c := &collector{t: t}
			err := Sequence(t.Context(), []Pager{l}, Paging{Window: 2 * inFlight, InFlight: inFlight, Expect: []int{pages}}, c.emit)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := c.pages(), wantPages(pages); got != want {
				t.Errorf("emitted %s, want %s", got, want)
			}
			if peak != inFlight {
				t.Errorf("%d requests at the server at once, want %d", peak, inFlight)
			}
			if inFlight == 1 { // one at a time: the order they were sent in
				var first []int // each page's first attempt
				for _, p := range asked {
					if !slices.Contains(first, p) {
						first = append(first, p)
					}
				}
				if !slices.IsSorted(first) {
					t.Errorf("pages asked in the order %v", asked)
				}
			}
		})
	}
}

// A page gives its place in flight back once its body is read: the next
// request is out while the page is still being decoded.
func TestSequenceDecodesOutsideThePlaceInFlight(t *testing.T) {
	second := make(chan struct{})
	var once sync.Once
	srv, _ := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if pageAsked(r) == 1 {
			once.Do(func() { close(second) })
		}
		ok(w)
	})
	l := clientListing{client: NewClient(testConfig()), url: srv.URL, pages: 3, decode: func(index int) {
		if index != 0 {
			return
		}
		select {
		case <-second:
		case <-time.After(10 * time.Second):
			t.Error("page 1 was not asked for while page 0 was decoded")
		}
	}}
	err := Sequence(t.Context(), []Pager{l}, Paging{Window: 2, InFlight: 1, Expect: []int{3}}, (&collector{t: t}).emit)
	if err != nil {
		t.Fatal(err)
	}
}

// A read that recalls a PageMemo decodes only the pages whose bodies
// changed since the read that remembered them; the others come as Same
// pages holding what the first read decoded of them, page 0's ids
// included for the re-checks, and the reads' digests agree.
func TestSequenceRecallsUnchangedPages(t *testing.T) {
	const pages = 5
	var mu sync.Mutex
	version := map[string]int{} // by listing and page
	srv, _ := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, `{"version": %d}`, version[r.URL.RawQuery])
	})
	var decodes atomic.Int64
	client := NewClient(testConfig())
	decoding := func(int) { decodes.Add(1) }
	a := clientListing{client: client, url: srv.URL, name: "a", pages: pages, decode: decoding}
	b := clientListing{client: client, url: srv.URL, name: "b", pages: pages, decode: decoding}
	read := func(paging Paging) (got []Page, d IDDigest) {
		t.Helper()
		d = NewIDDigest(seedOf(paging))
		err := Sequence(t.Context(), []Pager{a, b}, paging, func(p Page) error {
			got = append(got, p)
			if p.Same != nil {
				d.Merge(p.Same.Digest)
			} else {
				d.Add(p.Users)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, d
	}
	memo := NewPageMemo()
	first, want := read(Paging{Window: 2, Remember: memo, NoRecheck: true})
	if n := decodes.Swap(0); n != 2*pages {
		t.Fatalf("the first read decoded %d pages, want %d", n, 2*pages)
	}
	mu.Lock()
	version["listing=a&page=3"]++ // a change that is not an id: the page decodes the same
	version["listing=b&page=3"]++
	mu.Unlock()
	second, got := read(Paging{Window: 2, Recall: memo})
	// Both listings' page 3, and nothing else: the re-checks of page 0
	// came back unchanged too.
	if n := decodes.Swap(0); n != 2 {
		t.Errorf("the confirming read decoded %d pages, want 2", n)
	}
	if got != want {
		t.Errorf("the reads' digests differ: %s", want.Differs(got))
	}
	for i, p := range second {
		index := i % pages
		if same := p.Same != nil; same == (index == 3) || p.Len() != first[i].Len() || p.Pages != first[i].Pages || p.Last != first[i].Last {
			t.Errorf("page %d of listing %d: same %v, %d users, %v pages, last %v; the first read's: %d users, %v, %v",
				index, i/pages, same, p.Len(), p.Pages, p.Last, first[i].Len(), first[i].Pages, first[i].Last)
		}
	}
}

// seedOf is the seed of the memo a Paging has, for a digest alike.
func seedOf(p Paging) maphash.Seed {
	if p.Recall != nil {
		return p.Recall.seed
	}
	return p.Remember.seed
}
