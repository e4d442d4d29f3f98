package httpsource

import (
	"context"

	"github.com/saas-export/export/schema"
)

// Sequence streams several listings of one provider one after the other,
// as one listing: for an API that hides some users unless asked (McTime's
// inactive users, Kare's deleted ones), a job exports each listing in turn.
// Page totals are running sums: a page of the second listing reports the
// first listing's total plus its own, so the last page carries the whole
// export's total. If a listing reports no total, no later page does.
//
// Every page is checked for drift before it is emitted (see DriftEvent):
// its total and page count against its listing's page 0, its length, and
// its ids against every id of the pass. Once the last listing is read,
// page 0 of each earlier one is fetched again, since users that change
// there meanwhile leave no other trace. The first drift ends the pass
// with a *DriftError; nothing emitted before it should be kept.
func Sequence(ctx context.Context, listings []Pager, maxInFlight int, emit func(Page) error) error {
	check := newDriftCheck()
	var done int64 // records the finished listings reported
	known := true
	for i, l := range listings {
		check.startListing(i)
		var last schema.Null[int64]
		err := stream(ctx, l, max(maxInFlight, 1), maxPages, func(p Page) error {
			if err := check.observe(p); err != nil {
				return err
			}
			last = p.Total
			if known && p.Total.Valid {
				p.Total = schema.Some(done + p.Total.V)
			} else {
				p.Total = schema.Null[int64]{}
			}
			return emit(p)
		})
		if err != nil {
			return err
		}
		known = known && last.Valid
		done += last.V
	}
	for i := 0; i < len(listings)-1; i++ {
		first, err := listings[i].FetchPage(ctx, 0)
		if err != nil {
			return err
		}
		if err := check.recheck(i, first); err != nil {
			return err
		}
	}
	return nil
}
