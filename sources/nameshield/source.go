package nameshield

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// source pages through GET /user/v1/users with limit and offset; the
// filter and sort parameters are the same on every page.
type source struct {
	job    httpsource.Job
	client *httpsource.Client
	url    string
	query  url.Values // filter, sort[] and limit; offset is set per page
	limit  int
}

// New returns the job's source. It refuses a job that CheckConfig rejects,
// so a caller that skipped the check cannot send a malformed query.
func New(job httpsource.Job, client *httpsource.Client) (httpsource.Source, error) {
	return newSource(job, client, cmp.Or(job.PageSize, DefaultPageSize))
}

// newSource builds the job's source, asking for pages of limit users.
func newSource(job httpsource.Job, client *httpsource.Client, limit int) (*source, error) {
	query, problems := parseJob(job)
	if len(problems) > 0 {
		return nil, httpsource.ProblemsError(Name, problems)
	}
	query.Set("limit", strconv.Itoa(limit))
	return &source{job: job, client: client, url: job.BaseURL + Endpoint, query: query, limit: limit}, nil
}

// probeLimit is the smallest page the API takes: a probe wants only
// data.total.
const probeLimit = 1

// Probe counts the job's listing with one request for a one-user page, and
// works out what one read at the job's page size costs: its page count,
// an empty listing being one page, in as many requests. An incremental
// read stops at the first page past its window, which only the read
// finds: the estimate is then the whole listing's, an upper bound, and
// Total is null, since data.total counts the listing, not the window.
func Probe(ctx context.Context, job httpsource.Job, client *httpsource.Client) (httpsource.Estimate, error) {
	probe, err := newSource(job, client, probeLimit)
	if err != nil {
		return httpsource.Estimate{}, err
	}
	total, pages, err := httpsource.CountPages(ctx, probe, cmp.Or(job.PageSize, DefaultPageSize), Name, Method, Endpoint, "data.total")
	if err != nil {
		return httpsource.Estimate{}, err
	}
	est := httpsource.Estimate{Total: schema.Some(total), Pages: pages, Requests: pages}
	if job.UpdatedSince != nil {
		est.Total, est.AtMost = schema.Null[int64]{}, true
	}
	return est, nil
}

// Fetch streams every page in order, up to the job's MaxInFlight at once.
func (s *source) Fetch(ctx context.Context, emit func(httpsource.Page) error) error {
	return httpsource.Stream(ctx, s, s.job.Paging(), emit)
}

// FetchPage requests page index: offset index*limit.
func (s *source) FetchPage(ctx context.Context, index int) (httpsource.Page, error) {
	var page httpsource.Page
	_, err := s.client.Do(ctx, httpsource.Request{
		Method: Method,
		URL:    s.pageURL(index),
		Header: http.Header{"Accept": {"application/json"}},
		Page:   index,
		Decode: func(body []byte) (err error) {
			page, err = decodePage(s.job, body, index, s.limit)
			return err
		},
	})
	if err == nil && s.job.UpdatedSince != nil && pastWindow(page.Users, *s.job.UpdatedSince) {
		page.Last = true
	}
	return page, err // the client's error names provider, page and request
}

// pastWindow reports whether a page of the incremental listing, sorted by
// updated_at newest first, reaches past the window that starts at since:
// then no later page holds a user updated in it.
//
// The docs do not say where users without updated_at sort; a database
// puts them together at one end, first or last by engine, so the page's
// last user with an updated_at decides: a page of such users alone never ends the read (they may come
// first, and the window after them). Coming last, they are not read once
// the window is passed, which loses nothing: an incremental run keeps no
// user without an update time. A full read never stops early.
func pastWindow(users []schema.User, since time.Time) bool {
	for _, u := range slices.Backward(users) {
		if u.UpdatedAt.Valid {
			return u.UpdatedAt.V.Before(since)
		}
	}
	return false
}

func (s *source) pageURL(index int) string {
	q := maps.Clone(s.query) // Set below replaces, never modifies, a shared slice
	q.Set("offset", strconv.Itoa(index*s.limit))
	return s.url + "?" + q.Encode()
}
