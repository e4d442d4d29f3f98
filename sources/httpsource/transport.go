package httpsource

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// maxBodyBytes bounds one response held in memory: pages are small, and a
// server that streams without end must not exhaust memory.
const maxBodyBytes = 64 << 20

// maxRedirects matches net/http's default, and its message, which
// retryablehttp recognises as not worth a retry.
const maxRedirects = 10

// attemptTransport makes one attempt of a request: it takes its place in
// flight, its page's (see flight) and the account's, and its turn from the
// account's budget, then sends the request,
// adapts the budget to the answer's status and rate-limit headers, and
// reads the whole body under the per-attempt timeout. Reading the body
// here makes a stalled or cut body a failed attempt that the retry loop
// repeats, like a refused connection, and keeps the place in flight until
// the answer is in.
type attemptTransport struct {
	base        http.RoundTripper
	budget      *Budget
	timeout     time.Duration
	maxHold     time.Duration // the longest hold an answer to this job sets on the budget
	log         *slog.Logger  // with the job and provider
	sent        atomic.Int64
	limited     atomic.Int64 // 429 answers
	maxRequests int64        // requests it may send; 0: no bound
	bodies      bodyPool
}

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// The timeout starts after the wait for the budget: waiting for our
	// own rate limit is not the server being slow.
	leave, err := takePlace(req.Context())
	if err != nil {
		return unsent(req, err)
	}
	defer leave()
	sentAt, release, err := t.budget.acquire(req.Context())
	if err != nil {
		return unsent(req, err)
	}
	defer release()
	if n := t.sent.Add(1); t.maxRequests > 0 && n > t.maxRequests {
		t.sent.Add(-1)
		return unsent(req, fmt.Errorf("the client may send at most %d requests", t.maxRequests))
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	defer cancel()
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return nil, t.attemptError(ctx, req, err)
	}
	t.adapt(sentAt, resp)
	buf := t.bodies.get()
	if err := readBody(resp.Body, resp.ContentLength, buf); err != nil {
		t.bodies.put(buf)
		return nil, t.attemptError(ctx, req, err)
	}
	resp.Body = &bufferedBody{Reader: bytes.NewReader(buf.Bytes()), buf: buf, pool: &t.bodies}
	resp.ContentLength = int64(buf.Len())
	return resp, nil
}

// unsent ends an attempt that was not sent, for a reason a retry cannot
// mend. A RoundTripper must close the request's body, even on error.
func unsent(req *http.Request, err error) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, &permanentError{err}
}

// bufferedBody is a response body the transport has read whole, so that
// the client can take its bytes (bodyBytes) rather than copy them again.
// Closing it gives its buffer back for another answer: whoever closes it
// (retryablehttp, for an answer it retries; the client, once a page is
// decoded) must not use its bytes after.
type bufferedBody struct {
	*bytes.Reader
	buf  *bytes.Buffer // nil once closed
	pool *bodyPool
}

func (b *bufferedBody) Close() error {
	if b.buf != nil {
		b.pool.put(b.buf)
		b.buf = nil
	}
	return nil
}

// bodyBytes is all of a response body: a bufferedBody's bytes as they
// are, anything else read.
func bodyBytes(body io.Reader) ([]byte, error) {
	if b, ok := body.(*bufferedBody); ok && b.buf != nil {
		return b.buf.Bytes(), nil
	}
	return io.ReadAll(body)
}

// bodyPool recycles the buffers answers are read into: a page's body is
// dead once decoded, and a job reads thousands of them, each otherwise a
// new allocation to zero and, later, to collect.
type bodyPool struct{ pool sync.Pool }

// maxPooledBody bounds the buffers kept: a rare huge answer is left to the
// collector rather than held.
const maxPooledBody = 8 << 20

func (p *bodyPool) get() *bytes.Buffer {
	if b, ok := p.pool.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func (p *bodyPool) put(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBody {
		b.Reset()
		p.pool.Put(b)
	}
}

// adapt counts a 429 and adapts the budget to the answer (see
// Budget.observe), logging what changed for every job on the account.
func (t *attemptTransport) adapt(sentAt time.Time, resp *http.Response) {
	if resp.StatusCode == http.StatusTooManyRequests {
		t.limited.Add(1)
	}
	a := t.budget.observe(time.Now(), sentAt, resp, t.maxHold)
	if a.hold > 0 {
		t.log.Info("the API's rate limit holds the account's requests", "status", resp.StatusCode, "for", a.hold.Round(time.Millisecond))
	}
	if a.lowered {
		t.log.Info("lowered the account's request rate: the API's limit is below it", "status", resp.StatusCode,
			"requests_per_second", math.Round(a.rate*100)/100)
	}
}

// attemptError tells our per-attempt timeout apart from the end of the
// caller's context, whose error the retry policy must see as it is.
// A server certificate of an unknown CA is the one TLS failure that is
// usually a setting: a private CA, or a proxy that inspects TLS. It is
// marked permanent, as retryablehttp no longer recognises it once wrapped.
func (t *attemptTransport) attemptError(attemptCtx context.Context, req *http.Request, err error) error {
	if req.Context().Err() == nil && errors.Is(attemptCtx.Err(), context.DeadlineExceeded) {
		return &timeoutError{after: t.timeout}
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return &permanentError{fmt.Errorf("%w (if a private CA or a TLS-inspecting proxy signs it, set the job's tls.ca_file to that CA's PEM bundle)", err)}
	}
	return err
}

func readBody(body io.ReadCloser, length int64, buf *bytes.Buffer) error {
	// The body has been read to the end or failed; Close has nothing to report.
	defer body.Close()
	if length >= 0 && length <= maxBodyBytes {
		buf.Grow(int(length) + bytes.MinRead) // at most one allocation: ReadFrom wants MinRead spare to see the end
	}
	if _, err := buf.ReadFrom(io.LimitReader(body, maxBodyBytes+1)); err != nil {
		return fmt.Errorf("reading the response body: %w", err)
	}
	if buf.Len() > maxBodyBytes {
		return &permanentError{fmt.Errorf("response body larger than %d MiB", maxBodyBytes>>20)}
	}
	return nil
}

// sameOriginRedirects follows redirects only to the scheme and host of the
// first request. The job's extra headers are secrets, and net/http strips
// only Authorization and Cookie on a redirect to another host; a refused
// redirect is returned as the 3xx answer it is.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
		return http.ErrUseLastResponse
	}
	return nil
}

// ProxyFromEnvironment returns the proxy choice that HTTPS_PROXY,
// HTTP_PROXY and NO_PROXY (or their lowercase forms) make now; net/http's
// own reads the environment once per process, for good. A value that is
// not a proxy URL is an error, where net/http would send every request
// direct: traffic that must go through a proxy must not bypass it in
// silence. Errors name the variable but never quote its value, which may
// hold a password.
func ProxyFromEnvironment() (func(*http.Request) (*url.URL, error), error) {
	env := httpproxy.FromEnvironment()
	for _, v := range []struct{ name, value string }{{"HTTPS_PROXY", env.HTTPSProxy}, {"HTTP_PROXY", env.HTTPProxy}} {
		if v.value != "" && !isProxyURL(v.value) {
			return nil, fmt.Errorf("%s is not a proxy URL like http://[user:password@]host:port "+
				"(value not shown: it may hold a password; percent-encode any : / ? # @ in the password)", v.name)
		}
	}
	proxy := env.ProxyFunc()
	return func(req *http.Request) (*url.URL, error) { return proxy(req.URL) }, nil
}

// proxySchemes are those net/http's transport can use.
var proxySchemes = []string{"http", "https", "socks5", "socks5h"}

// isProxyURL reports whether s is a proxy URL as httpproxy reads it: a
// URL, or a host:port taken as http://host:port. A path, query or
// fragment is refused: it is how a password with an unencoded / ? or #
// shows, and the host read then is not the proxy's.
func isProxyURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if bare, err := url.Parse("http://" + s); err == nil {
			u = bare
		}
	}
	return u != nil && u.Host != "" && slices.Contains(proxySchemes, u.Scheme) &&
		(u.Path == "" || u.Path == "/") && u.RawQuery == "" && !u.ForceQuery && u.Fragment == ""
}
