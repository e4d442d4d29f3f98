package medipim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// response is the query's answer; T is record on the hot path, or
// json.RawMessage when the job keeps each record's raw JSON.
type response[T any] struct {
	Meta struct {
		Total *int64 `json:"total"`
	} `json:"meta"`
	Results []T `json:"results"`
}

// record is one user as the API sends it. Pointers tell null and absent
// apart from zero values.
type record struct {
	ID           *int64  `json:"id"`
	Name         *string `json:"name"`
	Organization *int64  `json:"organization"`
	Meta         struct {
		CreatedAt *int64 `json:"createdAt"`
		UpdatedAt *int64 `json:"updatedAt"`
	} `json:"meta"`
}

// decodePage decodes and normalizes page index of size records. Errors do
// not name the job or page: the caller adds them.
func decodePage(job httpsource.Job, body []byte, index, size int) (httpsource.Page, error) {
	var (
		users []schema.User
		total *int64
		err   error
	)
	if job.IncludeRaw {
		users, total, err = decodeRaw(job, body)
	} else {
		users, total, err = decodeRecords(job, body)
	}
	if err != nil {
		return httpsource.Page{}, err
	}
	page := httpsource.Page{Users: users}
	if total == nil {
		// Not documented to happen; a short page is then the only end marker.
		page.Last = len(users) < size
		return page, nil
	}
	pages := max(1, int((*total+int64(size)-1)/int64(size)))
	page.Total = schema.Some(*total)
	page.Pages = schema.Some(pages)
	page.Last = index+1 >= pages
	return page, nil
}

func decodeRecords(job httpsource.Job, body []byte) ([]schema.User, *int64, error) {
	var resp response[record]
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, nil, fmt.Errorf("decode response: %w", err)
	}
	users := make([]schema.User, len(resp.Results))
	for i := range resp.Results {
		u, err := normalize(job, &resp.Results[i])
		if err != nil {
			return nil, nil, fmt.Errorf("results[%d]: %w", i, err)
		}
		users[i] = u
	}
	return users, resp.Meta.Total, nil
}

func decodeRaw(job httpsource.Job, body []byte) ([]schema.User, *int64, error) {
	var resp response[json.RawMessage]
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, nil, fmt.Errorf("decode response: %w", err)
	}
	users := make([]schema.User, len(resp.Results))
	for i, raw := range resp.Results {
		u, err := normalizeRaw(job, raw)
		if err != nil {
			return nil, nil, fmt.Errorf("results[%d]: %w", i, err)
		}
		users[i] = u
	}
	return users, resp.Meta.Total, nil
}

func normalizeRaw(job httpsource.Job, raw json.RawMessage) (schema.User, error) {
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return schema.User{}, fmt.Errorf("decode record: %w", err)
	}
	u, err := normalize(job, &rec)
	if err != nil {
		return schema.User{}, err
	}
	var buf bytes.Buffer
	// Compact so the raw column does not depend on the API's whitespace.
	if err := json.Compact(&buf, raw); err != nil {
		return schema.User{}, fmt.Errorf("compact record: %w", err)
	}
	u.Raw = buf.Bytes()
	return u, nil
}

// normalize maps a record to schema v1: name is the full name (Medipim has
// no first or last name), organization is the organization id, and the
// unix-second timestamps become UTC instants. Medipim says nothing about
// whether a user is active, so active stays null.
func normalize(job httpsource.Job, rec *record) (schema.User, error) {
	if rec.ID == nil {
		return schema.User{}, errors.New("record has no id")
	}
	u := schema.User{
		Provider:    Name,
		Job:         job.Name,
		ID:          strconv.FormatInt(*rec.ID, 10),
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
