package medipim

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// response is the query's answer; T is record on the hot path, or
// json.RawMessage when the job keeps each record's raw JSON.
type response[T any] struct {
	Meta struct {
		Total httpsource.Member[int64] `json:"total"`
	} `json:"meta"`
	Results *[]T `json:"results"` // nil: absent or null
}

func (r response[T]) Records() []T {
	if r.Results == nil {
		return nil
	}
	return *r.Results
}

func (r response[T]) Total() *int64         { return r.Meta.Total.Value() }
func (r response[T]) RecordsPath() []string { return []string{"results"} }

// Check refuses a response without results: the docs always send them,
// [] for no users. meta.total may be missing (undocumented), not wrong.
func (r response[T]) Check() error {
	if r.Results == nil {
		return errors.New("the response has no results")
	}
	return errors.Join(r.Meta.Total.Optional("meta.total"), httpsource.CheckCount("meta.total", r.Total()))
}

// record is one user as the API sends it. Pointers tell null and absent
// apart from zero values; the id, which names the row, must also be sent
// once.
type record struct {
	ID           httpsource.Member[int64] `json:"id"`
	Name         *string                  `json:"name"`
	Organization *int64                   `json:"organization"`
	Meta         struct {
		CreatedAt *int64 `json:"createdAt"`
		UpdatedAt *int64 `json:"updatedAt"`
	} `json:"meta"`
}

// idRecord is the part of a record a job with IDsOnly reads.
type idRecord struct {
	ID httpsource.Member[int64] `json:"id"`
}

// decodePage decodes and normalizes page index of size records. Errors do
// not name the job or page: the caller adds them. A response without a
// total is not documented to happen; a short page then ends the listing.
func decodePage(job httpsource.Job, body []byte, index, size int) (httpsource.Page, error) {
	if job.IDsOnly {
		return httpsource.DecodeIDPage[idRecord, response[idRecord]](
			body, index, size, func(rec *idRecord) (string, error) { return userID(&rec.ID) })
	}
	return httpsource.DecodePage[record, response[json.RawMessage], response[record]](
		body, job.IncludeRaw, index, size, func(rec *record) (schema.User, error) { return normalize(job, rec) })
}

// userID is a record's id, which must be sent once.
func userID(id *httpsource.Member[int64]) (string, error) {
	if id.Value() == nil {
		return "", errors.New("record has no id")
	}
	if err := id.Optional("id"); err != nil {
		return "", err
	}
	return strconv.FormatInt(id.V, 10), nil
}

// normalize maps a record to schema v1: name is the full name (Medipim has
// no first or last name), organization is the organization id, and the
// unix-second timestamps become UTC instants. Medipim says nothing about
// whether a user is active, so active stays null.
func normalize(job httpsource.Job, rec *record) (schema.User, error) {
	id, err := userID(&rec.ID)
	if err != nil {
		return schema.User{}, err
	}
	u := schema.User{
		Provider:    Name,
		Job:         job.Name,
		ID:          id,
		ExtractedAt: job.ExtractedAt,
		CreatedAt:   unixTime(rec.Meta.CreatedAt),
		UpdatedAt:   unixTime(rec.Meta.UpdatedAt),
	}
	if rec.Name != nil {
		u.FullName = schema.Some(*rec.Name)
	}
	if rec.Organization != nil {
		u.OrganizationID = schema.Some(strconv.FormatInt(*rec.Organization, 10))
	}
	return u, nil
}

func unixTime(sec *int64) schema.Null[time.Time] {
	if sec == nil {
		return schema.Null[time.Time]{}
	}
	return schema.SomeTime(time.Unix(*sec, 0))
}
