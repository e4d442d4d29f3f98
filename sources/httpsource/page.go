package httpsource

import "github.com/saas-export/export/schema"

// NumberedPage is page index (0-based) of a listing paged by size records,
// for an API that says how many records the whole listing holds: total,
// or nil when the response leaves it out. With a total the page knows
// the page count (at least 1, so that an empty listing is one empty
// page) and is last when index is the final page or past it; without
// one, a page shorter than size is the only end marker.
func NumberedPage(users []schema.User, total *int64, index, size int) Page {
	page := Page{Users: users}
	if total == nil {
		page.Last = len(users) < size
		return page
	}
	pages := max(1, int((*total+int64(size)-1)/int64(size)))
	page.Total = schema.Some(*total)
	page.Pages = schema.Some(pages)
	page.Last = index+1 >= pages
	return page
}
