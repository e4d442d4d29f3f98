package httpsource

import (
	"math/bits"
	"sort"
)

// idSet holds the 64-bit hashes of the ids seen on one pass, each with the
// page it came on, in about 16 bytes an id where a map[uint64]uint32 takes
// 38 (its slots are 16 bytes, and its table rounds up alike): the hashes
// are kept in the order seen, and an open-addressing table of their
// positions (linear probing, at most 3/4 full) finds them. The page of a
// position is found among the pages' first positions, which are few.
// Both arrays live off the Go heap where the platform allows (mapWords);
// release gives them back.
type idSet struct {
	hashes words[uint64] // in the order seen: the first n
	n      int
	slots  words[uint32] // position in hashes + 1; 0 is free. A power of two long
	shift  uint          // 64 - log2(len(slots)): a hash's top bits pick its slot
	pages  []idsFrom     // where each page's hashes begin, in order
}

// idsFrom is a page whose hashes begin at position first.
type idsFrom struct {
	first         int
	listing, page int
}

// maxIDs bounds an idSet at what its uint32 positions can name.
const maxIDs = 1<<32 - 2

// newIDSet returns a set sized for about n ids (0 if unknown).
func newIDSet(n int) *idSet {
	n = max(n, 1024)
	s := &idSet{hashes: newWords[uint64](n)}
	s.resize(n)
	return s
}

// release gives the set's memory back; the set must not be used after.
func (s *idSet) release() {
	s.hashes.free()
	s.slots.free()
}

// resize makes a table for n ids and places the hashes in it.
func (s *idSet) resize(n int) {
	size := 1 << bits.Len(uint(n+n/3)) // n at most 3/4 of it
	s.slots.free()
	s.slots = newWords[uint32](size)
	s.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for i, h := range s.hashes.s[:s.n] {
		s.slots.s[s.slot(h)] = uint32(i + 1)
	}
}

// slot is where h is, or would go.
func (s *idSet) slot(h uint64) int {
	slots, mask := s.slots.s, len(s.slots.s)-1
	for i := int(h >> s.shift); ; i = (i + 1) & mask {
		if p := slots[i]; p == 0 || s.hashes.s[p-1] == h {
			return i
		}
	}
}

// startPage says the hashes added from now on are of that page.
func (s *idSet) startPage(listing, page int) {
	s.pages = append(s.pages, idsFrom{first: s.n, listing: listing, page: page})
}

// add puts h in the set; if it was there, it reports the listing and
// page it was first added on instead.
func (s *idSet) add(h uint64) (listing, page int, dup bool) {
	i := s.slot(h)
	if p := s.slots.s[i]; p != 0 {
		from := s.pageOf(int(p - 1))
		return from.listing, from.page, true
	}
	if s.n >= maxIDs {
		panic("httpsource: more ids on one pass than an idSet holds") // 4 billion: the page limit ends a pass long before
	}
	if s.n == len(s.hashes.s) {
		grown := newWords[uint64](2 * s.n)
		copy(grown.s, s.hashes.s)
		s.hashes.free()
		s.hashes = grown
	}
	s.hashes.s[s.n] = h
	s.n++
	s.slots.s[i] = uint32(s.n)
	if s.n > len(s.slots.s)/4*3 {
		s.resize(2 * s.n)
	}
	return 0, 0, false
}

// pageOf is the page that added position i: the last to begin at or
// before it (an empty page begins where the next one does).
func (s *idSet) pageOf(i int) idsFrom {
	return s.pages[sort.Search(len(s.pages), func(k int) bool { return s.pages[k].first > i })-1]
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
