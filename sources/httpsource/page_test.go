package httpsource

import (
	"testing"

	"github.com/saas-export/export/schema"
)

func TestNumberedPage(t *testing.T) {
	total := func(n int64) *int64 { return &n }
	users := make([]schema.User, 3)
	tests := []struct {
		name        string
		users       []schema.User
		total       *int64
		index, size int
		wantTotal   schema.Null[int64]
		wantPages   schema.Null[int]
		wantLast    bool
	}{
		{"empty listing is one page", nil, total(0), 0, 250, schema.Some(int64(0)), schema.Some(1), true},
		{"first of five", users, total(1234), 0, 250, schema.Some(int64(1234)), schema.Some(5), false},
		{"last of five", users, total(1234), 4, 250, schema.Some(int64(1234)), schema.Some(5), true},
		{"exact multiple", users, total(1250), 4, 250, schema.Some(int64(1250)), schema.Some(5), true},
		{"past the end", nil, total(10), 3, 5, schema.Some(int64(10)), schema.Some(2), true},
		{"no total, short page", users, nil, 7, 4, schema.Null[int64]{}, schema.Null[int]{}, true},
		{"no total, full page", users, nil, 7, 3, schema.Null[int64]{}, schema.Null[int]{}, false},
	}
	for _, tt := range tests {
		p := NumberedPage(tt.users, tt.total, tt.index, tt.size)
		if p.Total != tt.wantTotal || p.Pages != tt.wantPages || p.Last != tt.wantLast || len(p.Users) != len(tt.users) {
			t.Errorf("%s: total %v pages %v last %v (%d users), want %v %v %v",
				tt.name, p.Total, p.Pages, p.Last, len(p.Users), tt.wantTotal, tt.wantPages, tt.wantLast)
		}
	}
}
