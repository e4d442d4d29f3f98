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
func Sequence(ctx context.Context, listings []Pager, maxInFlight int, emit func(Page) error) error {
	var done int64 // records the finished listings reported
	known := true
	for _, l := range listings {
		var last schema.Null[int64]
		err := Stream(ctx, l, maxInFlight, func(p Page) error {
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
	return nil
}
