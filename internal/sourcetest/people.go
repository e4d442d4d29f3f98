package sourcetest

import (
	"slices"
	"time"

	"github.com/saas-export/export/sources/simdata"
)

// UpdateQuantile is the update time before which a fraction q of people
// were last updated (0.5: the median): a window from it holds about the
// other 1-q.
func UpdateQuantile(people []simdata.Person, q float64) time.Time {
	times := make([]time.Time, len(people))
	for i, p := range people {
		times[i] = p.UpdatedAt
	}
	slices.SortFunc(times, time.Time.Compare)
	return times[int(float64(len(times))*q)]
}

// UpdatedBetween returns the ids (as id gives them) of people, deleted or
// not, updated at or after from and at or before until (zero: no bound),
// sorted.
func UpdatedBetween(people []simdata.Person, from, until time.Time, id func(simdata.Person) string) []string {
	var out []string
	for _, p := range people {
		if !p.UpdatedAt.Before(from) && (until.IsZero() || !p.UpdatedAt.After(until)) {
			out = append(out, id(p))
		}
	}
	slices.Sort(out)
	return out
}
