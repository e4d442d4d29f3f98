package httpsource

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
)

// Client sends one job's requests. It is safe for concurrent use; all its
// requests share one connection pool and one rate limiter, which it shares
// in turn with the clients of other jobs on the same account when it is
// given their Budget.
type Client struct {
	cfg     ClientConfig
	http    *http.Client
	sent    *atomic.Int64 // requests sent, retries and redirects included
	limited *atomic.Int64 // 429 answers
	retries atomic.Int64  // waits before sending a request again
	budget  *Budget
	log     *slog.Logger
	redact  *strings.Replacer
	authErr error
}

// Stats is what a client has sent so far.
type Stats struct {
	Requests    int64 // HTTP requests sent, retries and redirects included
	Retries     int64 // requests sent again after a failed attempt
	RateLimited int64 // answers with status 429
	// RateLimit is the request rate, per second, that the client's budget
	// allows now (+Inf: no limit): its configured rate, lowered to a
	// stricter one the API advertises or after 429s (see Budget).
	RateLimit float64
}

// Stats returns the requests sent so far.
func (c *Client) Stats() Stats {
	return Stats{
		Requests: c.sent.Load(), Retries: c.retries.Load(), RateLimited: c.limited.Load(),
		RateLimit: c.budget.rateNow(),
	}
}

// NewClient returns a client for one job.
func NewClient(cfg ClientConfig) *Client {
	cfg = cfg.withDefaults()
	budget := cfg.Budget
	if budget == nil {
		budget = NewBudget(cfg.Rate, 0) // the job's own: its pages in flight are its source's to bound
	}
	transport := &attemptTransport{
		base:        cfg.Transport,
		budget:      budget,
		timeout:     cfg.Timeout,
		maxHold:     cfg.Retry.MaxBackoff,
		log:         cfg.Logger.With("job", cfg.Job, "provider", cfg.Provider),
		maxRequests: cfg.MaxRequests,
	}
	return &Client{
		cfg: cfg,
		http: &http.Client{
			Transport:     transport,
			CheckRedirect: sameOriginRedirects,
		},
		sent:    &transport.sent,
		limited: &transport.limited,
		budget:  budget,
		log:     cfg.Logger,
		redact:  cfg.Auth.redactor(),
		authErr: cfg.Auth.check(),
	}
}

func (cfg ClientConfig) withDefaults() ClientConfig {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Retry.MaxAttempts <= 0 {
		cfg.Retry.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Retry.MaxBackoff <= 0 {
		cfg.Retry.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Transport == nil {
		cfg.Transport = cleanhttp.DefaultPooledTransport()
	}
	return cfg
}

// Request is one HTTP request to a provider. Body is resent on retries.
type Request struct {
	Method string
	URL    string
	Body   []byte
	Header http.Header // Content-Type, Accept and the like; auth is added by the client
	Page   int         // 0-based page index, named in errors
	// Decode, when set, reads a 2xx body. An error is a failed attempt,
	// retried like a dropped connection: a body cut short without a
	// Content-Length, or garbled by a proxy, looks like a complete answer
	// to HTTP and is only caught here. body is reused for another answer
	// once Decode succeeds: what it decodes must not refer to it (the
	// JSON and XML decoders copy what they keep).
	Decode func(body []byte) error
}

// Response is a successful (2xx) answer, read whole: pages are small.
// Body is nil when the request's Decode took it.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends req with auth, rate limit, per-attempt timeout and retries.
// A final non-2xx answer is returned as a *StatusError; any other failure,
// an answer Decode rejected on the last attempt included, as a
// *RequestError, which wraps ctx.Err() when ctx ended.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	req.Method = cmp.Or(req.Method, http.MethodGet) // as net/http does; errors name it
	call := &call{client: c, ctx: ctx, req: req, url: c.displayURL(req.URL)}
	if c.authErr != nil {
		return nil, call.fail(c.authErr)
	}
	hreq, err := c.newRequest(ctx, req)
	if err != nil {
		return nil, call.fail(err)
	}
	for {
		resp, err := call.retrier().Do(hreq)
		if err != nil {
			if ctx.Err() != nil {
				return nil, call.fail(ctx.Err())
			}
			return nil, call.fail(unwrapURLError(err))
		}
		// The transport has read the body into memory already.
		body, err := bodyBytes(resp.Body)
		if err != nil {
			return nil, call.fail(err)
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, call.statusError(resp.StatusCode, body)
		}
		if req.Decode == nil {
			return call.answered(resp, body), nil
		}
		// A page its read's memo holds decodes as it did (see PageMemo).
		var decodeErr error
		if !recalled(ctx, body) {
			decodeErr = req.Decode(body)
		}
		if decodeErr == nil {
			decoded(ctx, body)
			answer := call.answered(resp, nil)
			resp.Body.Close() // the buffer goes to the next answer
			return answer, nil
		}
		if err := call.retryMalformed(decodeErr); err != nil {
			return nil, call.fail(err)
		}
	}
}

// answered logs a request's success at debug level, for tracing a run.
func (c *call) answered(resp *http.Response, body []byte) *Response {
	cfg := c.client.cfg
	c.client.log.DebugContext(c.ctx, "request answered",
		"job", cfg.Job, "provider", cfg.Provider, "page", c.req.Page, "method", c.req.Method, "url", c.url,
		"status", resp.StatusCode, "attempts", c.attempts, "bytes", resp.ContentLength)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// retryMalformed waits before sending again a request whose answer Decode
// rejected, or returns the error to give up with once no attempt is left.
func (c *call) retryMalformed(decodeErr error) error {
	err := fmt.Errorf("malformed answer: %w", decodeErr)
	if c.attempts >= c.client.cfg.Retry.MaxAttempts {
		return err
	}
	c.lastErr = err
	r := c.client.cfg.Retry
	wait := c.backoff(min(baseBackoff, r.MaxBackoff), r.MaxBackoff, c.attempts-1, nil)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
}

// newRequest builds the request retryablehttp sends: it replays the byte
// slice body on every attempt.
func (c *Client) newRequest(ctx context.Context, req Request) (*retryablehttp.Request, error) {
	var body any // a nil []byte in an interface would still count as a body
	if len(req.Body) > 0 {
		body = req.Body
	}
	hreq, err := retryablehttp.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, err
	}
	if req.Header != nil {
		hreq.Header = req.Header.Clone()
	}
	c.cfg.Auth.apply(hreq.Header)
	hreq.Header.Set("User-Agent", c.cfg.UserAgent)
	return hreq, nil
}

// displayURL is raw with any password in it hidden, for errors and logs.
func (c *Client) displayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return c.redact.Replace(raw)
	}
	return c.redact.Replace(u.Redacted())
}

func (c *call) fail(err error) error {
	cfg := c.client.cfg
	return &RequestError{
		Job: cfg.Job, Provider: cfg.Provider, Page: c.req.Page,
		Method: c.req.Method, URL: c.url, Attempts: c.attempts, Err: err,
	}
}

// statusError keeps an excerpt of the body, since APIs explain a refusal
// there; secrets are removed from the whole body first, so that the cut
// cannot leave part of one behind.
func (c *call) statusError(status int, body []byte) error {
	cfg := c.client.cfg
	return &StatusError{
		Job: cfg.Job, Provider: cfg.Provider, Page: c.req.Page,
		Method: c.req.Method, URL: c.url, Status: status,
		Message:  excerpt(c.client.redact.Replace(string(body))),
		Attempts: c.attempts,
	}
}

// unwrapURLError drops net/http's *url.Error layer: errors here name the
// method and URL already.
func unwrapURLError(err error) error {
	if uerr, ok := errors.AsType[*url.Error](err); ok {
		return uerr.Err
	}
	return err
}
