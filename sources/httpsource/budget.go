package httpsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Budget is the request budget of one account at a provider, which the
// clients of every job on that account share: providers count requests
// per token, not per job. It spaces the requests evenly at its rate and,
// optionally, bounds the requests in flight across those clients.
//
// Its rate adapts to what the API says (see observe): it never exceeds
// the configured rate, nor a stricter rate the API advertises; a 429
// lowers it and it recovers gradually (AIMD); a Retry-After, or a quota
// the API says is exhausted, holds every request on the account until
// then.
type Budget struct {
	configured float64             // requests per second; +Inf: no limit
	inFlight   *semaphore.Weighted // nil: no bound but each job's own max_in_flight

	mu         sync.Mutex
	advertised float64   // the strictest policy rate of the last answer that stated one; +Inf: none
	next       time.Time // the earliest the next request may go
	holdUntil  time.Time // no request goes before it
	sent       [measureOver]time.Time
	nSent      int // requests sent in all; the last measureOver of them are in sent, a ring
	// The last decrease: when, and the rate that was refused then; and
	// the highest rate ever refused.
	cut           time.Time // zero: the rate was never lowered
	refused, peak float64
	// answered says a request sent since the last decrease got an answer
	// other than a refusal: the rate since then has been tried.
	answered bool
}

// The AIMD constants.
const (
	// decrease is what a 429 multiplies the rate by: TCP's halving, so
	// that a rate that was twice the API's is right after one refusal.
	decrease = 0.5
	// mark is how far below a refused rate the rate first recovers to: a
	// rate that was refused is above the API's, and a quick recovery up
	// to it would only be refused again. 10 % under it leaves the ≥ 90 %
	// of the budget issue 11 asks for, and room for the uneven arrival of
	// evenly spaced requests.
	mark = 0.9
	// recovery is how long the rate takes to climb back from the
	// decrease to the mark, linearly: long against a round trip, so that
	// each step is tried before the next, short against a run.
	recovery = 10 * time.Second
	// forget is how long a refusal is remembered: from the mark the rate
	// climbs on, slowly, to the ceiling it had before, and is back there
	// this long after the 429. Longer than the windows APIs count over (a
	// minute to five: Nameshield's 600 per 5 minutes), so that a refused
	// rate is not tried again within a window; short enough that a 429
	// that was a fluke costs minutes, not the rest of a long run.
	forget = 5 * time.Minute
	// floorDivisor bounds a run of decreases: the rate stays above 1/16
	// of the ceiling (four halvings). A job's rate_limit is taken as right
	// to within that; an API further below it is still waited out by its
	// Retry-After holds, and a gateway that answers 429 at random cannot
	// slow a job to a crawl.
	floorDivisor = 16
	// measureOver is how many of the last requests measure the rate the
	// budget was sending at when refused, which is lower than its rate
	// when a job is bound by latency rather than the rate.
	measureOver = 16
)

// NewBudget returns a budget of r with at most maxInFlight requests at
// once; maxInFlight <= 0 sets no such bound. Its requests are spaced
// evenly, one every Per/N: a token bucket admits burst+N requests in any
// window of length Per, and providers count their budget per window, so
// with a burst of N a client could send twice the documented budget in
// the first minute and collect 429s.
func NewBudget(r Rate, maxInFlight int) *Budget {
	b := &Budget{configured: math.Inf(1), advertised: math.Inf(1)}
	if r.N > 0 && r.Per > 0 {
		b.configured = float64(r.N) / r.Per.Seconds()
	}
	if maxInFlight > 0 {
		b.inFlight = semaphore.NewWeighted(int64(maxInFlight))
	}
	return b
}

// acquire waits for a place in flight, then for the request's turn, and
// returns when the request goes and the function that gives the place
// back. In that order: a turn taken before waiting for a place would be
// spent late, together with the next one, and the provider would see two
// requests closer than its rate.
func (b *Budget) acquire(ctx context.Context) (sentAt time.Time, release func(), err error) {
	release = func() {}
	if b.inFlight != nil {
		if err := b.inFlight.Acquire(ctx, 1); err != nil {
			return time.Time{}, nil, fmt.Errorf("waiting for a request in flight to end: %w", err)
		}
		release = func() { b.inFlight.Release(1) }
	}
	for {
		at := b.reserve(time.Now())
		if err := sleepUntil(ctx, at); err != nil {
			release()
			return time.Time{}, nil, fmt.Errorf("waiting for the rate limit: %w", err)
		}
		// A hold that an answer set while this request waited for its
		// turn applies to it too: it waits again, after the hold.
		if now := time.Now(); b.take(now) {
			return now, release, nil
		}
	}
}

func sleepUntil(ctx context.Context, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reserve returns when the next request may go, at or after now, and
// takes that turn: the one after it is an interval of the rate later.
func (b *Budget) reserve(now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	at := now
	if b.next.After(at) {
		at = b.next
	}
	if b.holdUntil.After(at) {
		at = b.holdUntil
	}
	if r := b.rateAt(at); !math.IsInf(r, 1) {
		b.next = at.Add(time.Duration(float64(time.Second) / r))
	}
	return at
}

// take records a request going at now, unless a hold has begun since its
// turn was reserved.
func (b *Budget) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.holdUntil.After(now) {
		return false
	}
	b.sent[b.nSent%measureOver] = now
	b.nSent++
	return true
}

// rateAt is the budget's rate at now, in requests per second (+Inf: no
// limit). Its ceiling is the configured or advertised rate, whichever is
// lower. After a decrease from a refused rate R it is, linearly in time:
// from R×decrease to R×mark over recovery, then on to the ceiling (or to
// R, without one) until forget, and the ceiling again from then on;
// never below the floor nor above the ceiling.
func (b *Budget) rateAt(now time.Time) float64 {
	ceiling := min(b.configured, b.advertised)
	dt := now.Sub(b.cut)
	if b.cut.IsZero() || dt >= forget {
		return ceiling
	}
	// Without a ceiling, the highest rate refused stands in for it.
	ref, top := ceiling, ceiling
	if math.IsInf(ceiling, 1) {
		ref, top = b.peak, b.refused
	}
	low := max(b.refused*decrease, ref/floorDivisor)
	high := max(b.refused*mark, low)
	top = max(top, high)
	var r float64
	if dt < recovery {
		r = low + (high-low)*max(dt.Seconds(), 0)/recovery.Seconds()
	} else {
		r = high + (top-high)*(dt-recovery).Seconds()/(forget-recovery).Seconds()
	}
	return min(r, ceiling)
}

// sending is the rate of the last requests sent, per second: the
// intervals between the oldest and the newest of them; +Inf with fewer
// than two apart.
func (b *Budget) sending() float64 {
	n := min(b.nSent, measureOver)
	if n < 2 {
		return math.Inf(1)
	}
	newest, oldest := b.sent[(b.nSent-1)%measureOver], b.sent[(b.nSent-n)%measureOver]
	span := newest.Sub(oldest).Seconds()
	if span <= 0 {
		return math.Inf(1)
	}
	return float64(n-1) / span
}

// adaptation is what an answer changed in the budget, to log.
type adaptation struct {
	hold    time.Duration // from now; 0: none begun
	lowered bool
	rate    float64 // per second, when lowered
}

// observe adapts the budget to an answer at now to a request sent at
// sentAt, from a job whose longest wait is maxHold:
//
//   - a rate the API advertises (see readRateLimitHeaders) caps the rate
//     until an answer advertises another;
//   - a Retry-After on a 429 or 503, or a quota the headers say is
//     exhausted, holds every request on the budget until then, for at
//     most maxHold (the job's max_backoff, which caps a retry's wait
//     too): a longer hold is more likely a misread header than a
//     window, and the answers after it say so again;
//   - a 429, a 503 with Retry-After, or an exhausted quota multiplies the
//     rate by decrease (see rateAt for its recovery), from the lower of
//     the rate and the rate the budget was sending at. Once per rate
//     tried: not for an answer to a request sent before the last
//     decrease (it went at the old rate), nor before an answer at the
//     new rate got through (the API is still refusing, which the hold
//     waits out, rather than refusing the new rate).
func (b *Budget) observe(now, sentAt time.Time, resp *http.Response, maxHold time.Duration) adaptation {
	adv := readRateLimitHeaders(resp.Header, now)
	// An exhausted quota says the rate spent it before it reset, as a 429
	// does, without the refusal.
	wait, refused := adv.exhausted, resp.StatusCode == http.StatusTooManyRequests || adv.exhausted > 0
	if d, ok := retryAfter(resp, now); ok {
		wait, refused = max(wait, d), true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var a adaptation
	if adv.perSecond > 0 {
		b.advertised = adv.perSecond
	}
	if until := now.Add(min(wait, maxHold)); until.After(b.holdUntil) && until.After(now) {
		if !b.holdUntil.After(now) {
			a.hold = until.Sub(now)
		}
		b.holdUntil = until
	}
	switch {
	case sentAt.Before(b.cut):
	case !refused:
		b.answered = true
	case b.answered:
		if r := min(b.rateAt(now), b.sending()); !math.IsInf(r, 1) {
			b.cut, b.refused, b.peak, b.answered = now, r, max(b.peak, r), false
			a.lowered, a.rate = true, b.rateAt(now)
		}
	}
	return a
}

// rateNow is the budget's rate now, per second; +Inf: no limit.
func (b *Budget) rateNow() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rateAt(time.Now())
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
