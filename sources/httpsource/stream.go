package httpsource

import "context"

// maxPages bounds one listing, so that an API that never says "last" (or
// reports an absurd page count) fails the job instead of running forever.
const maxPages = 1_000_000

// Stream fetches every page of p and hands them to emit in page order,
// checked for drift: it is a Sequence of one listing.
//
// Page 0 is fetched first, alone unless paging.Expect says how many pages
// there were when last read. When it reports Pages, the other pages are
// fetched concurrently through a window of paging.Window (at least 1)
// pages: page i+Window starts only once page i was taken for emission,
// so at most Window pages are being fetched or waiting to be emitted, beside
// the one being emitted. A page that is Last ends the listing there,
// however many pages it reported: the fetches of later pages are
// cancelled. Without Pages, pages are fetched one after another until one
// is Last or empty. emit is never called concurrently; the first error,
// from a fetch or from emit, cancels the rest and is returned.
func Stream(ctx context.Context, p Pager, paging Paging, emit func(Page) error) error {
	return Sequence(ctx, []Pager{p}, paging, emit)
}

// userIDs are the page's ids; those of page 0 for a Same page, whose
// other ids are not kept.
func userIDs(p Page) []string {
	if p.Same != nil {
		return p.Same.ids
	}
	ids := make([]string, len(p.Users))
	for i, u := range p.Users {
		ids[i] = u.ID
	}
	return ids
}
