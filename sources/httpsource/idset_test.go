package httpsource

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The set agrees with a map of the same hashes, whatever its first size:
// every hash added once is new, every one added again names the listing
// and page that first added it, through the tables added as it fills,
// hashes that differ only below the bits a slot keeps of them, and empty
// pages.
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
		// Counting in the lowest bits a slot keeps, the rest 0.
		{"low kept bits", 0, 3000, 3, func(_ *rand.Rand, i int) uint64 { return uint64(i) << pageBits }},
		{"zero hash", 0, 10, 2, func(_ *rand.Rand, i int) uint64 { return uint64(i) << 60 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			s := newIDSet[uint64](tc.sized)
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
				l, p, known, dup := s.add(h)
				w, seen := want[h]
				switch {
				case dup != seen:
					t.Fatalf("add %d (%#x): dup %v, want %v", i, h, dup, seen)
				case dup && !known:
					t.Fatalf("add %d (%#x): the first page is not known", i, h)
				case dup && (l != w.listing || p != w.page):
					t.Fatalf("add %d (%#x): first on listing %d page %d, want %d %d", i, h, l, p, w.listing, w.page)
				case !dup:
					want[h] = where{listing, page}
					added = append(added, h)
				}
			}
			held := 0
			for _, table := range s.tables {
				held += table.n
				if table.n > len(table.slots.s)/8*7 {
					t.Errorf("%d hashes in %d slots: more than 7/8 full", table.n, len(table.slots.s))
				}
			}
			if held != len(want) {
				t.Errorf("%d hashes held, want %d", held, len(want))
			}
		})
	}
}

// A set sized for the page 0 total holds that many ids in one table, in
// 8/7 slots an id, rounded up: 9.2 bytes an id at most with uint64 slots,
// 4.6 with uint32 ones.
func TestIDSetSizedHoldsItsIDsInOneTable(t *testing.T) {
	for _, n := range []int{1024, 100_000, 1 << 17} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			checkSizedSet(t, newIDSet[uint64](n), n, 8, 9.2)
			checkSizedSet(t, newIDSet[uint32](n), n, 4, 4.6)
		})
	}
}

func checkSizedSet[T uint32 | uint64](t *testing.T, s *idSet[T], n, slotBytes int, most float64) {
	t.Helper()
	defer s.release()
	s.startPage(0, 0)
	r := rand.New(rand.NewPCG(3, 4))
	matches := 0
	for range n {
		if _, _, _, dup := s.add(r.Uint64()); dup {
			matches++ // a uint32 set may match a random hash now and then
		}
	}
	if slotBytes == 8 && matches > 0 {
		t.Errorf("%d random hashes came twice", matches)
	}
	if len(s.tables) != 1 {
		t.Errorf("%d-byte slots: %d tables, want 1", slotBytes, len(s.tables))
	}
	if bytes := slotBytes * len(s.tables[0].slots.s); float64(bytes) > most*float64(n) {
		t.Errorf("%d-byte slots: %d bytes, %.2f an id, want at most %.1f", slotBytes, bytes, float64(bytes)/float64(n), most)
	}
}

// Past the pages a slot can name, a duplicate is still one, its first
// page unknown rather than wrong.
func TestIDSetPastTheNamedPages(t *testing.T) {
	s := newIDSet[uint64](0)
	defer s.release()
	for page := range unknownPage - 1 {
		s.startPage(0, page)
	}
	if _, _, _, dup := s.add(1 << 63); dup {
		t.Fatal("a first hash is a duplicate")
	}
	s.startPage(0, unknownPage-1)
	if _, _, _, dup := s.add(1 << 62); dup {
		t.Fatal("a first hash is a duplicate")
	}
	if l, p, known, dup := s.add(1 << 63); !dup || !known || l != 0 || p != unknownPage-2 {
		t.Errorf("the last named page: listing %d page %d known %v dup %v, want 0 %d true true", l, p, known, dup, unknownPage-2)
	}
	if _, _, known, dup := s.add(1 << 62); !dup || known {
		t.Errorf("past the named pages: known %v dup %v, want false true", known, dup)
	}
}

// A set of 32-bit slots never misses a hash added before, through the
// tables added as it fills, and at 50,000 random hashes finds almost
// none that was not (a match needs 32 bits alike and a first slot in
// the same run).
func TestIDSetOf32BitsMissesNoRepeat(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	s := newIDSet[uint32](0)
	defer s.release()
	s.startPage(0, 0)
	var added []uint64
	matches := 0
	for i := range 50_000 {
		if i%7 == 0 && len(added) > 0 {
			h := added[r.IntN(len(added))]
			if _, _, known, dup := s.add(h); !dup || known {
				t.Fatalf("add %d (%#x) again: dup %v, known %v; want true, false", i, h, dup, known)
			}
			continue
		}
		h := r.Uint64()
		if _, _, _, dup := s.add(h); dup {
			matches++
			continue
		}
		added = append(added, h)
	}
	if len(s.tables) < 5 {
		t.Errorf("%d tables: the set did not grow as it filled", len(s.tables))
	}
	if matches > 2 {
		t.Errorf("%d of about 43,000 new hashes matched", matches)
	}
}
