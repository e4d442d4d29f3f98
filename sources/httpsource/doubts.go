package httpsource

import (
	"fmt"
	"slices"

	"github.com/saas-export/export/schema"
)

// Doubts are the ids of a first read that its id set could not clear:
// each one's 32-bit hash matched an earlier id's, on no page just before
// it (see driftCheck). The confirming read, told of them (Paging.Settle),
// decodes every page and counts them. Once the two reads' digests agree,
// both held the same ids as many times each, so an id the confirming
// read finds twice was in the first twice: a duplicate (Duplicate). The
// others matched on 32 bits alone, about one pass in a thousand at a
// million ids, and cost the confirming read its decoding.
//
// A first read fills Doubts, and the confirming read counts them after
// it, never both at once.
type Doubts struct {
	ids map[string][]idsOnPage // where the confirming read found each
}

// maxDoubts bounds the doubts of a pass: a listing with that many ids
// that may have come twice is drift at once, not a list to settle.
const maxDoubts = 10_000

// NewDoubts returns an empty set of doubts.
func NewDoubts() *Doubts { return &Doubts{ids: map[string][]idsOnPage{}} }

// Reset empties d for another pair of reads.
func (d *Doubts) Reset() { clear(d.ids) }

// Any says the first read left doubts: the confirming read must then
// decode every page to count them, recalling none from a PageMemo.
func (d *Doubts) Any() bool { return d != nil && len(d.ids) > 0 }

// add notes id as doubted; false when d is full.
func (d *Doubts) add(id string) bool {
	if _, ok := d.ids[id]; !ok && len(d.ids) >= maxDoubts {
		return false
	}
	d.ids[id] = nil
	return true
}

// count notes where the confirming read found doubted ids among users.
func (d *Doubts) count(users []schema.User, listing, page int) {
	if len(d.ids) == 0 {
		return
	}
	for _, u := range users {
		if seen, ok := d.ids[u.ID]; ok {
			d.ids[u.ID] = append(seen, idsOnPage{listing, page})
		}
	}
}

// Duplicate is the first doubted id, in id order, that the confirming
// read found twice, as drift; nil when there is none. Only once the two
// reads' digests agree does it say the first read held it twice.
func (d *Doubts) Duplicate() *DriftError {
	if d == nil {
		return nil
	}
	ids := make([]string, 0, len(d.ids))
	for id, seen := range d.ids {
		if len(seen) >= 2 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	id := slices.Min(ids)
	first, again := d.ids[id][0], d.ids[id][1]
	return &DriftError{Event: DriftEvent{
		Kind: DriftDuplicate, Listing: again.listing, Page: again.page,
		Detail: fmt.Sprintf("user %q is on listing %d page %d and again on listing %d page %d, in both reads",
			id, first.listing, first.page, again.listing, again.page),
	}}
}

// recentPages are the whole hashes of the ids on the last pages of a
// pass, the page being read included: where a listing that shifted while
// it was paged repeats a user.
type recentPages struct {
	pages [recentPageCount]recentPage
	next  int // the slot the next page takes
	used  int
}

// recentPageCount is how many pages recentPages keeps: a shift of more
// users than a page holds, which repeats a user further on, is rare, and
// a doubt the confirming read settles.
const recentPageCount = 16

type recentPage struct {
	at     idsOnPage
	hashes []uint64
}

// start begins the page at; its hashes follow.
func (r *recentPages) start(at idsOnPage) {
	p := &r.pages[r.next]
	p.at, p.hashes = at, p.hashes[:0]
	r.next = (r.next + 1) % recentPageCount
	r.used = min(r.used+1, recentPageCount)
}

// add puts h on the page begun last.
func (r *recentPages) add(h uint64) {
	p := &r.pages[(r.next+recentPageCount-1)%recentPageCount]
	p.hashes = append(p.hashes, h)
}

// find is the page of the recent ones that holds h, if one does.
func (r *recentPages) find(h uint64) (idsOnPage, bool) {
	for i := range r.used {
		p := &r.pages[(r.next+recentPageCount-1-i)%recentPageCount]
		if slices.Contains(p.hashes, h) {
			return p.at, true
		}
	}
	return idsOnPage{}, false
}
