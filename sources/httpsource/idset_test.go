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
