package nameshield

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// response is the UserSearchResult envelope; T is record on the hot path,
// or json.RawMessage when the job keeps each record's raw JSON.
type response[T any] struct {
	Data struct {
		Total   httpsource.Member[int64] `json:"total"`
		Results *[]T                     `json:"results"` // nil: absent or null
	} `json:"data"`
}

func (r response[T]) Records() []T {
	if r.Data.Results == nil {
		return nil
	}
	return *r.Data.Results
}

func (r response[T]) Total() *int64         { return r.Data.Total.Value() }
func (r response[T]) RecordsPath() []string { return []string{"data", "results"} }

// Check refuses a response without data.results: the docs always send
// them, [] for no users. data.total may be missing (undocumented), not
// wrong.
func (r response[T]) Check() error {
	if r.Data.Results == nil {
		return errors.New("the response has no data.results")
	}
	return errors.Join(r.Data.Total.Optional("data.total"), httpsource.CheckCount("data.total", r.Total()))
}

// record is one user as the API sends it. Pointers tell null and absent
// apart from zero values; the id, which names the row, must also be sent
// once. created_by and updated_by have no column and reach the output
// only through raw.
type record struct {
	ID          httpsource.Member[string] `json:"id"`
	FirstName   *string                   `json:"firstname"`
	LastName    *string                   `json:"lastname"`
	Email       *string                   `json:"email"`
	Language    *string                   `json:"language"`
	Phone       *string                   `json:"phone"`
	CustomerID  *int64                    `json:"customer_id"`
	ExpiresAt   *string                   `json:"expires_at"`
	LastLoginAt *string                   `json:"last_login_at"`
	CreatedAt   *string                   `json:"created_at"`
	UpdatedAt   *string                   `json:"updated_at"`
}

// decodePage decodes and normalizes page index of limit records. Errors do
// not name the job or page: the caller adds them. A response without a
// total is not documented to happen; a short page then ends the listing.
func decodePage(job httpsource.Job, body []byte, index, limit int) (httpsource.Page, error) {
	if job.IDsOnly {
		return httpsource.DecodeIDPage[idRecord, response[idRecord]](
			body, index, limit, func(rec *idRecord) (string, error) { return userID(&rec.ID) })
	}
	return httpsource.DecodePage[record, response[json.RawMessage], response[record]](
		body, job.IncludeRaw, index, limit, func(rec *record) (schema.User, error) { return normalize(job, rec) })
}

// idRecord is the part of a record a job with IDsOnly reads.
type idRecord struct {
	ID httpsource.Member[string] `json:"id"`
}

// userID is a record's id, which must be sent once, and not empty.
func userID(id *httpsource.Member[string]) (string, error) {
	switch {
	case id.Value() == nil:
		return "", errors.New("record has no id")
	case id.V == "":
		return "", errors.New("record has an empty id")
	}
	if err := id.Optional("id"); err != nil {
		return "", err
	}
	return id.V, nil
}

// normalize maps a record to schema v1. The API has one phone number, so
// phones is that one number, or null when the API sends none. A user is
// active unless expires_at is at or before the run's clock (the contract).
func normalize(job httpsource.Job, rec *record) (schema.User, error) {
	id, err := userID(&rec.ID)
	if err != nil {
		return schema.User{}, err
	}
	u := schema.User{
		Provider:    Name,
		Job:         job.Name,
		ID:          id,
		FirstName:   schema.FromPtr(rec.FirstName),
		LastName:    schema.FromPtr(rec.LastName),
		Email:       schema.FromPtr(rec.Email),
		Phone:       schema.FromPtr(rec.Phone),
		Language:    schema.FromPtr(rec.Language),
		ExtractedAt: job.ExtractedAt,
	}
	u.FullName = schema.FullName(schema.Null[string]{}, u.FirstName, u.LastName)
	if rec.Phone != nil {
		u.Phones = []string{*rec.Phone}
	}
	if rec.CustomerID != nil {
		u.OrganizationID = schema.Some(strconv.FormatInt(*rec.CustomerID, 10))
	}
	for _, f := range []struct {
		name string
		in   *string
		out  *schema.Null[time.Time]
	}{
		{"created_at", rec.CreatedAt, &u.CreatedAt},
		{"updated_at", rec.UpdatedAt, &u.UpdatedAt},
		{"expires_at", rec.ExpiresAt, &u.ExpiresAt},
		{"last_login_at", rec.LastLoginAt, &u.LastLoginAt},
	} {
		if *f.out, err = schema.ParseTime(f.in); err != nil {
			return schema.User{}, fmt.Errorf("user %s: %s: %w", rec.ID.V, f.name, err)
		}
	}
	u.Active = schema.Some(!u.ExpiresAt.Valid || u.ExpiresAt.V.After(job.ExtractedAt))
	return u, nil
}
