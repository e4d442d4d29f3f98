package httpsource

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/saas-export/export/schema"
)

// Sequence streams several listings of one provider as one listing: for
// an API that hides some users unless asked (McTime's inactive users,
// Kare's deleted ones), a job exports each listing in turn. Pages are
// emitted in order, listing 0's then listing 1's, but fetched
// concurrently across the listings, so that a latency-bound job waits
// for no listing's first page: at most paging.Window (at least 1) pages
// are being fetched or waiting to be emitted, whichever listings they
// belong to (see scheduler), and at most paging.InFlight of their
// requests are on the wire. emit is never called concurrently; the first
// error, from a fetch or from emit, cancels the others and is returned.
//
// Page totals are running sums: a page of the second listing reports the
// first listing's total plus its own, so the last page carries the whole
// export's total. If a listing reports no total, no later page does.
//
// Every page is checked for drift before it is emitted (see DriftEvent):
// its total and page count against its listing's page 0, its length, and
// its ids against the pass's earlier ones (see driftCheck). Once every
// page is in, page 0 of each listing is fetched again (when there are
// several): the listings are read at the same time, so a user that moves
// from one to another meanwhile can be in neither read, and shows only as
// a page 0 that changed (unless paging.NoRecheck). The first drift ends
// the pass with a *DriftError; nothing emitted before it should be kept.
func Sequence(ctx context.Context, listings []Pager, paging Paging, emit func(Page) error) error {
	return sequence(ctx, listings, paging, maxPages, emit)
}

// Paging is how a Sequence reads its listings.
type Paging struct {
	// Window bounds the pages held at once (at least 1): being fetched
	// (waiting for a place in flight, in flight, being decoded) or waiting
	// for the pages before them to be emitted.
	Window int
	// InFlight, when positive, bounds the pages' requests on the wire: an
	// attempt holds a place from when it is sent until its body is read,
	// and pages take places in the order they started (see flight).
	InFlight int
	// Expect, when set, is how many pages each listing held when it was
	// last read: a read starts its window at once on them rather than
	// waiting for page 0 to say how many there are, since the confirming
	// read follows the first one within seconds. Page 0 still decides:
	// pages past the count it reports are cancelled, and more are
	// fetched if it reports more.
	Expect []int
	// NoRecheck leaves out the rechecks of page 0 at the end. For a read
	// that a confirming read follows: the move they catch (a user read in
	// neither listing) shows as well in the ids of the next read, whose
	// pages all come after this one's.
	NoRecheck bool
	// Remember fills a memo with the pages read; Recall takes from one
	// the pages whose bodies come back unchanged (see PageMemo).
	Remember, Recall *PageMemo
	// Doubt, for a read that a confirming read follows, fills with the ids
	// its compact id set could not clear; Settle, for the confirming read,
	// counts them (see Doubts, and driftCheck for the sets).
	Doubt, Settle *Doubts
}

// Paging is how the job's listing is paged: as Read asks, MaxInFlight
// requests at once and a window of twice as many pages, so that pages
// are decoded, and wait for the ones before them, while the next
// requests are out.
func (j Job) Paging() Paging {
	p := j.Read
	n := max(j.MaxInFlight, 1)
	p.Window, p.InFlight = 2*n, n
	return p
}

// Rechecks is how many requests a Sequence of that many listings sends
// after their pages: page 0 of each again, when there are several.
func Rechecks(listings int) int {
	if listings < 2 {
		return 0
	}
	return listings
}

func sequence(ctx context.Context, listings []Pager, paging Paging, limit int, emit func(Page) error) error {
	g, gctx := errgroup.WithContext(ctx)
	window := max(paging.Window, 1)
	s := &scheduler{ctx: gctx, g: g, window: window, limit: limit, free: window, wake: make(chan struct{}, 1)}
	s.memo, s.recall = paging.Remember, false
	if paging.Recall != nil {
		s.memo, s.recall = paging.Recall, true
	}
	s.lead = window // every page started is sent: a window left goes out in one round
	if paging.InFlight > 0 {
		s.places = semaphore.NewWeighted(int64(paging.InFlight))
		s.lead = paging.InFlight - 1 // started pages queue: page 0 goes out with the last round
	}
	if !paging.NoRecheck {
		s.rechecks = Rechecks(len(listings))
	}
	for i, p := range listings {
		l := &listingRun{pager: p, number: i, known: 1, pending: map[int]*fetch{}}
		if i < len(paging.Expect) {
			l.known = min(max(paging.Expect[i], 1), limit)
		}
		s.listings = append(s.listings, l)
	}
	s.rechecked = map[int]*fetch{}
	s.mu.Lock()
	s.fill()
	s.mu.Unlock()
	check := newDriftCheck(paging)
	g.Go(func() error { return s.emitAll(check, emit) })
	return g.Wait()
}

// scheduler fetches the pages of a Sequence within one window of places:
// a page takes its place when its fetch starts and gives it back when it
// is taken for emission, so a page waiting for the ones before it holds
// memory against the window, as a request in flight does.
//
// Places go to pages in the order they are emitted, with one exception:
// page 0 of the next listing starts once the current one has at most
// lead pages left to start (a window; with places in flight, one less
// than them, since started pages queue for those in order), so it is in
// by the time they are and the next listing's pages follow without a
// round trip between. Not sooner:
// a page 0 fetched early waits, holding its place, until every page before
// it is emitted (a window of 8 would page a long first listing at 7). It
// takes the last free place only while a page of the current listing
// holds one, which comes back when that page is emitted, so the page to
// be emitted next can always start; and no page of a listing but its page
// 0 starts before every page of the listings before it has, since such
// pages could fill the window while the page to be emitted next waits for
// a place.
type scheduler struct {
	ctx           context.Context // the group's: ended by the first error
	g             *errgroup.Group
	window, limit int
	wake          chan struct{}       // a page is in: the emitter may go on
	places        *semaphore.Weighted // Paging.InFlight; nil: no bound
	memo          *PageMemo           // Paging.Remember or Recall; nil: none
	recall        bool                // memo is Recall
	lead          int                 // the next listing's page 0 starts with this many pages left to start

	mu       sync.Mutex
	free     int // places of the window not taken
	listings []*listingRun
	front    int     // the first listing with pages not yet started
	fetching int     // page fetches started and not returned
	flight   *flight // the claim of the page started last, with places
	// Page 0 of each listing again, once every page is in: how many
	// (none with Paging.NoRecheck), how many started, those not yet taken.
	rechecks, recheck int
	rechecked         map[int]*fetch
}

// listingRun is one listing's progress. A listing whose page 0 reports
// a page count is known to its end at once; one that does not is
// followed a page at a time, each page known to exist once the one before
// it was in and was neither Last nor empty.
type listingRun struct {
	pager   Pager
	number  int            // its place in the Sequence, from 0
	known   int            // pages known (before page 0 is in: expected) to exist
	final   bool           // known is the listing's length
	started int            // pages started, in page order
	first   bool           // page 0 is in
	pending map[int]*fetch // pages started and not yet taken for emission
}

func (l *listingRun) allStarted() bool { return l.final && l.started >= l.known }

// fetch is one request of the scheduler and its answer.
type fetch struct {
	page    Page
	done    bool // page is in
	dropped bool // past the listing's Last page: not wanted after all
	cancel  context.CancelFunc
}

// fill starts fetches while the window has places; called with mu held
// whenever a place is given back or a page is in.
func (s *scheduler) fill() {
	for s.free > 0 {
		if l, ok := s.nextPage(); ok {
			s.startPage(l)
		} else if s.front == len(s.listings) && s.fetching == 0 && s.recheck < s.rechecks {
			s.startRecheck()
		} else {
			return
		}
	}
}

// nextPage is the listing whose next page should start now, if any.
func (s *scheduler) nextPage() (*listingRun, bool) {
	for s.front < len(s.listings) && s.listings[s.front].allStarted() {
		s.front++
	}
	if s.front == len(s.listings) {
		return nil, false
	}
	cur := s.listings[s.front]
	spare := s.free > 1 || len(cur.pending) > 0 // a place stays free, or one comes back
	if s.front+1 < len(s.listings) && spare && cur.first && (!cur.final || cur.known-cur.started <= s.lead) {
		// A listing of unknown length keeps one page in flight: the
		// places beside it are free anyway.
		if next := s.listings[s.front+1]; next.started == 0 {
			return next, true
		}
	}
	return cur, cur.started < cur.known
}

func (s *scheduler) startPage(l *listingRun) {
	index := l.started
	ctx, cancel := context.WithCancel(s.ctx)
	f := &fetch{cancel: cancel}
	l.pending[index] = f
	l.started++
	s.free--
	s.fetching++
	ctx, pass := s.claim(ctx)
	ctx, slot := s.memoSlot(ctx, l.number, index)
	s.g.Go(func() error {
		page, err := l.pager.FetchPage(ctx, index)
		pass() // if it never sent a request
		if err == nil {
			page = slot.done(page)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		cancel()
		s.fetching--
		if f.dropped {
			s.free++ // kept until now: the request was in flight
			s.fill()
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.arrived(l, index, page); err != nil {
			return err
		}
		f.page, f.done = page, true
		s.notify()
		s.fill()
		return nil
	})
}

// arrived learns what page index of l says about the listing's length.
// With Paging.Expect, later pages may have started before page 0, and
// arrive before it.
func (s *scheduler) arrived(l *listingRun, index int, page Page) error {
	if index == 0 {
		l.first = true
		// A first page that is also the last needs no window: starting
		// one would send requests for pages not needed.
		if page.Pages.Valid && !page.Last {
			if page.Pages.V > s.limit {
				return fmt.Errorf("the API reports %d pages, more than the limit of %d", page.Pages.V, s.limit)
			}
			n := max(page.Pages.V, 1)
			if l.final { // a later page, in first, was Last
				n = min(n, l.known)
			}
			s.endAt(l, n)
			l.final = true
			return nil
		}
	}
	if l.final {
		// A page that is Last ends the listing there, however many
		// pages it reported.
		if page.Last && index+1 < l.known {
			s.endAt(l, index+1)
		}
		return nil
	}
	if page.Last || page.Len() == 0 {
		s.endAt(l, index+1)
		l.final = true
		return nil
	}
	if index+1 >= s.limit {
		return fmt.Errorf("no last page after %d pages: the API seems to loop", s.limit)
	}
	l.known = max(l.known, index+2)
	return nil
}

// endAt sets l's length to n pages: the fetches of later pages are
// cancelled, and their places given back (at once for a page already in).
func (s *scheduler) endAt(l *listingRun, n int) {
	l.known = n
	for index, f := range l.pending {
		if index < n {
			continue
		}
		f.dropped = true
		f.cancel()
		delete(l.pending, index)
		if f.done {
			s.free++
		}
	}
}

func (s *scheduler) startRecheck() {
	i := s.recheck
	f := &fetch{}
	s.rechecked[i] = f
	s.recheck++
	s.free--
	ctx, pass := s.claim(s.ctx)
	ctx, slot := s.memoSlot(ctx, i, 0)
	s.g.Go(func() error {
		page, err := s.listings[i].pager.FetchPage(ctx, 0)
		pass()
		if err != nil {
			return err
		}
		page = slot.done(page)
		s.mu.Lock()
		defer s.mu.Unlock()
		f.page, f.done = page, true
		s.notify()
		return nil
	})
}

// claim gives the request about to start its turn for a place in flight,
// after the one started before it; pass must be called once it is over.
func (s *scheduler) claim(ctx context.Context) (_ context.Context, pass func()) {
	if s.places == nil {
		return ctx, func() {}
	}
	s.flight = newFlight(s.places, s.flight)
	return withFlight(ctx, s.flight), s.flight.pass
}

// memoSlot gives the page about to start its part in the memo, if any.
func (s *scheduler) memoSlot(ctx context.Context, listing, index int) (context.Context, *memoSlot) {
	if s.memo == nil {
		return ctx, nil
	}
	slot := &memoSlot{memo: s.memo, key: pageKey{listing, index}, recall: s.recall}
	return withMemoSlot(ctx, slot), slot
}

func (s *scheduler) notify() {
	select {
	case s.wake <- struct{}{}:
	default: // the emitter has a wake-up pending already
	}
}

// emitAll emits every listing's pages in order, checked for drift, with
// running totals, then compares the rechecks.
func (s *scheduler) emitAll(check *driftCheck, emit func(Page) error) error {
	defer check.release()
	var done int64 // records the finished listings reported
	known := true
	for i, l := range s.listings {
		check.startListing(i)
		var last schema.Null[int64]
		for index := 0; ; index++ {
			p, ok, err := s.take(l.pending, index, func() bool { return l.final && index >= l.known })
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if err := check.observe(p); err != nil {
				return err
			}
			last = p.Total
			p.Listing = i
			if known && p.Total.Valid {
				p.Total = schema.Some(done + p.Total.V)
			} else {
				p.Total = schema.Null[int64]{}
			}
			if err := emit(p); err != nil {
				return err
			}
		}
		known = known && last.Valid
		done += last.V
	}
	for i := range s.rechecks {
		first, _, err := s.take(s.rechecked, i, func() bool { return false })
		if err != nil {
			return err
		}
		if err := check.recheck(i, first); err != nil {
			return err
		}
	}
	return nil
}

// take waits for pending[key] to be in, then removes it and gives its
// place back; ok is false once ended says there is no such page. It stops
// when the group is cancelled, even if the page is ready: another fetch
// failed, and nothing more should be emitted.
func (s *scheduler) take(pending map[int]*fetch, key int, ended func() bool) (_ Page, ok bool, _ error) {
	for {
		if err := s.ctx.Err(); err != nil {
			return Page{}, false, err
		}
		s.mu.Lock()
		if ended() {
			s.mu.Unlock()
			return Page{}, false, nil
		}
		if f := pending[key]; f != nil && f.done {
			delete(pending, key)
			s.free++
			s.fill()
			s.mu.Unlock()
			return f.page, true, nil
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.ctx.Done():
		}
	}
}
