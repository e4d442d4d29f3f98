package httpsource

import (
	"context"
	"fmt"
)

// CountPages is the count a provider's Probe makes of one listing: it
// fetches page 0 of pager, a source of the listing asked for in pages as
// small as the API takes, for the total the answer reports, and returns
// it with the pages a read in pages of pageSize fetches, by NumberedPage's
// rule (an empty listing is one page). An answer without a total is an
// error naming the request (provider, method and endpoint) and field,
// where the total should be. It is checked here, not in a Decode: the
// client would retry a well-formed answer, and the answer would not
// change.
func CountPages(ctx context.Context, pager Pager, pageSize int, provider, method, endpoint, field string) (total int64, pages int, err error) {
	page, err := pager.FetchPage(ctx, 0)
	if err != nil {
		return 0, 0, err
	}
	if !page.Total.Valid {
		return 0, 0, fmt.Errorf("%s: the answer has no %s, so the listing cannot be counted", where(provider, 0, method, endpoint), field)
	}
	// The page count a read's page 0 reports, by the same rule.
	return page.Total.V, NumberedPage(nil, &page.Total.V, 0, pageSize).Pages.V, nil
}
