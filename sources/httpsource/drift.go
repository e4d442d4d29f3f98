package httpsource

import (
	"fmt"
	"hash/maphash"
	"slices"

	"github.com/saas-export/export/schema"
)

// Kinds of drift: signs that a listing changed while it was paged. Offset
// and page-number paging over a changing set skips or repeats users, so a
// pass that shows any of these cannot be committed.
const (
	DriftTotal     = "total_changed"      // a page reports another total than page 0
	DriftPageCount = "page_count_changed" // a page reports another page count than page 0
	DriftDuplicate = "duplicate_id"       // an id already seen on this pass
	DriftShortPage = "short_page"         // a page before the last holds fewer users than page 0
	DriftFirstPage = "first_page_changed" // a listing of a Sequence changed by its end
	DriftConfirm   = "confirm_mismatch"   // a second read of the listing held other ids
)

// DriftEvent is one sign that a listing changed while it was paged.
type DriftEvent struct {
	Kind    string `json:"kind"`
	Listing int    `json:"listing"` // which listing of a Sequence, from 0
	Page    int    `json:"page"`    // the page that showed it, from 0
	Detail  string `json:"detail"`  // the totals, counts or ids involved
}

func (e DriftEvent) String() string {
	return fmt.Sprintf("%s: listing %d page %d: %s", e.Kind, e.Listing, e.Page, e.Detail)
}

// DriftError stops a pass over a listing at its first drift event: what
// was read cannot be trusted, and the caller may read the listing again.
type DriftError struct{ Event DriftEvent }

func (e *DriftError) Error() string {
	return "the listing changed while it was paged (" + e.Event.String() + ")"
}

// driftCheck watches one pass over a Sequence's listings. Every id goes
// into a set of 64-bit hashes, with the listing and page it came on, so
// that a duplicate is named with both pages: 16 MB for a million ids
// (BenchmarkDriftCheckMillionIDs). A false collision (about one in 10^7
// at a million ids) costs a needless re-read; the seed is new each pass,
// so it does not repeat.
type driftCheck struct {
	seed    maphash.Seed
	seen    *idSet      // nil until the first page, which may size it
	firsts  []firstPage // page 0 of each listing so far
	listing int         // the listing being paged
	page    int         // the next page expected of it
}

// firstPage is what later pages of a listing are held to.
type firstPage struct {
	total schema.Null[int64]
	pages schema.Null[int]
	ids   []string
}

func newDriftCheck() *driftCheck {
	return &driftCheck{seed: maphash.MakeSeed()}
}

// release gives the id set's memory back, once the pass is over.
func (d *driftCheck) release() {
	if d.seen != nil {
		d.seen.release()
		d.seen = nil
	}
}

// startListing begins the next listing of the Sequence.
func (d *driftCheck) startListing(index int) { d.listing, d.page = index, 0 }

// observe checks the next page of the current listing, in page order,
// before it is emitted.
func (d *driftCheck) observe(p Page) error {
	index := d.page
	d.page++
	if index == 0 {
		d.firsts = append(d.firsts, firstPage{total: p.Total, pages: p.Pages, ids: userIDs(p)})
		if d.seen == nil {
			var n int64 // unknown: the set grows as it fills
			if p.Total.Valid && p.Total.V > 0 && p.Total.V <= 10_000_000 {
				n = p.Total.V // one allocation instead of a dozen doublings
			}
			d.seen = newIDSet(int(n))
		}
	} else if err := d.againstFirst(p, index); err != nil {
		return err
	}
	return d.ids(p, index)
}

func (d *driftCheck) againstFirst(p Page, index int) error {
	first := d.firsts[d.listing]
	switch {
	case p.Total != first.total:
		return d.drift(DriftTotal, index, "page 0 reported a total of %s, page %d reports %s",
			nullString(first.total), index, nullString(p.Total))
	case p.Pages != first.pages:
		return d.drift(DriftPageCount, index, "page 0 reported %s pages, page %d reports %s",
			nullString(first.pages), index, nullString(p.Pages))
	case first.pages.Valid && index < first.pages.V-1 && p.Len() < len(first.ids):
		return d.drift(DriftShortPage, index, "page %d of %d holds %d users, page 0 held %d",
			index, first.pages.V, p.Len(), len(first.ids))
	}
	return nil
}

func (d *driftCheck) ids(p Page, index int) error {
	d.seen.startPage(d.listing, index)
	// A Same page's ids are not at hand; a duplicate among them changes
	// the read's digest, which the pipeline compares with the first's.
	for _, u := range p.Users {
		if listing, page, dup := d.seen.add(maphash.String(d.seed, u.ID)); dup {
			return d.drift(DriftDuplicate, index, "user %q is on listing %d page %d and again on listing %d page %d",
				u.ID, listing, page, d.listing, index)
		}
	}
	return nil
}

// recheck compares page 0 of a listing, fetched again once every page of
// the Sequence was in, with what it was: a user deleted from the first
// listing while the second was paged may show only there.
func (d *driftCheck) recheck(listing int, now Page) error {
	first := d.firsts[listing]
	d.listing = listing
	switch {
	case now.Total != first.total:
		return d.drift(DriftFirstPage, 0, "page 0 reported a total of %s, and %s once every listing was read",
			nullString(first.total), nullString(now.Total))
	case now.Pages != first.pages:
		return d.drift(DriftFirstPage, 0, "page 0 reported %s pages, and %s once every listing was read",
			nullString(first.pages), nullString(now.Pages))
	case !slices.Equal(userIDs(now), first.ids):
		return d.drift(DriftFirstPage, 0, "page 0 held other users once every listing was read (%d users, then %d)",
			len(first.ids), now.Len())
	}
	return nil
}

func (d *driftCheck) drift(kind string, page int, format string, args ...any) error {
	return &DriftError{Event: DriftEvent{Kind: kind, Listing: d.listing, Page: page, Detail: fmt.Sprintf(format, args...)}}
}

func nullString[T int | int64](n schema.Null[T]) string {
	if n.Valid {
		return fmt.Sprint(n.V)
	}
	return "none"
}
