package httpsource

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// baseBackoff is the first retry's wait and the floor of every wait
// (unless MaxBackoff is lower). The floor is what keeps `Retry-After: 0`,
// or a date in the past, from turning into a hot loop against a server
// that is already overloaded.
const baseBackoff = 500 * time.Millisecond

// call is one Do in progress: what the retry hooks need to decide, log and
// report. retryablehttp's hooks receive no per-request state, so each Do
// builds its own retryablehttp.Client around the shared http.Client.
type call struct {
	client   *Client
	ctx      context.Context
	req      Request
	url      string // redacted, for logs
	attempts int
	lastErr  error
}

// retrier sends the request with the attempts this call has left: a
// malformed answer spends one too (see Client.Do).
func (c *call) retrier() *retryablehttp.Client {
	r := c.client.cfg.Retry
	return &retryablehttp.Client{
		HTTPClient:   c.client.http,
		RetryWaitMin: min(baseBackoff, r.MaxBackoff),
		RetryWaitMax: r.MaxBackoff,
		RetryMax:     r.MaxAttempts - c.attempts - 1,
		CheckRetry:   c.checkRetry,
		Backoff:      c.backoff,
		// Hand back the last answer or error as it is: Do builds the
		// error the user sees.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
}

// checkRetry runs after every attempt. It retries connection errors,
// timeouts, 429 and 5xx but 501 (retryablehttp's default policy, which also
// gives up at once when ctx is done), and never a permanentError.
func (c *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	c.attempts++
	c.lastErr = err
	if _, ok := errors.AsType[*permanentError](err); ok {
		return false, nil
	}
	if budget := c.client.cfg.MaxRequests; budget > 0 && c.client.sent.Load() >= budget {
		return false, nil // the last answer stands: no request is left to retry with
	}
	return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
}

// backoff runs once before each retry, so it is also where retries are
// logged.
func (c *call) backoff(floor, ceiling time.Duration, retry int, resp *http.Response) time.Duration {
	c.client.retries.Add(1)
	wait := retryWait(floor, ceiling, retry, resp, time.Now())
	attrs := []any{
		"job", c.client.cfg.Job, "provider", c.client.cfg.Provider, "page", c.req.Page,
		"method", c.req.Method, "url", c.url,
		"attempt", c.attempts, "max_attempts", c.client.cfg.Retry.MaxAttempts, "wait", wait,
	}
	if resp != nil {
		attrs = append(attrs, "status", resp.StatusCode)
	} else if c.lastErr != nil {
		attrs = append(attrs, "err", unwrapURLError(c.lastErr).Error())
	}
	c.client.log.WarnContext(c.ctx, "retrying request", attrs...)
	return wait
}

// retryWait is the wait before retry number n (0-based): the server's
// Retry-After on 429 and 503, else exponential backoff with jitter. It is
// always within [floor, ceiling].
func retryWait(floor, ceiling time.Duration, n int, resp *http.Response, now time.Time) time.Duration {
	if d, ok := retryAfter(resp, now); ok {
		return min(max(d, floor), ceiling)
	}
	return jitteredBackoff(floor, ceiling, n)
}

// jitteredBackoff draws from [hi/2, hi] with hi = floor·2^(n+1) capped at
// ceiling: the expected wait doubles with every retry, and clients that
// failed together do not all come back at the same instant.
func jitteredBackoff(floor, ceiling time.Duration, n int) time.Duration {
	hi := floor
	for i := 0; i <= n && hi < ceiling; i++ {
		hi *= 2
	}
	hi = min(hi, ceiling)
	lo := max(hi/2, floor)
	return lo + rand.N(hi-lo+1)
}

// retryAfter reads Retry-After, in delta seconds or as an HTTP date, from a
// 429 or 503 answer. A date in the past is a wait of zero.
func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0, false
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(math.MaxInt64/time.Second) {
			return math.MaxInt64, true
		}
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}
