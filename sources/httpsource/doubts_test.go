package httpsource

import (
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"testing"

	"github.com/saas-export/export/schema"
)

// pagesOf makes a listing of pages of 10 users, ids[i] the i-th user.
func pagesOf(ids []string) []Page {
	total := int64(len(ids))
	var pages []Page
	for i := 0; i < len(ids); i += 10 {
		var users []schema.User
		for _, id := range ids[i:min(i+10, len(ids))] {
			users = append(users, schema.User{ID: id})
		}
		pages = append(pages, NumberedPage(users, &total, i/10, 10))
	}
	return pages
}

// alikeHashes are n hashes that a first read's compact set, sized for
// size ids, cannot tell apart: the same top 32 bits, which is all its
// slots keep, and the same first slot to try.
func alikeHashes(n, size int) []uint64 {
	set := newIDSet[uint32](size)
	defer set.release()
	table := &set.tables[0]
	var hashes []uint64
	for low := uint64(1); len(hashes) < n; low++ {
		h := 0xabcdef01<<32 | low
		if table.home(h) == table.home(0xabcdef01<<32) {
			hashes = append(hashes, h)
		}
	}
	return hashes
}

// colliding hashes ids with a seed, but those of alike with alikeHashes
// for a listing of size ids.
func colliding(size int, alike ...string) func(string) uint64 {
	seed := maphash.MakeSeed()
	hashes := map[string]uint64{}
	for i, h := range alikeHashes(len(alike), size) {
		hashes[alike[i]] = h
	}
	return func(id string) uint64 {
		if h, ok := hashes[id]; ok {
			return h
		}
		return maphash.String(seed, id)
	}
}

// observeAll runs one pass of check over pages; the error ends it.
func observeAll(check *driftCheck, pages []Page) error {
	defer check.release()
	check.startListing(0)
	for _, p := range pages {
		if err := check.observe(p); err != nil {
			return err
		}
	}
	return nil
}

func TestDoubtsSettledByTheConfirmingRead(t *testing.T) {
	ids := make([]string, 400) // 40 pages
	for i := range ids {
		ids[i] = fmt.Sprintf("u%03d", i)
	}
	for _, tt := range []struct {
		name   string
		at     map[int]string // ids[i] replaced
		alike  []string
		doubts bool   // the first read leaves some
		now    string // the first read's drift, at once
		later  string // the confirming read's verdict
	}{
		{name: "no match"},
		{name: "32 bits alike, 30 pages apart", at: map[int]string{5: "a", 305: "b"}, alike: []string{"a", "b"}, doubts: true},
		{name: "32 bits alike, on the next page", at: map[int]string{5: "a", 15: "b"}, alike: []string{"a", "b"}, doubts: true},
		{name: "an id twice, 30 pages apart", at: map[int]string{5: "a", 305: "a"}, doubts: true,
			later: `duplicate_id: listing 0 page 30: user "a" is on listing 0 page 0 and again on listing 0 page 30, in both reads`},
		{name: "an id twice, 15 pages apart", at: map[int]string{5: "a", 155: "a"},
			now: `duplicate_id: listing 0 page 15: user "a" is on listing 0 page 0 and again on listing 0 page 15`},
		{name: "an id twice on a page", at: map[int]string{5: "a", 7: "a"},
			now: `duplicate_id: listing 0 page 0: user "a" is on listing 0 page 0 and again on listing 0 page 0`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			listing := append([]string(nil), ids...)
			for i, id := range tt.at {
				listing[i] = id
			}
			pages := pagesOf(listing)
			doubts := NewDoubts()
			first := newDriftCheck(Paging{Doubt: doubts})
			first.hash = colliding(len(listing), tt.alike...)
			err := observeAll(first, pages)
			if got := errText(err); got != tt.now {
				t.Fatalf("first read: %q, want %q", got, tt.now)
			}
			if err != nil {
				return
			}
			if doubts.Any() != tt.doubts {
				t.Fatalf("doubts %v, want %v", doubts.ids, tt.doubts)
			}
			confirming := newDriftCheck(Paging{Settle: doubts})
			if err := observeAll(confirming, pages); err != nil {
				t.Fatalf("confirming read: %v", err)
			}
			if confirming.setBytes() != 0 {
				t.Errorf("the confirming read kept a set")
			}
			var later string
			if dup := doubts.Duplicate(); dup != nil {
				later = dup.Event.String()
			}
			if later != tt.later {
				t.Errorf("settled: %q, want %q", later, tt.later)
			}
		})
	}
}

func errText(err error) string {
	var drift *DriftError
	if errors.As(err, &drift) {
		return drift.Event.String()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// A listing whose ids all look alike to the compact set is drift once
// the doubts reach their bound, rather than a list without end.
func TestDoubtsBounded(t *testing.T) {
	ids := make([]string, maxDoubts+20)
	for i := range ids {
		ids[i] = fmt.Sprintf("u%05d", i)
	}
	first := newDriftCheck(Paging{Doubt: NewDoubts()})
	first.hash = colliding(len(ids), ids...)
	err := observeAll(first, pagesOf(ids))
	if got := errText(err); !strings.HasPrefix(got, "duplicate_id: ") || !strings.Contains(got, "10000 ids of this pass may have come twice") {
		t.Fatalf("err %q, want a duplicate_id drift at the bound", got)
	}
}
