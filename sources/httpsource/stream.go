package httpsource

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// maxPages bounds one listing, so that an API that never says "last" (or
// reports an absurd page count) fails the job instead of running forever.
const maxPages = 1_000_000

// errListingEnded cancels the fetches of pages after a Last one.
var errListingEnded = errors.New("the listing ended before its last page")

// Stream fetches every page of p and hands them to emit in page order,
// checked for drift: it is a Sequence of one listing.
//
// Page 0 is fetched first. When it reports Pages, the other pages are
// fetched concurrently through a window of maxInFlight (at least 1) pages:
// page i+maxInFlight starts only once page i was emitted, so at most
// maxInFlight pages are in flight or waiting to be emitted. Otherwise pages
// are fetched one after another until one is Last or empty. emit is never
// called concurrently; the first error, from a fetch or from emit, cancels
// the rest and is returned.
func Stream(ctx context.Context, p Pager, maxInFlight int, emit func(Page) error) error {
	return Sequence(ctx, []Pager{p}, maxInFlight, emit)
}

func stream(ctx context.Context, p Pager, window, limit int, emit func(Page) error) error {
	first, err := p.FetchPage(ctx, 0)
	if err != nil {
		return err
	}
	// A first page that is also the last needs no window: starting one
	// would send requests for pages not needed.
	if !first.Pages.Valid || first.Last {
		return streamSequential(ctx, p, first, limit, emit)
	}
	if first.Pages.V > limit {
		return fmt.Errorf("the API reports %d pages, more than the limit of %d", first.Pages.V, limit)
	}
	return streamWindow(ctx, p, first, window, emit)
}

// streamSequential follows a listing of unknown length to its last page.
func streamSequential(ctx context.Context, p Pager, first Page, limit int, emit func(Page) error) error {
	page := first
	for index := 1; ; index++ {
		done := page.Last || len(page.Users) == 0 // before emit, which may change the page
		if err := emit(page); err != nil || done {
			return err
		}
		if index >= limit {
			return fmt.Errorf("no last page after %d pages: the API seems to loop", limit)
		}
		next, err := p.FetchPage(ctx, index)
		if err != nil {
			return err
		}
		page = next
	}
}

// streamWindow fetches pages 1..Pages-1 concurrently and emits them in
// order. The emitting goroutine also starts the fetches, so the window only
// slides when a page has been emitted.
//
// A page that is Last ends the listing there, however many pages it
// reported: fetches of later pages still in flight are cancelled.
func streamWindow(ctx context.Context, p Pager, first Page, window int, emit func(Page) error) error {
	stop, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g, gctx := errgroup.WithContext(stop)
	n := first.Pages.V
	var pending []chan Page // in page order, from the next page to emit
	started := 1
	startUpTo := func(end int) {
		for ; started < min(end, n); started++ {
			index := started
			// Buffered, so a fetch never blocks after the emitter has quit.
			done := make(chan Page, 1)
			pending = append(pending, done)
			g.Go(func() error {
				page, err := p.FetchPage(gctx, index)
				if err != nil {
					if context.Cause(stop) == errListingEnded {
						return nil // a page not needed after all
					}
					return err
				}
				done <- page
				return nil
			})
		}
	}
	g.Go(func() error {
		// Page 0 takes the window's first slot.
		startUpTo(window)
		if err := emit(first); err != nil || first.Last {
			cancel(errListingEnded)
			return err
		}
		for index := 1; index < n; index++ {
			startUpTo(index + window) // page index-1 was emitted
			page, err := receive(gctx, pending[0])
			if err != nil {
				return err
			}
			pending = pending[1:]
			last := page.Last // before emit, which may change the page
			if err := emit(page); err != nil || last {
				cancel(errListingEnded)
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

// receive waits for a fetched page. It also stops when the group is
// cancelled, even if the page is ready: another page failed, and nothing
// more should be emitted.
func receive(ctx context.Context, done <-chan Page) (Page, error) {
	select {
	case page := <-done:
		return page, ctx.Err()
	case <-ctx.Done():
		return Page{}, ctx.Err()
	}
}

func userIDs(p Page) []string {
	ids := make([]string, len(p.Users))
	for i, u := range p.Users {
		ids[i] = u.ID
	}
	return ids
}
