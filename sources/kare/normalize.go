package kare

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// response is the list envelope; T is record on the hot path, or
// json.RawMessage when the job keeps each record's raw JSON. pagination
// only echoes the request.
type response[T any] struct {
	Data       *[]T                     `json:"data"` // nil: absent or null
	TotalCount httpsource.Member[int64] `json:"totalCount"`
}

func (r response[T]) Records() []T {
	if r.Data == nil {
		return nil
	}
	return *r.Data
}

func (r response[T]) Total() *int64         { return r.TotalCount.Value() }
func (r response[T]) RecordsPath() []string { return []string{"data"} }

// Check refuses a response without data, which the docs mark required.
func (r response[T]) Check() error {
	if r.Data == nil {
		return errors.New("the response has no data")
	}
	return errors.Join(r.TotalCount.Optional("totalCount"), httpsource.CheckCount("totalCount", r.Total()))
}

// record is the part of a user that has a column. Pointers tell null and
// absent apart from zero values; the id, which names the row, must also
// be sent once. Everything else (type, permissions, profession, diplomas,
// userRules, stats, ...) reaches the output only through raw.
type record struct {
	ID        httpsource.Member[int64] `json:"id"`
	Key       *string                  `json:"key"`
	FirstName *string                  `json:"firstName"`
	LastName  *string                  `json:"lastName"`
	Email     *string                  `json:"email"`
	Phone     *string                  `json:"phone"`
	Lang      *string                  `json:"lang"`
	CreatedAt *string                  `json:"createdAt"`
	UpdatedAt *string                  `json:"updatedAt"`
	DeletedAt *string                  `json:"deletedAt"`
	// extend=organization adds the organization, in a shape the docs do
	// not give: an organization object with an id, or an organizationId.
	Organization *struct {
		ID *idText `json:"id"`
	} `json:"organization"`
	OrganizationID *idText `json:"organizationId"`
}

// idText is an id sent as a JSON number or string, kept as its text: the
// organization's id type is not documented.
type idText string

func (t *idText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = idText(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("organization id must be a number or a string, got %s", httpsource.Excerpt(b))
	}
	*t = idText(n)
	return nil
}

// decodePage decodes and normalizes page index of a listing paged by size.
// Errors do not name the job or page: the caller adds them. Without
// totalCount (only sent on includeCount=true), a short page ends the
// listing.
func decodePage(job httpsource.Job, body []byte, index, size int) (httpsource.Page, error) {
	if job.IDsOnly {
		return httpsource.DecodeIDPage[idRecord, response[idRecord]](
			body, index, size, func(rec *idRecord) (string, error) { return userID(&rec.ID) })
	}
	return httpsource.DecodePage[record, response[json.RawMessage], response[record]](
		body, job.IncludeRaw, index, size, func(rec *record) (schema.User, error) { return normalize(job, rec) })
}

// idRecord is the part of a record a job with IDsOnly reads.
type idRecord struct {
	ID httpsource.Member[int64] `json:"id"`
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

// normalize maps a record to schema v1. The API has one phone number, so
// phones is that one number, or null when it sends none. A user is active
// unless deletedAt is set (the contract).
func normalize(job httpsource.Job, rec *record) (schema.User, error) {
	id, err := userID(&rec.ID)
	if err != nil {
		return schema.User{}, err
	}
	u := schema.User{
		Provider:       Name,
		Job:            job.Name,
		ID:             id,
		Key:            schema.FromPtr(rec.Key),
		FirstName:      schema.FromPtr(rec.FirstName),
		LastName:       schema.FromPtr(rec.LastName),
		Email:          schema.FromPtr(rec.Email),
		Phone:          schema.FromPtr(rec.Phone),
		Language:       schema.FromPtr(rec.Lang),
		OrganizationID: organizationID(rec),
		ExtractedAt:    job.ExtractedAt,
	}
	u.FullName = schema.FullName(schema.Null[string]{}, u.FirstName, u.LastName)
	if rec.Phone != nil {
		u.Phones = []string{*rec.Phone}
	}
	for _, f := range []struct {
		name string
		in   *string
		out  *schema.Null[time.Time]
	}{
		{"createdAt", rec.CreatedAt, &u.CreatedAt},
		{"updatedAt", rec.UpdatedAt, &u.UpdatedAt},
		{"deletedAt", rec.DeletedAt, &u.DeletedAt},
	} {
		if *f.out, err = schema.ParseTime(f.in); err != nil {
			return schema.User{}, fmt.Errorf("user %s: %s: %w", id, f.name, err)
		}
	}
	u.Active = schema.Some(!u.DeletedAt.Valid)
	return u, nil
}

// organizationID prefers the organization object's id to organizationId.
func organizationID(rec *record) schema.Null[string] {
	switch {
	case rec.Organization != nil && rec.Organization.ID != nil:
		return schema.Some(string(*rec.Organization.ID))
	case rec.OrganizationID != nil:
		return schema.Some(string(*rec.OrganizationID))
	}
	return schema.Null[string]{}
}
