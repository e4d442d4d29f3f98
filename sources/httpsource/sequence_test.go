package httpsource

import (
	"context"
	"fmt"
	"testing"

	"github.com/saas-export/export/schema"
)

// listing serves n users in pages of size, reporting its total or not.
type listing struct {
	prefix    string
	n, size   int
	withTotal bool
}

func (l listing) FetchPage(_ context.Context, i int) (Page, error) {
	var users []schema.User
	for j := i * l.size; j < min(l.n, (i+1)*l.size); j++ {
		users = append(users, schema.User{ID: fmt.Sprintf("%s%d", l.prefix, j)})
	}
	var total *int64
	if l.withTotal {
		t := int64(l.n)
		total = &t
	}
	return NumberedPage(users, total, i, l.size), nil
}

func TestSequenceRunsListingsInTurnWithRunningTotals(t *testing.T) {
	for _, tc := range []struct {
		name       string
		listings   []Pager
		wantTotals []string
	}{
		{"both report", []Pager{listing{"a", 5, 2, true}, listing{"i", 3, 2, true}},
			[]string{"5", "5", "5", "8", "8"}},
		{"second reports none", []Pager{listing{"a", 3, 2, true}, listing{"i", 1, 2, false}},
			[]string{"3", "3", "-"}},
		{"first reports none", []Pager{listing{"a", 1, 2, false}, listing{"i", 3, 2, true}},
			[]string{"-", "-", "-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ids, totals []string
			err := Sequence(t.Context(), tc.listings, 2, func(p Page) error {
				for _, u := range p.Users {
					ids = append(ids, u.ID)
				}
				tot := "-"
				if p.Total.Valid {
					tot = fmt.Sprint(p.Total.V)
				}
				totals = append(totals, tot)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(totals) != fmt.Sprint(tc.wantTotals) {
				t.Errorf("totals %v, want %v", totals, tc.wantTotals)
			}
			if ids[0][0] != 'a' || ids[len(ids)-1][0] != 'i' {
				t.Errorf("listings out of order: %v", ids)
			}
		})
	}
}
