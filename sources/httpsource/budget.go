package httpsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// Budget is the request budget of one account at a provider, which the
// clients of every job on that account share: providers count requests
// per token, not per job. It is one rate limiter and, optionally, one
// bound on the requests in flight across those clients.
type Budget struct {
	limiter  *rate.Limiter
	inFlight *semaphore.Weighted // nil: no bound but each job's own max_in_flight
}

// NewBudget returns a budget of r (spaced evenly, see newLimiter) with at
// most maxInFlight requests at once; maxInFlight <= 0 sets no such bound.
func NewBudget(r Rate, maxInFlight int) *Budget {
	b := &Budget{limiter: newLimiter(r)}
	if maxInFlight > 0 {
		b.inFlight = semaphore.NewWeighted(int64(maxInFlight))
	}
	return b
}

// acquire waits for a place in flight, then for a token, and returns the
// function that gives the place back. In that order: a token taken before
// waiting for a place would be spent late, together with the next one,
// and the provider would see two requests closer than its rate.
func (b *Budget) acquire(ctx context.Context) (release func(), err error) {
	release = func() {}
	if b.inFlight != nil {
		if err := b.inFlight.Acquire(ctx, 1); err != nil {
			return nil, fmt.Errorf("waiting for a request in flight to end: %w", err)
		}
		release = func() { b.inFlight.Release(1) }
	}
	if err := b.limiter.Wait(ctx); err != nil {
		release()
		return nil, fmt.Errorf("waiting for the rate limit: %w", err)
	}
	return release, nil
}

// Fingerprint is the hex SHA-256 of the credential headers this auth
// sends, names canonical and sorted: it tells accounts apart without
// holding a secret. It is taken over what goes on the wire rather than
// the config's fields, since the provider counts by what it receives:
// two jobs that send the same headers are one account to it.
func (a Auth) Fingerprint() string {
	h := http.Header{}
	a.apply(h)
	sum := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(h)) {
		value := strings.Join(h[name], "\n")
		// Lengths first, so that no two header sets write the same bytes.
		fmt.Fprintf(sum, "%d:%s%d:%s", len(name), name, len(value), value)
	}
	return hex.EncodeToString(sum.Sum(nil))
}
