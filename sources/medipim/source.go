package medipim

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// source pages through POST /v4/users/query. The filter and sorting are
// fixed for the job; only page.no changes between requests.
type source struct {
	job      httpsource.Job
	client   *httpsource.Client
	url      string
	filter   json.RawMessage // nil: no filter
	sorting  json.RawMessage
	pageSize int
}

// queryBody is the request body. Page is always sent: without it the API
// returns every user at once and no page metadata.
type queryBody struct {
	Filter  json.RawMessage `json:"filter,omitempty"`
	Sorting json.RawMessage `json:"sorting"`
	Page    pageRef         `json:"page"`
}

type pageRef struct {
	No   int `json:"no"`
	Size int `json:"size"`
}

// New returns the job's source. It refuses a job that CheckConfig rejects,
// so a caller that skipped the check cannot send a malformed query. The
// job's UpdatedSince changes nothing: the API cannot narrow to it (see
// IncrementalNote).
func New(job httpsource.Job, client *httpsource.Client) (httpsource.Source, error) {
	return newSource(job, client, cmp.Or(job.PageSize, DefaultPageSize))
}

// probePageSize is the smallest page the API takes: a probe wants only
// meta.total.
const probePageSize = 10

// newSource builds the job's source, asking for pages of size.
func newSource(job httpsource.Job, client *httpsource.Client, size int) (*source, error) {
	if problems := CheckConfig(job); len(problems) > 0 {
		return nil, httpsource.ProblemsError(Name, problems)
	}
	s := &source{job: job, client: client, url: job.BaseURL + Endpoint, pageSize: size}
	if len(job.Filter) > 0 {
		f, err := json.Marshal(job.Filter)
		if err != nil {
			return nil, fmt.Errorf("%s: encode filter: %w", Name, err)
		}
		s.filter = f
	}
	desc := false
	if job.Sort != nil {
		desc = new(checker).sort("sort", job.Sort) // checked above: no problems
	}
	s.sorting = json.RawMessage(sortJSON(desc))
	return s, nil
}

// Probe counts the job's listing with one request for a page of
// probePageSize, and works out what one read at the job's page size costs:
// its page count, an empty listing being one page, in as many requests.
func Probe(ctx context.Context, job httpsource.Job, client *httpsource.Client) (httpsource.Estimate, error) {
	probe, err := newSource(job, client, probePageSize)
	if err != nil {
		return httpsource.Estimate{}, err
	}
	total, pages, err := httpsource.CountPages(ctx, probe, cmp.Or(job.PageSize, DefaultPageSize), Name, Method, Endpoint, "meta.total")
	if err != nil {
		return httpsource.Estimate{}, err
	}
	return httpsource.Estimate{Total: schema.Some(total), Pages: pages, Requests: pages}, nil
}

// Fetch streams every page in order, up to the job's MaxInFlight at once.
func (s *source) Fetch(ctx context.Context, emit func(httpsource.Page) error) error {
	return httpsource.Stream(ctx, s, s.job.Paging(), emit)
}

// FetchPage requests page index (0-based, as the API numbers pages).
func (s *source) FetchPage(ctx context.Context, index int) (httpsource.Page, error) {
	body, err := json.Marshal(queryBody{Filter: s.filter, Sorting: s.sorting, Page: pageRef{No: index, Size: s.pageSize}})
	if err != nil {
		return httpsource.Page{}, fmt.Errorf("%s page %d: encode request: %w", Name, index, err)
	}
	var page httpsource.Page
	_, err = s.client.Do(ctx, httpsource.Request{
		Method: Method,
		URL:    s.url,
		Body:   body,
		Header: http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}},
		Page:   index,
		Decode: func(body []byte) (err error) {
			page, err = decodePage(s.job, body, index, s.pageSize)
			return err
		},
	})
	return page, err // the client's error names provider, page and request; the pipeline adds the job
}
