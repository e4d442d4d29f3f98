package httpsource

import (
	"math/rand/v2"
	"testing"
)

// The set agrees with a map of the same hashes, whatever its first size:
// every hash added once is new, every one added again names the listing
// and page that first added it, through the table's growth, runs of
// colliding slots and empty pages.
func TestIDSetAgreesWithAMap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sized  int // what newIDSet is told
		n      int // hashes added
		repeat int // one hash in repeat comes again
		hash   func(r *rand.Rand, i int) uint64
	}{
		{"sized", 5000, 5000, 7, func(r *rand.Rand, _ int) uint64 { return r.Uint64() }},
		{"unsized, grows", 0, 50_000, 11, func(r *rand.Rand, _ int) uint64 { return r.Uint64() }},
		{"undersized", 10, 3000, 5, func(r *rand.Rand, _ int) uint64 { return r.Uint64() }},
		// The same top bits: every hash wants the same slot.
		{"one slot wanted", 0, 3000, 3, func(_ *rand.Rand, i int) uint64 { return uint64(i) }},
		{"zero hash", 0, 10, 2, func(_ *rand.Rand, i int) uint64 { return uint64(i) << 60 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			s := newIDSet(tc.sized)
			defer s.release()
			type where struct{ listing, page int }
			want := map[uint64]where{}
			var added []uint64
			listing, page := 0, 0
			for i := range tc.n {
				if i%97 == 0 {
					page++
					if page%50 == 0 {
						listing, page = listing+1, 0
					}
					s.startPage(listing, page)
					if i%3 == 0 {
						s.startPage(listing, page+1) // an empty page
						page++
					}
				}
				h := tc.hash(r, i)
				if i%tc.repeat == 0 && len(added) > 0 {
					h = added[r.IntN(len(added))]
				}
				l, p, dup := s.add(h)
				w, seen := want[h]
				switch {
				case dup != seen:
					t.Fatalf("add %d (%#x): dup %v, want %v", i, h, dup, seen)
				case dup && (l != w.listing || p != w.page):
					t.Fatalf("add %d (%#x): first on listing %d page %d, want %d %d", i, h, l, p, w.listing, w.page)
				case !dup:
					want[h] = where{listing, page}
					added = append(added, h)
				}
			}
			if s.n != len(want) {
				t.Errorf("%d hashes held, want %d", s.n, len(want))
			}
			if s.n > len(s.slots.s)/4*3 {
				t.Errorf("%d hashes in %d slots: more than 3/4 full", s.n, len(s.slots.s))
			}
		})
	}
}

// A set sized for the page 0 total holds that many ids without growing,
// in 13.4 bytes an id at most: 8 for the hash, 4 for each of 4/3 slots.
func TestIDSetSizedHoldsItsIDsInPlace(t *testing.T) {
	for _, n := range []int{1024, 100_000, 1 << 17} { // 1 << 17: a power of two, no rounding up to the next
		s := newIDSet(n)
		slots := len(s.slots.s)
		r := rand.New(rand.NewPCG(3, 4))
		for range n {
			if _, _, dup := s.add(r.Uint64()); dup {
				t.Fatalf("n %d: a random hash came twice", n)
			}
		}
		if len(s.slots.s) != slots || len(s.hashes.s) != n {
			t.Errorf("n %d: grew from %d to %d slots, %d hashes", n, slots, len(s.slots.s), len(s.hashes.s))
		}
		if bytes := 8*len(s.hashes.s) + 4*len(s.slots.s); float64(bytes) > 13.4*float64(n) {
			t.Errorf("n %d: %d bytes, %.1f an id", n, bytes, float64(bytes)/float64(n))
		}
		s.release()
	}
}
