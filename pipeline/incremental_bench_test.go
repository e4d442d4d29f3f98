package pipeline

import (
	"strconv"
	"testing"
	"time"

	"github.com/saas-export/export/schema"
)

// BenchmarkWindowKeep is the incremental filter's cost per user on a
// re-read listing: the whole window in the last state's boundary.
func BenchmarkWindowKeep(b *testing.B) {
	const n = 100_000
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	page := make([]schema.User, n)
	st := &JobState{Cursor: new(base.Add(n * time.Millisecond))}
	for i := range page {
		page[i] = schema.User{ID: strconv.Itoa(i), UpdatedAt: schema.Some(base.Add(time.Duration(i) * time.Millisecond))}
		st.Boundary = append(st.Boundary, BoundaryUser{ID: page[i].ID, UpdatedAt: page[i].UpdatedAt.V})
	}
	users := make([]schema.User, n)
	b.ReportAllocs()
	for b.Loop() {
		w := newWindow(st, 5*time.Minute, base.Add(time.Hour))
		copy(users, page)
		if kept := w.keep(users); len(kept) != 0 {
			b.Fatalf("kept %d of an unchanged window", len(kept))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/user")
}
