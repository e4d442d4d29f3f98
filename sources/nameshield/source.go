package nameshield

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strconv"

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
	query, problems := parseJob(job)
	if len(problems) > 0 {
		return nil, httpsource.ProblemsError(Name, problems)
	}
	limit := job.PageSize
	if limit == 0 {
		limit = DefaultPageSize
	}
	query.Set("limit", strconv.Itoa(limit))
	return &source{job: job, client: client, url: job.BaseURL + Endpoint, query: query, limit: limit}, nil
}

// Fetch streams every page in order, up to the job's MaxInFlight at once.
func (s *source) Fetch(ctx context.Context, emit func(httpsource.Page) error) error {
	return httpsource.Stream(ctx, s, max(s.job.MaxInFlight, 1), emit)
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
	return page, err // the client's error names provider, page and request
}

func (s *source) pageURL(index int) string {
	q := maps.Clone(s.query) // Set below replaces, never modifies, a shared slice
	q.Set("offset", strconv.Itoa(index*s.limit))
	return s.url + "?" + q.Encode()
}
