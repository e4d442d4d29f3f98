package httpsource

import (
	"context"
	"errors"
	"testing"

	"github.com/saas-export/export/schema"
)

func TestCountPages(t *testing.T) {
	refused := errors.New("refused")
	for _, tt := range []struct {
		name    string
		page    Page
		err     error
		size    int
		total   int64
		pages   int
		wantErr string // "": none
	}{
		{"five pages", Page{Total: schema.Some(int64(1234)), Pages: schema.Some(1234)}, nil, 250, 1234, 5, ""},
		{"an exact multiple", Page{Total: schema.Some(int64(1250))}, nil, 250, 1250, 5, ""},
		{"an empty listing is one page", Page{Total: schema.Some(int64(0))}, nil, 100, 0, 1, ""},
		{"no total", Page{Pages: schema.Some(3)}, nil, 100, 0, 0,
			"p page 0: GET /users: the answer has no data.total, so the listing cannot be counted"},
		{"the page's own error", Page{}, refused, 100, 0, 0, "refused"},
	} {
		var asked []int
		pager := pagerFunc(func(_ context.Context, index int) (Page, error) {
			asked = append(asked, index)
			return tt.page, tt.err
		})
		total, pages, err := CountPages(context.Background(), pager, tt.size, "p", "GET", "/users", "data.total")
		if total != tt.total || pages != tt.pages || len(asked) != 1 || asked[0] != 0 {
			t.Errorf("%s: total %d, %d pages (asked for pages %v), want %d, %d (page 0)", tt.name, total, pages, asked, tt.total, tt.pages)
		}
		if (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) || (tt.err != nil && err != tt.err) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}
