package requestor

import (
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// source pages through POST /api/Account/GetUsers. The filter is the same
// on every page; only PageIndex changes.
type source struct {
	job       httpsource.Job
	client    *httpsource.Client
	url       string
	post      usersFilterPost // PageIndex is set per page
	mediaType string          // Content-Type and Accept: the job's wire format
	// needTotal refuses a page without TotalItems: a probe counts with it.
	needTotal bool
}

// New returns the job's source. It refuses a job that CheckConfig rejects,
// so a caller that skipped the check cannot send a malformed body.
func New(job httpsource.Job, client *httpsource.Client) (httpsource.Source, error) {
	return newSource(job, client, false)
}

// probePageSize is the smallest PageSize the API takes: a probe wants only
// TotalItems.
const probePageSize = 1

// newSource builds the job's source; a probe's asks for pages of
// probePageSize and needs TotalItems.
func newSource(job httpsource.Job, client *httpsource.Client, probe bool) (*source, error) {
	post, problems := parseJob(job)
	if len(problems) > 0 {
		return nil, httpsource.ProblemsError(Name, problems)
	}
	post.PageSize = cmp.Or(job.PageSize, DefaultPageSize)
	if probe {
		post.PageSize = probePageSize
	}
	mediaType := "application/json"
	if job.WireFormat == WireXML {
		mediaType = "application/xml"
	}
	return &source{job: job, client: client, url: job.BaseURL + Endpoint, post: post, mediaType: mediaType, needTotal: probe}, nil
}

// Probe counts the job's users with one request for a one-user page, and
// works out the pages, and so the requests, of one read at the job's page
// size: an empty listing is one page.
func Probe(ctx context.Context, job httpsource.Job, client *httpsource.Client) (httpsource.Estimate, error) {
	probe, err := newSource(job, client, true)
	if err != nil {
		return httpsource.Estimate{}, err
	}
	total, pages, err := httpsource.CountPages(ctx, probe, cmp.Or(job.PageSize, DefaultPageSize),
		Name, Method, Endpoint, "PagedUsers.TotalItems")
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
	body, err := s.body(index)
	if err != nil {
		return httpsource.Page{}, fmt.Errorf("%s page %d: encode request: %w", Name, index, err)
	}
	var page httpsource.Page
	_, err = s.client.Do(ctx, httpsource.Request{
		Method: Method,
		URL:    s.url,
		Body:   body,
		Header: http.Header{"Content-Type": {s.mediaType}, "Accept": {s.mediaType}},
		Page:   index,
		Decode: func(body []byte) (err error) {
			page, err = decodePage(s.job, body, index, s.post.PageSize)
			if err == nil && s.needTotal && !page.Total.Valid {
				err = errors.New("no PagedUsers.TotalItems, so the listing cannot be counted")
			}
			return err
		},
	})
	if err != nil {
		return httpsource.Page{}, withAPIMessage(err) // names provider and page; the pipeline adds the job
	}
	return page, nil
}

// body encodes the UsersFilterPost of page index in the job's wire format.
func (s *source) body(index int) ([]byte, error) {
	post := s.post // a copy: pages are fetched concurrently
	post.PageIndex = index
	if s.job.WireFormat == WireXML {
		return post.xml(), nil
	}
	return json.Marshal(&post)
}

// withAPIMessage puts the Message of a refusal in the error instead of
// the body it came in: the API explains a 400 (and ASP.NET a 401 or 404)
// with {"Message": "..."} in JSON or <Error><Message>...</Message></Error>
// in XML. A body without one keeps the client's excerpt.
func withAPIMessage(err error) error {
	var serr *httpsource.StatusError
	if !errors.As(err, &serr) {
		return err
	}
	if msg, ok := apiMessage(serr.Message); ok {
		serr.Message = msg // the client made this error for this request alone
	}
	return err
}

// apiMessage finds the top-level Message in an error body. It reads the
// body as a stream of tokens, so a body the client cut short still gives
// a Message that came before the cut.
func apiMessage(body string) (string, bool) {
	switch body = strings.TrimSpace(body); {
	case strings.HasPrefix(body, "{"):
		return jsonMessage(body)
	case strings.HasPrefix(body, "<"):
		return xmlMessage(body)
	}
	return "", false
}

func jsonMessage(body string) (string, bool) {
	dec := json.NewDecoder(strings.NewReader(body))
	if _, err := dec.Token(); err != nil { // the {
		return "", false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", false
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return "", false
		}
		var msg string
		if key == "Message" && json.Unmarshal(value, &msg) == nil && msg != "" {
			return msg, true
		}
	}
	return "", false
}

func xmlMessage(body string) (string, bool) {
	dec := xml.NewDecoder(strings.NewReader(body))
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth == 2 && t.Name.Local == "Message" {
				var msg string
				if dec.DecodeElement(&msg, &t) != nil || msg == "" {
					return "", false
				}
				return msg, true
			}
		case xml.EndElement:
			depth--
		}
	}
}
