package httpsource

import (
	"math/bits"
	"sort"
)

// idSet holds the 64-bit hashes of the ids seen on one pass, each with the
// page it came on, in about 13.3 bytes an id where a map[uint64]uint32
// takes 38 (its slots are 16 bytes, and its table rounds up to a power of
// two): the hashes are kept in the order seen, and an open-addressing
// table of their positions (linear probing, at most 3/4 full, sized to
// that rather than to a power of two) finds them. A slot keeps bits of its
// hash above the position, so a probe reads the hash array only for a
// slot whose bits agree. The page of a position is found among the pages'
// first positions, which are few. Both arrays live off the Go heap where
// the platform allows (mapWords); release gives them back.
type idSet struct {
	hashes words[uint64] // in the order seen: the first n
	n      int
	// slots hold position in hashes + 1 in their low posBits (0 is a free
	// slot), and above them the same bits of the hash they hold.
	slots   words[uint32]
	posBits uint
	pages   []idsFrom // where each page's hashes begin, in order
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
	size := (n/3 + 1) * 4 // n at most 3/4 of it, as add counts
	s.slots.free()
	s.slots = newWords[uint32](size)
	s.posBits = uint(bits.Len(uint(size))) // every position + 1 is below size
	for i, h := range s.hashes.s[:s.n] {
		at, tag := s.slot(h)
		s.slots.s[at] = tag | uint32(i+1)
	}
}

// posMask picks a slot's position bits. With 32 of them (a table of 2^31
// slots or more) it is every bit, and slots keep no bits of their hash.
func (s *idSet) posMask() uint32 { return 1<<s.posBits - 1 }

// slot is where h is, or would go, and the bits of h that its slot keeps.
func (s *idSet) slot(h uint64) (at int, tag uint32) {
	slots, mask := s.slots.s, s.posMask()
	tag = uint32(h) &^ mask
	// The top 32 bits pick the first slot to try, scaled to the table.
	for at = int((h >> 32) * uint64(len(slots)) >> 32); ; {
		v := slots[at]
		if v == 0 || v&^mask == tag && s.hashes.s[v&mask-1] == h {
			return at, tag
		}
		if at++; at == len(slots) {
			at = 0
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
	at, tag := s.slot(h)
	if v := s.slots.s[at]; v != 0 {
		from := s.pageOf(int(v&s.posMask()) - 1)
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
	s.slots.s[at] = tag | uint32(s.n)
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
