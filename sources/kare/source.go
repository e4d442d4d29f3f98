package kare

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// source exports the job's listings in turn (see the package doc on
// deleted users).
type source struct {
	listings []httpsource.Pager
	paging   httpsource.Paging
}

// listing pages through GET /users/v1/rs with one fixed query; only page
// changes between requests.
type listing struct {
	job    httpsource.Job
	client *httpsource.Client
	url    string
	query  url.Values // filters, extend, whereIsDeleted, pageSize and includeCount
	size   int
	// needTotal refuses a page without totalCount: a probe counts with it.
	needTotal bool
}

// New returns the job's source. It refuses a job that CheckConfig rejects,
// so a caller that skipped the check cannot send a malformed query.
func New(job httpsource.Job, client *httpsource.Client) (httpsource.Source, error) {
	return newSource(job, client, false)
}

// probePageSize is the smallest page the API takes: a probe wants only
// totalCount.
const probePageSize = 1

// newSource builds the job's listings; a probe's ask for pages of
// probePageSize and need totalCount.
func newSource(job httpsource.Job, client *httpsource.Client, probe bool) (*source, error) {
	queries, problems := parseJob(job)
	if len(problems) > 0 {
		return nil, httpsource.ProblemsError(Name, problems)
	}
	size := cmp.Or(job.PageSize, DefaultPageSize)
	if probe {
		size = probePageSize
	}
	s := &source{paging: job.Paging()}
	for _, q := range queries {
		q.Set("pageSize", strconv.Itoa(size))
		q.Set("includeCount", "true") // else no totalCount: no page count, no concurrent pages
		s.listings = append(s.listings, &listing{
			job: job, client: client, url: job.BaseURL + Endpoint, query: q, size: size, needTotal: probe,
		})
	}
	return s, nil
}

// Probe counts each listing of the job (see the package doc on deleted
// users) with one request for a one-user page, and works out what one read
// at the job's page size costs: every page of each listing, an empty one
// being one page, then page 0 of each listing again when there are two, as
// httpsource.Sequence reads them.
func Probe(ctx context.Context, job httpsource.Job, client *httpsource.Client) (httpsource.Estimate, error) {
	probe, err := newSource(job, client, true)
	if err != nil {
		return httpsource.Estimate{}, err
	}
	size := cmp.Or(job.PageSize, DefaultPageSize)
	var est httpsource.Estimate
	var total int64
	for _, l := range probe.listings {
		n, pages, err := httpsource.CountPages(ctx, l, size, Name, Method, Endpoint, "totalCount")
		if err != nil {
			return httpsource.Estimate{}, err
		}
		total += n
		est.Pages += pages
	}
	est.Total = schema.Some(total)
	est.Requests = est.Pages + httpsource.Rechecks(len(probe.listings))
	return est, nil
}

// Fetch streams every page of each listing in order, up to the job's
// MaxInFlight pages at once across the listings; totals add up across
// listings.
func (s *source) Fetch(ctx context.Context, emit func(httpsource.Page) error) error {
	return httpsource.Sequence(ctx, s.listings, s.paging, emit)
}

// FetchPage requests page index: the API's page index+1.
func (l *listing) FetchPage(ctx context.Context, index int) (httpsource.Page, error) {
	var page httpsource.Page
	_, err := l.client.Do(ctx, httpsource.Request{
		Method: Method,
		URL:    l.pageURL(index), // tells the listings apart: their page numbers overlap
		Header: http.Header{"Accept": {"application/json"}},
		Page:   index,
		Decode: func(body []byte) (err error) {
			page, err = decodePage(l.job, body, index, l.size)
			if err == nil && l.needTotal && !page.Total.Valid {
				err = errors.New("no totalCount, so the listing cannot be counted")
			}
			return err
		},
	})
	return page, err // names provider, page and URL; the pipeline adds the job
}

func (l *listing) pageURL(index int) string {
	q := maps.Clone(l.query) // Set below replaces, never modifies, a shared slice
	q.Set("page", strconv.Itoa(index+1))
	return l.url + "?" + q.Encode()
}
