package sourcetest

import (
	"context"
	"testing"

	"github.com/saas-export/export/sources/httpsource"
)

// Probe runs probe, a provider's Probe, for job on client, and returns
// its estimate and the requests it sent, which rec answered (what rec
// kept before is dropped). An error, or other than want requests, fails
// the test.
func Probe(t testing.TB, probe func(context.Context, httpsource.Job, *httpsource.Client) (httpsource.Estimate, error),
	job httpsource.Job, client *httpsource.Client, rec *Recorder, want int,
) (httpsource.Estimate, []Recorded) {
	t.Helper()
	rec.Take()
	est, err := probe(context.Background(), job, client)
	if err != nil {
		t.Fatal(err)
	}
	probes := rec.Take()
	if n := client.Stats().Requests; n != int64(want) || len(probes) != want {
		t.Fatalf("the probe sent %d requests (%d answered), want %d", n, len(probes), want)
	}
	return est, probes
}

// CheckEstimate checks est, a probe's estimate, against a read of the job
// with no faults, which client made and which returned pages: it must
// predict the read's requests and pages exactly, and the total its last
// page reported (none, for an API that counts no users), which must be
// the users it returned.
func CheckEstimate(t testing.TB, est httpsource.Estimate, pages []httpsource.Page, client *httpsource.Client) {
	t.Helper()
	if got := client.Stats().Requests; int64(est.Requests) != got || est.Pages != len(pages) || est.AtMost {
		t.Errorf("estimate %+v; the fetch sent %d requests for %d pages", est, got, len(pages))
	}
	users := len(Users(pages))
	if last := pages[len(pages)-1].Total; est.Total != last || (last.Valid && last.V != int64(users)) {
		t.Errorf("estimate total %v; the fetch returned %d users, reported %v", est.Total, users, last)
	}
}
