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

// driftCheck watches one pass over a Sequence's listings. How it finds
// an id seen twice depends on what follows the pass (Paging.Doubt and
// Settle), as BenchmarkDriftCheckMillionIDs measures:
//   - A pass alone puts every id's hash in a set with the page it came
//     on (9.1 MB for a million ids), so that a duplicate is named with
//     both pages. A false duplicate (one pass in 4 million at a million
//     ids) costs a needless re-read; the seed is new each pass, so it
//     does not repeat.
//   - A pass a confirming read follows keeps 32 bits of each hash (4.6 MB
//     for a million ids), and the whole hashes of the last recentPages
//     pages: a match among those is a duplicate, named with both pages
//     (a listing that shifts while paged repeats a user on the next
//     page); any other match is only a doubt (see Doubts), which the
//     confirming read settles.
//   - The confirming read keeps no set: its ids are compared whole with
//     the first read's (IDDigest), and it counts the first read's doubts.
type driftCheck struct {
	hash     func(string) uint64
	exact    *idSet[uint64] // a pass alone; nil until the first page, which may size it
	doubted  *idSet[uint32] // a first read: its matches are checked against recent
	recent   recentPages
	doubts   *Doubts     // a first read's, or those the confirming read settles
	settling bool        // the confirming read: doubts counts, no set
	firsts   []firstPage // page 0 of each listing so far
	listing  int         // the listing being paged
	page     int         // the next page expected of it
}

// firstPage is what later pages of a listing are held to.
type firstPage struct {
	total schema.Null[int64]
	pages schema.Null[int]
	ids   []string
}

// newDriftCheck watches a pass read as paging says: a first read fills
// paging.Doubt, a confirming read settles paging.Settle.
func newDriftCheck(paging Paging) *driftCheck {
	seed := maphash.MakeSeed()
	d := &driftCheck{hash: func(id string) uint64 { return maphash.String(seed, id) }}
	switch {
	case paging.Settle != nil:
		d.doubts, d.settling = paging.Settle, true
	case paging.Doubt != nil:
		d.doubts = paging.Doubt
	}
	return d
}

// release gives the id set's memory back, once the pass is over.
func (d *driftCheck) release() {
	if d.exact != nil {
		d.exact.release()
		d.exact = nil
	}
	if d.doubted != nil {
		d.doubted.release()
		d.doubted = nil
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
		if len(d.firsts) == 1 {
			d.newSet(p)
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

// newSet makes the pass's id set, if it keeps one, sized from page 0.
func (d *driftCheck) newSet(p Page) {
	var n int64 // unknown: the set grows as it fills
	switch {
	case p.Total.Valid:
		n = p.Total.V
	case p.Pages.Valid:
		n = int64(p.Pages.V) * int64(p.Len()) // a bound on this listing
	}
	size := int(min(max(n, 0), 10_000_000)) // one table, unless the count is far off
	switch {
	case d.settling:
	case d.doubts != nil:
		d.doubted = newIDSet[uint32](size)
	default:
		d.exact = newIDSet[uint64](size)
	}
}

func (d *driftCheck) ids(p Page, index int) error {
	// A Same page's ids are not at hand: a confirming read recalls pages
	// only when the first read left no doubts, and the digest the pipeline
	// compares holds every id.
	switch {
	case d.settling:
		d.doubts.count(p.Users, d.listing, index)
	case d.doubted != nil:
		return d.doubtedIDs(p.Users, index)
	default:
		return d.exactIDs(p.Users, index)
	}
	return nil
}

func (d *driftCheck) exactIDs(users []schema.User, index int) error {
	d.exact.startPage(d.listing, index)
	for _, u := range users {
		if listing, page, known, dup := d.exact.add(d.hash(u.ID)); dup {
			if !known {
				return d.drift(DriftDuplicate, index, "user %q is on listing %d page %d and on a page before it",
					u.ID, d.listing, index)
			}
			return d.duplicate(u.ID, idsOnPage{listing, page}, index)
		}
	}
	return nil
}

func (d *driftCheck) doubtedIDs(users []schema.User, index int) error {
	d.recent.start(idsOnPage{d.listing, index})
	for _, u := range users {
		h := d.hash(u.ID)
		if _, _, _, dup := d.doubted.add(h); dup {
			if first, ok := d.recent.find(h); ok {
				return d.duplicate(u.ID, first, index)
			}
			if !d.doubts.add(u.ID) {
				return d.drift(DriftDuplicate, index, "user %q is on listing %d page %d, and %d ids of this pass may have come twice",
					u.ID, d.listing, index, maxDoubts)
			}
		}
		d.recent.add(h)
	}
	return nil
}

func (d *driftCheck) duplicate(id string, first idsOnPage, index int) error {
	return d.drift(DriftDuplicate, index, "user %q is on listing %d page %d and again on listing %d page %d",
		id, first.listing, first.page, d.listing, index)
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
