package simulator

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/saas-export/export/sources/httpsource"
)

// RateTolerance is how early, against even spacing at Options.RateLimit, a
// request may arrive and still be served. A client that spaces its
// requests at exactly the rate sees them arrive unevenly: a timer that
// fires late, a goroutine scheduled late on a loaded machine, a connection
// being set up. So each credential's token bucket refills at N per Per and
// holds 1 + N×RateTolerance/Per tokens (rounded up): at 40/1s, 11. A client
// above the rate is refused once that slack is spent (at twice the rate,
// after about 2×RateTolerance).
const RateTolerance = 250 * time.Millisecond

// RateLimitHeaders is how the simulator's rate limit advertises itself,
// on every answer to a credential under Options.RateLimit.
type RateLimitHeaders int

// The header styles the simulator can send.
const (
	// NoRateLimitHeaders: only a 429's Retry-After tells of the limit.
	NoRateLimitHeaders RateLimitHeaders = iota
	// IETFRateLimitHeaders: the IETF draft's (draft-ietf-httpapi-ratelimit-headers)
	// RateLimit-Policy: "default";q=N;w=SECONDS, the limit over whole
	// seconds, and RateLimit: "default";r=REMAINING;t=SECONDS, the whole
	// requests left in the credential's bucket and the seconds until it
	// is full, rounded up.
	IETFRateLimitHeaders
	// XRateLimitHeaders: X-RateLimit-Limit: N (no window, as most APIs
	// send it), X-RateLimit-Remaining and X-RateLimit-Reset as a Unix
	// time in seconds, rounded up, as GitHub's API sends them.
	XRateLimitHeaders
)

// accounts counts one provider's requests by credential, and limits each
// credential's rate when a limit is set: providers budget per token.
type accounts struct {
	limit   httpsource.Rate // unlimited when N or Per is not positive
	headers RateLimitHeaders

	mu    sync.Mutex
	byKey map[string]*account
}

type account struct {
	id              string        // the credential's fingerprint, never the credential
	bucket          *rate.Limiter // nil without a limit
	served, limited uint64
	first, last     time.Time
}

// AccountStats counts the requests one credential sent to one provider.
type AccountStats struct {
	Provider string
	// Credential is the first 16 hex digits of the SHA-256 of the
	// credential (see Options.RateLimit), never the credential itself.
	Credential string
	Served     uint64 // let through to the API, faults included
	Limited    uint64 // refused with 429 by Options.RateLimit
	// First and Last are when the first and the last request arrived,
	// served or refused.
	First, Last time.Time
}

// credential is what the simulator takes a request's account to be: its
// Authorization header and Kare's session token.
func credential(r *http.Request) string {
	return r.Header.Get("Authorization") + "\n" + r.Header.Get("X-Session-Token")
}

// admit counts r for its credential and reports whether the credential's
// bucket lets it through; when not, retryAfter is when it would. It sets
// the rate-limit headers of the answer on h.
func (a *accounts) admit(h http.Header, r *http.Request) (ok bool, retryAfter time.Duration) {
	key := credential(r)
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	acc := a.byKey[key]
	if acc == nil {
		sum := sha256.Sum256([]byte(key))
		acc = &account{id: hex.EncodeToString(sum[:8]), first: now}
		if a.limit.N > 0 && a.limit.Per > 0 {
			perSecond := float64(a.limit.N) / a.limit.Per.Seconds()
			burst := 1 + int(math.Ceil(perSecond*RateTolerance.Seconds()))
			acc.bucket = rate.NewLimiter(rate.Limit(perSecond), burst)
		}
		a.byKey[key] = acc
	}
	acc.last = now
	if acc.bucket == nil {
		acc.served++
		return true, 0
	}
	ok = acc.bucket.AllowN(now, 1)
	a.advertise(h, acc.bucket, now)
	if ok {
		acc.served++
		return true, 0
	}
	acc.limited++
	missing := 1 - acc.bucket.TokensAt(now)
	return false, time.Duration(missing / float64(acc.bucket.Limit()) * float64(time.Second))
}

// advertise sets the rate-limit headers of a.headers on h, for a bucket
// as it is at now.
func (a *accounts) advertise(h http.Header, bucket *rate.Limiter, now time.Time) {
	tokens := max(bucket.TokensAt(now), 0)
	remaining := int(tokens)
	untilFull := (float64(bucket.Burst()) - tokens) / float64(bucket.Limit())
	switch a.headers {
	case IETFRateLimitHeaders:
		// The window in whole seconds, the quota scaled to it: 40/1s is
		// q=40;w=1, 100/1m q=100;w=60.
		w := max(math.Round(a.limit.Per.Seconds()), 1)
		q := int(float64(a.limit.N) * w / a.limit.Per.Seconds())
		h.Set("RateLimit-Policy", fmt.Sprintf(`"default";q=%d;w=%d`, q, int(w)))
		h.Set("RateLimit", fmt.Sprintf(`"default";r=%d;t=%d`, remaining, int(math.Ceil(untilFull))))
	case XRateLimitHeaders:
		h.Set("X-RateLimit-Limit", strconv.Itoa(a.limit.N))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		reset := now.Add(time.Duration(untilFull * float64(time.Second)))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(reset.UnixNano())/1e9)), 10))
	}
}

// stats lists the provider's accounts by fingerprint.
func (a *accounts) stats(provider string) []AccountStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]AccountStats, 0, len(a.byKey))
	for _, acc := range a.byKey {
		out = append(out, AccountStats{
			Provider: provider, Credential: acc.id, Served: acc.served, Limited: acc.limited,
			First: acc.first, Last: acc.last,
		})
	}
	slices.SortFunc(out, func(x, y AccountStats) int { return cmp.Compare(x.Credential, y.Credential) })
	return out
}

// writeLimited answers a request over the rate limit: 429, Retry-After in
// whole seconds rounded up (so a client that honours it is served), and
// the error body the provider's simulator writes for its other refusals.
func (p *provider) writeLimited(w http.ResponseWriter, r *http.Request, retryAfter time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
	p.refuse(w, r, http.StatusTooManyRequests, "rate limit exceeded: "+p.accounts.limit.String()+" per token")
}
