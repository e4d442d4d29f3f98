package simdata

import (
	"fmt"
	"testing"
)

func TestSelectionsKeepTheMostRecentlyUsed(t *testing.T) {
	var c Selections[string]
	computed := map[string]int{}
	get := func(key string, version uint64) string {
		return c.Get(key, version, func() string {
			computed[fmt.Sprint(key, version)]++
			return fmt.Sprint(key, "@", version)
		})
	}
	// Two listings paged in turn, page after page: computed once each.
	for range 10 {
		if got := get("active", 1); got != "active@1" {
			t.Fatalf("got %q", got)
		}
		if got := get("inactive", 1); got != "inactive@1" {
			t.Fatalf("got %q", got)
		}
	}
	if computed["active1"] != 1 || computed["inactive1"] != 1 {
		t.Errorf("computed %v, want each selection once", computed)
	}
	// A new version of the population is another selection.
	if got := get("active", 2); got != "active@2" || computed["active2"] != 1 {
		t.Errorf("got %q, computed %v", got, computed)
	}
	// Beyond keptSelections, the least recently used goes: inactive@1 was
	// used before active@2, so after three more keys it is gone while
	// active@2 (used again) stays.
	get("a", 2)
	get("b", 2)
	get("active", 2)
	get("c", 2)
	get("inactive", 1)
	get("active", 2)
	if computed["inactive1"] != 2 || computed["active2"] != 1 {
		t.Errorf("computed %v: want inactive@1 evicted and recomputed, active@2 kept", computed)
	}
	if len(c.entries) != keptSelections {
		t.Errorf("%d entries kept, want %d", len(c.entries), keptSelections)
	}
}
