// Package httpsource is the HTTP layer every provider shares: auth,
// per-request timeouts, retries with backoff that honour Retry-After, a
// client-side rate limit, and paging with ordered reassembly.
//
// Client.Do retries connection errors, timeouts, 429 and 5xx (but 501),
// never another 4xx. Waits grow exponentially with jitter from 500ms and
// never exceed Retry.MaxBackoff; a Retry-After on 429 or 503 is honoured
// within the same bounds, so `Retry-After: 0` still waits the 500ms floor.
// Every attempt, retries included, waits for a token of the job's Rate, or
// of the Budget it shares with other jobs on the same account.
package httpsource

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/saas-export/export/schema"
)

// Page is one page of a provider's listing, already normalized.
type Page struct {
	Users []schema.User
	// Total is the number of records the API says the whole listing holds,
	// when it says.
	Total schema.Null[int64]
	// Pages is the number of pages the listing holds, when known; it lets
	// the fetcher request the remaining pages concurrently.
	Pages schema.Null[int]
	// Last is set when the API says this is the final page, or when the
	// read needs no more of the listing (a listing sorted newest first has
	// passed an incremental window): no later page is emitted.
	Last bool
	// Listing is the page's listing in a Sequence, from 0 (see
	// Paging.Expect).
	Listing int
	// Same, on a read that recalls a PageMemo, says the page's body came
	// back byte for byte as the first read had it: Users is nil, and Same
	// holds what it held.
	Same *SamePage
}

// Len is how many users the page holds.
func (p Page) Len() int {
	if p.Same != nil {
		return p.Same.N
	}
	return len(p.Users)
}

// Source is one job's view of a provider: it fetches every page of the
// listing and hands them to emit in listing order.
type Source interface {
	Fetch(ctx context.Context, emit func(Page) error) error
}

// Pager fetches a single page by its 0-based index. Providers implement
// it; Stream turns it into a Source.
type Pager interface {
	FetchPage(ctx context.Context, index int) (Page, error)
}

// Auth is the credential a job sends. Secrets never appear in String().
type Auth struct {
	Type     string // basic | bearer | header | "" (none)
	Username string
	Password string
	Token    string
	Name     string // header auth: header name
	Value    string // header auth: header value
	Headers  map[string]string
}

// Rate is a request budget: N requests per Per. N <= 0 or Per <= 0 means
// unlimited.
type Rate struct {
	N   int
	Per time.Duration
}

// Retry bounds retries of one request. Zero values take the defaults.
type Retry struct {
	MaxAttempts int           // total attempts, including the first
	MaxBackoff  time.Duration // cap of one wait, Retry-After included
}

// Defaults for the zero values of ClientConfig, matching the documented
// jobs.yaml defaults.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxAttempts = 6
	DefaultMaxBackoff  = time.Minute
	DefaultUserAgent   = "export"
)

// ClientConfig configures a Client for one job.
type ClientConfig struct {
	Job       string // named in every error
	Provider  string
	Auth      Auth
	Timeout   time.Duration // per attempt, reading the body included; 0: DefaultTimeout
	Rate      Rate          // unless Budget is set
	Retry     Retry
	UserAgent string // e.g. "export/1.2.3"; "": DefaultUserAgent

	// Logger receives a Warn record for every retry; nil discards them.
	Logger *slog.Logger
	// MaxRequests, when positive, bounds the requests the client ever
	// sends, retries included: an attempt past it fails at once. `export
	// plan` promises at most 3 requests a job, and still retries within
	// them.
	MaxRequests int64
	// Budget, when set, is the account's budget that this client shares
	// with other jobs' clients on the same account: its rate limit
	// replaces Rate, and its bound on requests in flight applies across
	// them. nil: the client has a budget of Rate of its own.
	Budget *Budget
	// Transport sends the requests: NewTransport's, for a job's CA bundle
	// and proxy. nil means a fresh pooled transport with net/http's
	// defaults (go-cleanhttp), whose proxy is the environment's as
	// net/http first read it. Tests may supply their own.
	Transport http.RoundTripper
}

// TransportConfig is what NewTransport builds a transport from.
type TransportConfig struct {
	// CAPEM is a PEM bundle of CA certificates trusted in addition to the
	// system roots; nil for the system roots alone.
	CAPEM []byte
	// Proxy picks the proxy of each request, as http.Transport.Proxy does;
	// nil sends every request direct. ProxyFromEnvironment gives the
	// environment's.
	Proxy func(*http.Request) (*url.URL, error)
	// MaxInFlight is the most requests the transport's client sends at
	// once: it keeps that many idle connections to a host, so that none
	// is closed and dialled again (a TLS handshake each) between pages.
	MaxInFlight int
}

// Job is what a provider needs to know about the job it serves.
type Job struct {
	Name        string
	BaseURL     string         // without the endpoint path; no trailing slash
	Filter      map[string]any // provider-native, already checked by the provider's CheckConfig
	Sort        any            // provider-native sort, nil for the provider's default
	PageSize    int            // 0: the provider's default
	MaxInFlight int            // requests in flight at once (see Paging)
	IncludeRaw  bool           // keep each record as JSON in User.Raw
	// IDsOnly says the read needs no more of a user than its ID: the
	// pipeline's confirming read compares ids alone. A provider may then
	// decode nothing else of a record, which makes that read several times
	// cheaper; it may also ignore it and return whole users.
	IDsOnly     bool
	WireFormat  string    // one of the provider's WireFormats; "" when it has no choice
	ExtractedAt time.Time // the run's clock, for fields derived from "now"
	// UpdatedSince, for an incremental run, is the start of its window:
	// only users updated at or after it are needed, and a provider narrows
	// its listing to them as its API allows (see Incremental). The pipeline
	// filters what comes back, so a provider may return more. nil: all.
	UpdatedSince *time.Time
	// Read is how the pipeline wants this read of the listing paged, the
	// first or the confirming one: Paging's Expect, NoRecheck, Remember,
	// Recall, Doubt and Settle. Job.Paging adds the window and places of
	// MaxInFlight.
	Read Paging
}

// Incremental is how a provider's API narrows a listing to the users
// updated since a time.
type Incremental string

// The ways an API narrows a listing to recent changes.
const (
	// IncrementalNone: the API reports no update time; incremental jobs
	// are refused.
	IncrementalNone Incremental = ""
	// IncrementalFilter: a server-side filter on the update time.
	IncrementalFilter Incremental = "filter"
	// IncrementalSorted: the listing is sorted newest first and stops at
	// the first page that reaches past the window (its Page.Last is set).
	IncrementalSorted Incremental = "sorted"
	// IncrementalClient: the whole listing is read and filtered here.
	IncrementalClient Incremental = "client"
)

// Estimate is what one read of a job's listing will cost, from a count
// probe: a request or two for the first page of each listing.
type Estimate struct {
	// Total is the users the listing holds (within the job's filter and
	// incremental window), when the API reports it.
	Total schema.Null[int64]
	// Pages is the pages one read fetches; Requests the requests it sends,
	// the re-checks of page 0 included (see Sequence).
	Pages, Requests int
	// AtMost says Requests is an upper bound, not an exact count: a
	// listing sorted newest first stops early.
	AtMost bool
}

// Problem is one config mistake found by a provider's check, at a key
// path relative to the job (for example "filter.organization" or "page_size").
type Problem struct {
	Path    string
	Message string
}

// String writes the rate as jobs.yaml does: 100/1m, 600/5m, 10/1s;
// "unlimited" when N is not positive.
func (r Rate) String() string {
	if r.N <= 0 || r.Per <= 0 {
		return "unlimited"
	}
	per := r.Per.String()
	for _, unit := range []string{"m0s", "h0m"} { // 1m0s -> 1m, 1h0m0s -> 1h
		if strings.HasSuffix(per, unit) {
			per = strings.TrimSuffix(per, unit) + unit[:1]
		}
	}
	return fmt.Sprintf("%d/%s", r.N, per)
}
