package mctime

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"

	"github.com/saas-export/export/sources/httpsource"
)

// source exports the job's listings in turn: the active users, the
// inactive ones, or both in that order.
type source struct {
	listings []*listing
	paging   httpsource.Paging
}

// listing pages through GET /users for the active or the inactive users;
// the filter is the same on every page, only page changes.
type listing struct {
	job    httpsource.Job
	client *httpsource.Client
	url    string
	query  url.Values // the filter and inactive; page is set per page
	active bool
	scope  string // the filter's ids and organization, for a 401; "" for none
}

// New returns the job's source. It refuses a job that CheckConfig rejects,
// so a caller that skipped the check cannot send a malformed query.
func New(job httpsource.Job, client *httpsource.Client) (httpsource.Source, error) {
	return newSource(job, client)
}

func newSource(job httpsource.Job, client *httpsource.Client) (*source, error) {
	// The pipeline refuses such a job first; this keeps a caller that did
	// not from exporting no one, since no user has an update time.
	if job.UpdatedSince != nil {
		return nil, fmt.Errorf("%s: an incremental run cannot tell what changed: the API's users carry no update time", Name)
	}
	p, problems := parseJob(job)
	if len(problems) > 0 {
		return nil, httpsource.ProblemsError(Name, problems)
	}
	s := &source{paging: job.Paging()}
	for _, active := range p.actives {
		query := maps.Clone(p.query)
		// Sent for the active listing too, although it is the default, so
		// that every request and error says which listing it belongs to.
		query.Set("inactive", strconv.FormatBool(!active))
		s.listings = append(s.listings, &listing{
			job: job, client: client, url: job.BaseURL + Endpoint,
			query: query, active: active, scope: p.scope,
		})
	}
	return s, nil
}

// Fetch streams every page of each listing in order, up to the job's
// MaxInFlight at once across the listings. The API has no sort order, so
// a user added or removed during the export shifts the others between
// pages, and a user whose validTo passes moves from the active listing to
// the inactive one: both show as drift (a duplicate id, a changed page
// count).
func (s *source) Fetch(ctx context.Context, emit func(httpsource.Page) error) error {
	pagers := make([]httpsource.Pager, len(s.listings))
	for i, l := range s.listings {
		pagers[i] = l
	}
	return httpsource.Sequence(ctx, pagers, s.paging, emit)
}

// Probe reads page 0 of each listing of the job, at the API's one page
// size, for its page count, and works out what one read costs: every page
// of each listing, an empty one being one page, then page 0 of each
// listing again when there are two, as httpsource.Sequence reads them.
// McTime counts no users, so Total stays null.
func Probe(ctx context.Context, job httpsource.Job, client *httpsource.Client) (httpsource.Estimate, error) {
	s, err := newSource(job, client)
	if err != nil {
		return httpsource.Estimate{}, err
	}
	var est httpsource.Estimate
	for _, l := range s.listings {
		page, err := l.FetchPage(ctx, 0)
		if err != nil {
			return httpsource.Estimate{}, err
		}
		// Checked here, not in Decode: the client would retry a
		// well-formed answer without a count, and it would not change.
		if !page.Pages.Valid {
			return httpsource.Estimate{}, fmt.Errorf("%s page 0: %s %s?inactive=%s: the answer has no pageSize (the page count), "+
				"so the listing cannot be counted", Name, Method, Endpoint, l.query.Get("inactive"))
		}
		est.Pages += page.Pages.V
	}
	est.Requests = est.Pages + httpsource.Rechecks(len(s.listings))
	return est, nil
}

// FetchPage requests page index+1 of the listing: httpsource numbers pages
// from 0, McTime from 1.
func (l *listing) FetchPage(ctx context.Context, index int) (httpsource.Page, error) {
	var page httpsource.Page
	_, err := l.client.Do(ctx, httpsource.Request{
		Method: Method,
		URL:    l.pageURL(index), // its inactive= says which listing
		Header: http.Header{"Accept": {"application/json"}},
		Page:   index,
		Decode: func(body []byte) (err error) {
			page, err = decodePage(l.job, body, index, l.active)
			return err
		},
	})
	if err != nil {
		return httpsource.Page{}, l.refused(err) // names provider and page; the pipeline adds the job
	}
	return page, nil
}

func (l *listing) pageURL(index int) string {
	q := maps.Clone(l.query) // Set below replaces, never modifies, a shared slice
	q.Set("page", strconv.Itoa(index+1))
	return l.url + "?" + q.Encode()
}

// refused explains a 401 to a job that asks for given ids or an
// organization: McTime answers 401 when the API key may not see one of
// them, not only for a bad key, and the client's hint only names the key.
// The *httpsource.StatusError stays wrapped for errors.As.
func (l *listing) refused(err error) error {
	var serr *httpsource.StatusError
	if l.scope == "" || !errors.As(err, &serr) || serr.Status != http.StatusUnauthorized {
		return err
	}
	return fmt.Errorf("%s: the API refused %s (HTTP 401): the API key may not see what the filter asks for, "+
		"or the key itself is wrong: %w", Name, l.scope, err)
}
