package httpsource

import (
	"math/bits"
	"unsafe"
)

// idSet holds the 64-bit hashes of the ids seen on one pass, in an
// open-addressing table (linear probing, at most 7/8 full) of slots of
// one word, T: a uint64 keeps the top 44 bits of a hash and which page
// brought it, 9.1 bytes an id; a uint32 keeps the top 32 bits and no
// page, 4.6 bytes an id (see driftCheck for who needs which). The slot a
// hash wants comes from all 64 bits, so two hashes agree in a slot only
// if they agree in the bits it keeps and want slots within a run of each
// other: at a million ids, a false match is about one in 4 million passes
// with 44 bits, and one pass in a thousand with 32.
//
// A table cannot be rehashed (its slots do not keep the bits that placed
// them), so it is sized for the count page 0 reports, and one that fills
// is joined by another, twice the size of all before it; a hash is looked
// for in each. The tables live off the Go heap where the platform allows
// (mapWords); release gives them back.
type idSet[T uint32 | uint64] struct {
	tables []idTable[T] // the last one takes new hashes
	pages  []idsOnPage  // each page started, in order; a uint64 slot names one
}

// idTable is one open-addressing table: a slot is 0 when free.
type idTable[T uint32 | uint64] struct {
	slots words[T]
	n     int // slots taken
}

// idsOnPage names a page of the pass.
type idsOnPage struct{ listing, page int }

const (
	// pageBits of a uint64 slot name its page; the other 44 are its hash's.
	pageBits = 20
	pageMask = 1<<pageBits - 1
	// unknownPage is the page of a hash from page 2^20-1 on: a pass of that
	// many pages names the first page of a duplicate only up to there.
	unknownPage = pageMask
	// maxIDs bounds a pass: the page limit ends one long before.
	maxIDs = 1 << 40
)

// newIDSet returns a set sized for about n ids (0 if unknown).
func newIDSet[T uint32 | uint64](n int) *idSet[T] {
	s := &idSet[T]{}
	s.grow(max(n, 1024))
	return s
}

// release gives the set's memory back; the set must not be used after.
func (s *idSet[T]) release() {
	for i := range s.tables {
		s.tables[i].slots.free()
	}
	s.tables = nil
}

// grow adds a table that holds n more ids at 7/8 full.
func (s *idSet[T]) grow(n int) {
	s.tables = append(s.tables, idTable[T]{slots: newWords[T]((n + 6) / 7 * 8)})
}

// full says the table takes no more hashes.
func (t *idTable[T]) full() bool { return t.n >= len(t.slots.s)/8*7 }

// find is the slot of t where h's kept bits are, or would go, and
// whether they are there.
func (t *idTable[T]) find(h uint64) (at int, found bool) {
	slots := t.slots.s
	kept := keptBits[T](h)
	for at = t.home(h); ; {
		v := slots[at]
		if v == 0 {
			return at, false
		}
		if v&^pageBitsOf[T]() == kept {
			return at, true
		}
		if at++; at == len(slots) {
			at = 0
		}
	}
}

// home is the first slot h tries. Multiplying by an odd constant mixes
// every bit of h into the top ones, which pick it, scaled to the table.
func (t *idTable[T]) home(h uint64) int {
	at, _ := bits.Mul64(h*0x9e3779b97f4a7c15, uint64(len(t.slots.s)))
	return int(at)
}

// keptBits is what a slot of T keeps of h, its page bits clear: the top
// 44 bits in a uint64, the top 32 in a uint32 (never 0, which is free).
func keptBits[T uint32 | uint64](h uint64) T {
	if wide[T]() {
		return T(h &^ pageMask)
	}
	return T(max(h>>32, 1))
}

// pageBitsOf are the bits of a slot of T that name its page.
func pageBitsOf[T uint32 | uint64]() T {
	if wide[T]() {
		return T(pageMask)
	}
	return 0
}

// wide says a slot of T names its page: a uint64. The size is a constant
// for each instantiation, so the test costs nothing.
func wide[T uint32 | uint64]() bool { return unsafe.Sizeof(T(0)) == 8 }

// startPage says the hashes added from now on are of that page.
func (s *idSet[T]) startPage(listing, page int) {
	s.pages = append(s.pages, idsOnPage{listing: listing, page: page})
}

// add puts h in the set; if it was there (or, a uint32 set, its top 32
// bits), it reports dup, and the listing and page it was first added on
// when the set knows them.
func (s *idSet[T]) add(h uint64) (listing, page int, known, dup bool) {
	var at int // in the last table, where h goes
	for i := range s.tables {
		slot, found := s.tables[i].find(h)
		if found {
			return s.pageOf(int(s.tables[i].slots.s[slot] & pageBitsOf[T]()))
		}
		at = slot
	}
	last := &s.tables[len(s.tables)-1]
	if last.full() {
		held := 0
		for _, t := range s.tables {
			held += len(t.slots.s) / 8 * 7
		}
		if held >= maxIDs {
			panic("httpsource: more ids on one pass than an idSet holds")
		}
		s.grow(2 * held)
		last = &s.tables[len(s.tables)-1]
		at, _ = last.find(h)
	}
	v := keptBits[T](h)
	if wide[T]() {
		p := len(s.pages) // pages are named from 1, so that no slot taken is 0
		if p == 0 || p > unknownPage {
			p = unknownPage
		}
		v |= T(p)
	}
	last.slots.s[at] = v
	last.n++
	return 0, 0, false, false
}

// pageOf is the page p (from 1) names, for a duplicate: unknown for 0
// and unknownPage.
func (s *idSet[T]) pageOf(p int) (listing, page int, known, dup bool) {
	if p == 0 || p == unknownPage {
		return 0, 0, false, true
	}
	from := s.pages[p-1]
	return from.listing, from.page, true, true
}

// words is n zeroed words, off the heap where mapWords can map them.
type words[T uint32 | uint64] struct {
	s      []T
	mapped bool
}

func newWords[T uint32 | uint64](n int) words[T] {
	if s, ok := mapWords[T](n); ok {
		return words[T]{s: s, mapped: true}
	}
	return words[T]{s: make([]T, n)}
}

func (w *words[T]) free() {
	if w.mapped {
		unmapWords(w.s)
	}
	*w = words[T]{}
}
