package mctime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// response is the API's envelope: the users sit in items[0].data. T is
// record on the hot path, or json.RawMessage when the job keeps each
// record's raw JSON.
type response[T any] struct {
	Items []item[T]               `json:"items"`
	Valid httpsource.Member[bool] `json:"valid"`
}

type item[T any] struct {
	Message string   `json:"message"`
	Data    *data[T] `json:"data"`
}

// data holds one page. The docs send page and pageSize as strings, and
// pageSize is the number of pages, not of users a page; both are kept raw
// and read by parseCount, which also takes numbers.
type data[T any] struct {
	Users     *[]T                               `json:"users"` // nil: absent or null
	Page      httpsource.Member[json.RawMessage] `json:"page"`
	PageCount httpsource.Member[json.RawMessage] `json:"pageSize"`
}

// record is one user as the API sends it. Pointers tell null and absent
// apart from zero values; the id, which names the row, must also be sent
// once.
type record struct {
	ID                httpsource.Member[string] `json:"id"`
	FirstName         *string                   `json:"firstName"`
	LastName          *string                   `json:"lastName"`
	Email             *string                   `json:"email"`
	MobilePhoneNumber *string                   `json:"mobilePhoneNumber"`
}

// count is a page number or page count as the response gives it, if it does.
type count struct {
	n     int
	valid bool
}

// paging is what a response says of its place in the listing.
type paging struct {
	page  count // 1-based
	pages count
}

// decodePage decodes and normalizes page index (0-based; the API's page
// index+1) of a listing whose users are all active or all inactive.
// Errors do not name the provider or page: the caller adds them.
func decodePage(job httpsource.Job, body []byte, index int, active bool) (httpsource.Page, error) {
	users, at, err := decodeUsers(job, body, active)
	if err != nil {
		return httpsource.Page{}, err
	}
	// An answer for another page than asked would duplicate or skip users.
	if at.page.valid && at.page.n != index+1 {
		return httpsource.Page{}, fmt.Errorf("asked for page %d, the API answered page %d", index+1, at.page.n)
	}
	return countedPage(users, at.pages, index), nil
}

// countedPage is page index of a listing of pages pages, when the API said.
// McTime gives no user count, so Total stays null. An empty listing is
// still one (empty) page, whether the API counts it as 0 or 1 page.
// Without a count, a short page is the only end marker.
func countedPage(users []schema.User, pages count, index int) httpsource.Page {
	page := httpsource.Page{Users: users}
	if !pages.valid {
		page.Last = len(users) < PageSize
		return page
	}
	n := max(1, pages.n)
	page.Pages = schema.Some(n)
	page.Last = index+1 >= n
	return page
}

// decodeUsers decodes a response and normalizes its users, keeping each
// record's JSON when the job asks for raw.
func decodeUsers(job httpsource.Job, body []byte, active bool) ([]schema.User, paging, error) {
	norm := func(rec *record) (schema.User, error) { return normalize(job, rec, active) }
	switch {
	case job.IDsOnly:
		d, at, err := decodeData[idRecord](body, true)
		if err != nil {
			return nil, at, err
		}
		users, err := httpsource.IDUsers(*d.Users, func(rec *idRecord) (string, error) { return userID(&rec.ID) })
		return users, at, err
	case job.IncludeRaw:
		d, at, err := decodeData[json.RawMessage](body, false)
		if err != nil {
			return nil, at, err
		}
		users, err := httpsource.NormalizeRaw(*d.Users, norm)
		return users, at, err
	}
	d, at, err := decodeData[record](body, false)
	if err != nil {
		return nil, at, err
	}
	users, err := httpsource.NormalizeRecords(*d.Users, norm)
	return users, at, err
}

// decodeData decodes the envelope and returns its one data object and
// where the page is in the listing.
func decodeData[T any](body []byte, ids bool) (*data[T], paging, error) {
	var resp response[T]
	if err := httpsource.DecodeJSON(body, &resp, httpsource.IDsPath(ids, "items", "data", "users")...); err != nil {
		return nil, paging{}, err
	}
	d, err := resp.data()
	if err != nil {
		return nil, paging{}, err
	}
	// The users are required: the docs always send them, [] for none.
	if d.Users == nil {
		return nil, paging{}, errors.New("the response has no items[0].data.users")
	}
	if err := errors.Join(d.Page.Optional("items[0].data.page"), d.PageCount.Optional("items[0].data.pageSize")); err != nil {
		return nil, paging{}, err
	}
	var at paging
	if at.page, err = parseCount("page", d.Page.V); err != nil {
		return nil, paging{}, err
	}
	if at.pages, err = parseCount("pageSize", d.PageCount.V); err != nil {
		return nil, paging{}, err
	}
	return d, at, nil
}

// data checks the envelope: valid not false, and exactly one item with
// data. More items are refused rather than ignored, since users in them
// would be lost without a word.
func (r *response[T]) data() (*data[T], error) {
	items := r.Items
	if err := r.Valid.Optional("valid"); err != nil {
		return nil, err
	}
	if r.Valid.Value() != nil && !r.Valid.V {
		return nil, fmt.Errorf("the API answered valid=false%s", messages(items))
	}
	switch len(items) {
	case 0:
		return nil, errors.New("the response has no items")
	case 1:
	default:
		return nil, fmt.Errorf("the response has %d items; the users of one page come in one", len(items))
	}
	if items[0].Data == nil {
		return nil, fmt.Errorf("items[0] has no data%s", messages(items))
	}
	return items[0].Data, nil
}

// messages quotes the items' messages, which explain a refusal.
func messages[T any](items []item[T]) string {
	var quoted []string
	for _, it := range items {
		if it.Message != "" {
			quoted = append(quoted, strconv.Quote(it.Message))
		}
	}
	if len(quoted) == 0 {
		return ""
	}
	return ": " + strings.Join(quoted, ", ")
}

// parseCount reads a non-negative integer sent as a JSON string (as the
// docs show) or a number; absent, null and "" are no value.
func parseCount(name string, raw json.RawMessage) (count, error) {
	text := string(bytes.TrimSpace(raw))
	if text == "" || text == "null" {
		return count{}, nil
	}
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(raw, &text); err != nil {
			return count{}, fmt.Errorf("%s: %w", name, err)
		}
		if text = strings.TrimSpace(text); text == "" {
			return count{}, nil
		}
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 {
		return count{}, fmt.Errorf("%s: want a non-negative integer, got %s", name, httpsource.Excerpt(raw))
	}
	return count{n: n, valid: true}, nil
}

// normalize maps a record to schema v1. The API has one phone number, so
// phones is that one number, or null when the API sends none; it sends no
// organization, so organization_id stays null even when the job filters
// on one. active is the listing's: the API tells users apart only by
// which listing returns them.
func normalize(job httpsource.Job, rec *record, active bool) (schema.User, error) {
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
		Phone:       schema.FromPtr(rec.MobilePhoneNumber),
		Active:      schema.Some(active),
		ExtractedAt: job.ExtractedAt,
	}
	u.FullName = schema.FullName(schema.Null[string]{}, u.FirstName, u.LastName)
	if rec.MobilePhoneNumber != nil {
		u.Phones = []string{*rec.MobilePhoneNumber}
	}
	return u, nil
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
