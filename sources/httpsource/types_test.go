package httpsource

import (
	"testing"
	"time"
)

func TestRateStringReadsLikeJobsYAML(t *testing.T) {
	for _, tc := range []struct {
		rate Rate
		want string
	}{
		{Rate{N: 100, Per: time.Minute}, "100/1m"},
		{Rate{N: 600, Per: 5 * time.Minute}, "600/5m"},
		{Rate{N: 10, Per: time.Second}, "10/1s"},
		{Rate{N: 1, Per: time.Hour}, "1/1h"},
		{Rate{N: 3, Per: 90 * time.Second}, "3/1m30s"},
		{Rate{N: 5, Per: 1500 * time.Millisecond}, "5/1.5s"},
		{Rate{}, "unlimited"},
	} {
		if got := tc.rate.String(); got != tc.want {
			t.Errorf("%#v: got %q, want %q", tc.rate, got, tc.want)
		}
	}
}
