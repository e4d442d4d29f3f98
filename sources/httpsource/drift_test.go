package httpsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/saas-export/export/schema"
)

// changingListing serves ids in pages of size with its total, and lets a
// test change the ids once page `after` has been served, as a directory
// does when users join and leave during an export.
type changingListing struct {
	mu     sync.Mutex
	ids    []string
	size   int
	after  int // -1: never
	change func(ids []string) []string
	served int
	orig   []string // ids as made, for reset
}

// reset serves the listing again as it was made, its change to come.
func (l *changingListing) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids, l.served = slices.Clone(l.orig), 0
}

func newListing(n, size, after int, change func([]string) []string) *changingListing {
	return newPrefixedListing("u", n, size, after, change)
}

func newPrefixedListing(prefix string, n, size, after int, change func([]string) []string) *changingListing {
	l := &changingListing{size: size, after: after, change: change}
	for i := range n {
		l.ids = append(l.ids, fmt.Sprintf("%s%04d", prefix, i))
	}
	l.orig = slices.Clone(l.ids)
	return l
}

func (l *changingListing) FetchPage(_ context.Context, index int) (Page, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var users []schema.User
	for _, id := range l.ids[min(index*l.size, len(l.ids)):min((index+1)*l.size, len(l.ids))] {
		users = append(users, schema.User{ID: id})
	}
	total := int64(len(l.ids))
	if l.served == l.after && l.change != nil {
		l.ids = l.change(l.ids)
	}
	l.served++
	return NumberedPage(users, &total, index, l.size), nil
}

func deleteFirst(n int) func([]string) []string {
	return func(ids []string) []string { return slices.Clone(ids[n:]) }
}

func insertFront(n int) func([]string) []string {
	return func(ids []string) []string {
		var front []string
		for i := range n {
			front = append(front, fmt.Sprintf("new%d", i))
		}
		return append(front, ids...)
	}
}

func TestStreamReportsDrift(t *testing.T) {
	tests := []struct {
		name     string
		listing  *changingListing
		inFlight int
		kind     string
		detail   string
	}{
		// The Nameshield case: 5 users deleted once page 0 was served.
		{"deleted after page 0", newListing(600, 100, 0, deleteFirst(5)), 1,
			DriftTotal, "page 0 reported a total of 600, page 1 reports 595"},
		{"inserted before the cursor", newListing(600, 100, 2, insertFront(5)), 1,
			DriftTotal, "page 0 reported a total of 600, page 3 reports 605"},
		{"a page's worth inserted: page 1 repeats page 0", newListing(600, 100, 0, insertFront(100)), 1,
			DriftTotal, "page 0 reported a total of 600, page 1 reports 700"},
		{"one in, one out: a user shifts onto the next page", newListing(600, 100, 0,
			func(ids []string) []string { return append([]string{"new"}, ids[:len(ids)-1]...) }), 1,
			DriftDuplicate, `user "u0099" is on listing 0 page 0 and again on listing 0 page 1`},
		{"concurrent pages", newListing(1000, 100, 0, deleteFirst(1)), 4,
			DriftTotal, "page 0 reported a total of 1000, page 1 reports 999"},
	}
	// Each case twice: as a read alone, and as a first read that a
	// confirming read follows, whose compact set finds the repeat among
	// the recent pages' whole hashes.
	for _, tt := range tests {
		for _, doubt := range []*Doubts{nil, NewDoubts()} {
			t.Run(fmt.Sprintf("%s, doubts %v", tt.name, doubt != nil), func(t *testing.T) {
				tt.listing.reset()
				emitted := 0
				err := Stream(t.Context(), tt.listing, Paging{Window: tt.inFlight, Doubt: doubt}, func(p Page) error { emitted++; return nil })
				var drift *DriftError
				if !errors.As(err, &drift) {
					t.Fatalf("err = %v, want a DriftError", err)
				}
				if drift.Event.Kind != tt.kind || drift.Event.Detail != tt.detail {
					t.Errorf("event %+v, want %s: %s", drift.Event, tt.kind, tt.detail)
				}
				if !strings.Contains(err.Error(), tt.detail) {
					t.Errorf("error %q does not say %q", err, tt.detail)
				}
				if emitted > drift.Event.Page {
					t.Errorf("%d pages emitted, the drifting page %d among them", emitted, drift.Event.Page)
				}
				if doubt.Any() {
					t.Errorf("doubts left: %v", doubt.ids)
				}
			})
		}
	}
}

func TestStreamShortPageBeforeTheLast(t *testing.T) {
	// A server that loses rows without saying so in its total.
	p := pagerFunc(func(_ context.Context, i int) (Page, error) {
		total := int64(30)
		users := pageOf(fmt.Sprintf("%d-a", i), fmt.Sprintf("%d-b", i), fmt.Sprintf("%d-c", i))
		if i == 1 {
			users.Users = users.Users[:2]
		}
		return NumberedPage(users.Users, &total, i, 3), nil
	})
	err := Stream(t.Context(), p, Paging{Window: 1}, func(Page) error { return nil })
	var drift *DriftError
	if !errors.As(err, &drift) || drift.Event.Kind != DriftShortPage || drift.Event.Detail != "page 1 of 10 holds 2 users, page 0 held 3" {
		t.Fatalf("err = %v, want a short_page drift on page 1", err)
	}
}

func TestStreamPageCountChanged(t *testing.T) {
	// McTime reports a page count and no total.
	p := pagerFunc(func(_ context.Context, i int) (Page, error) {
		page := numbered(i, 4)
		if i == 2 {
			page.Pages = schema.Some(5)
		}
		return page, nil
	})
	err := Stream(t.Context(), p, Paging{Window: 1}, func(Page) error { return nil })
	var drift *DriftError
	if !errors.As(err, &drift) || drift.Event.Kind != DriftPageCount || drift.Event.Detail != "page 0 reported 4 pages, page 2 reports 5" {
		t.Fatalf("err = %v, want a page_count_changed drift on page 2", err)
	}
}

func TestStreamStableListingHasNoDrift(t *testing.T) {
	l := newListing(1234, 100, -1, nil)
	var ids []string
	err := Stream(t.Context(), l, Paging{Window: 3}, func(p Page) error {
		for _, u := range p.Users {
			ids = append(ids, u.ID)
		}
		return nil
	})
	if err != nil || !slices.Equal(ids, l.ids) {
		t.Fatalf("err = %v, %d ids, want all %d in order", err, len(ids), len(l.ids))
	}
}

func TestSequenceRereadsEarlierListings(t *testing.T) {
	// A user of the first listing is deleted (soft, as Kare does) while the
	// second is paged: it is still in what was read of the first, and its
	// move shows only in the first listing's page 0, read again at the end.
	active := newListing(150, 100, -1, nil)
	deleted := newPrefixedListing("d", 50, 100, 0, nil)
	deleted.change = func(ids []string) []string {
		active.mu.Lock()
		defer active.mu.Unlock()
		active.ids = active.ids[1:]
		return ids
	}
	err := Sequence(t.Context(), []Pager{active, deleted}, Paging{Window: 1}, func(Page) error { return nil })
	var drift *DriftError
	if !errors.As(err, &drift) || drift.Event.Kind != DriftFirstPage || drift.Event.Listing != 0 ||
		drift.Event.Detail != "page 0 reported a total of 150, and 149 once every listing was read" {
		t.Fatalf("err = %v, want first_page_changed on listing 0", err)
	}
}

func TestSequenceDuplicateAcrossListings(t *testing.T) {
	a := newListing(3, 10, -1, nil)
	b := newListing(2, 10, -1, nil) // u0000 and u0001 again
	err := Sequence(t.Context(), []Pager{a, b}, Paging{Window: 1}, func(Page) error { return nil })
	want := `user "u0000" is on listing 0 page 0 and again on listing 1 page 0`
	var drift *DriftError
	if !errors.As(err, &drift) || drift.Event.Kind != DriftDuplicate || drift.Event.Listing != 1 || drift.Event.Detail != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

// BenchmarkDriftCheckMillionIDs measures what drift checking costs a
// job of a million users: time per id, and the id set's memory (set-MB,
// off the heap where it can be, so not in B/op).
func BenchmarkDriftCheckMillionIDs(b *testing.B) {
	const n, size = 1_000_000, 500
	pages := make([]Page, n/size)
	total := int64(n)
	for i := range pages {
		users := make([]schema.User, size)
		for j := range users {
			users[j].ID = fmt.Sprintf("5ec2c050-7aa8-48b4-98d7-%012d", i*size+j)
		}
		pages[i] = NumberedPage(users, &total, i, size)
	}
	for _, bc := range []struct {
		name   string
		paging Paging
	}{
		{"alone", Paging{}},
		{"confirmed", Paging{Doubt: NewDoubts()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				check := newDriftCheck(bc.paging)
				check.startListing(0)
				for _, p := range pages {
					if err := check.observe(p); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(check.setBytes())/1e6, "set-MB")
				check.release()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/id")
		})
	}
}

// setBytes is what the pass's id set holds, in bytes.
func (d *driftCheck) setBytes() int {
	bytes := 0
	if d.exact != nil {
		for _, t := range d.exact.tables {
			bytes += 8 * len(t.slots.s)
		}
	}
	if d.doubted != nil {
		for _, t := range d.doubted.tables {
			bytes += 4 * len(t.slots.s)
		}
	}
	return bytes
}

// mover is McTime's case: listings with a page count and no total, whose
// users can move between them while they are paged.
type mover struct {
	mu    sync.Mutex
	lists [2][]string
	size  int
	// before, if set, runs before listing l's page index is read; after,
	// if set, once it is.
	before func(ctx context.Context, l, index int) error
	after  func(l, index int)
}

func (m *mover) listing(l int) Pager {
	return pagerFunc(func(ctx context.Context, index int) (Page, error) {
		if m.before != nil {
			if err := m.before(ctx, l, index); err != nil {
				return Page{}, err
			}
		}
		m.mu.Lock()
		ids := m.lists[l]
		p := pageOf(ids[min(index*m.size, len(ids)):min((index+1)*m.size, len(ids))]...)
		p.Pages = schema.Some(max(1, (len(ids)+m.size-1)/m.size))
		m.mu.Unlock()
		if m.after != nil {
			m.after(l, index)
		}
		return p, nil
	})
}

// The overlap's own gap: the second listing, short, is read whole while
// the first one's last page is in flight, and a user of that page moves
// into it meanwhile. Neither read holds the user, no page count changes,
// and the first listing's page 0 is the same at the end; only the
// second's page 0, read again, shows the move.
func TestSequenceCatchesAMoveIntoAListingReadEarlier(t *testing.T) {
	m := &mover{size: 3, lists: [2][]string{
		{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "moving"},
		{"i0"},
	}}
	secondRead := make(chan struct{})
	// Once the second listing's page 0 is read (not when it is asked for:
	// the move must not be in it), the first listing's last page moves
	// its user there.
	m.after = func(l, index int) {
		if l == 1 && index == 0 {
			select {
			case <-secondRead: // the recheck
			default:
				close(secondRead)
			}
		}
	}
	m.before = func(ctx context.Context, l, index int) error {
		switch {
		case l == 0 && index == 2:
			if err := waitFor(ctx, t, secondRead, "the read of the second listing"); err != nil {
				return err
			}
			m.mu.Lock()
			m.lists[0] = slices.DeleteFunc(slices.Clone(m.lists[0]), func(id string) bool { return id == "moving" })
			m.lists[1] = append(m.lists[1], "moving")
			m.mu.Unlock()
		}
		return nil
	}
	var emitted []string
	err := Sequence(t.Context(), []Pager{m.listing(0), m.listing(1)}, Paging{Window: 4}, func(p Page) error {
		emitted = append(emitted, userIDs(p)...)
		return nil
	})
	if slices.Contains(emitted, "moving") {
		t.Fatalf("emitted %v: the move was not in the middle of the reads", emitted)
	}
	var drift *DriftError
	if !errors.As(err, &drift) || drift.Event.Kind != DriftFirstPage || drift.Event.Listing != 1 ||
		drift.Event.Detail != "page 0 held other users once every listing was read (1 users, then 2)" {
		t.Fatalf("err = %v, want first_page_changed on listing 1", err)
	}
}
