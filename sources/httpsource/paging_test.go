package httpsource

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
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
			err := Sequence(t.Context(), []Pager{p}, Paging{MaxInFlight: window, Expect: []int{tc.expect}}, func(p Page) error {
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
			err := Sequence(t.Context(), listings, Paging{MaxInFlight: 2, NoRecheck: tc.noRecheck}, func(p Page) error {
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
		Paging{MaxInFlight: 3}, func(p Page) error {
			got = append(got, p.Listing)
			return nil
		})
	if err != nil || !slices.Equal(got, []int{0, 0, 1}) {
		t.Fatalf("err %v, listings of the pages %v, want [0 0 1]", err, got)
	}
}
