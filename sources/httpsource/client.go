package httpsource

import (
	"context"
	"net/http"
)

// Client sends one job's requests. (Interface fixed; implementation pending.)
type Client struct{ cfg ClientConfig }

// NewClient returns a client for one job.
func NewClient(cfg ClientConfig) *Client { return &Client{cfg: cfg} }

// Request is one HTTP request to a provider. Body is resent on retries.
type Request struct {
	Method string
	URL    string
	Body   []byte
	Header http.Header // Content-Type, Accept and the like; auth is added by the client
	Page   int         // 0-based page index, named in errors
}

// Response is a successful (2xx) answer, read whole: pages are small.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends req with auth, rate limit, per-attempt timeout and retries.
// A final non-2xx answer is returned as a *StatusError.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	panic("not implemented")
}

// Stream fetches every page of p and hands them to emit in page order.
func Stream(ctx context.Context, p Pager, maxInFlight int, emit func(Page) error) error {
	panic("not implemented")
}
