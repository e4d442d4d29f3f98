package requestor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// record is one RequestorUser, whichever wire format it came in. Pointers
// tell null and absent apart from zero values; the key, which names the
// row, must also be sent once. The members without a column reach the
// output only through raw.
type record struct {
	UserProviderKey httpsource.Member[string]
	UserName        *string
	Email           *string
	FirstName       *string
	LastName        *string
	FullName        *string
	Phones          []string
	Language        *language
	CustomerID      *int64 `json:"CustomerId"`
	IsApproved      *bool
	Anonymized      *bool
	IsEndUser       *bool
	IsSmartUser     *bool
	IsOperator      *bool
	IsSuperOperator *bool
	IsAdministrator *bool
	LastUpdatedUtc  *string
}

var errNoKey = errors.New("record has no UserProviderKey")

// language is a user's Language by name, as the XML form sends it.
type language string

// UnmarshalJSON reads the JSON form's Language: the number of the .NET
// enum, or its name should a host be set to write enums as names.
func (l *language) UnmarshalJSON(b []byte) error {
	// Most users send 0. b is one valid JSON value, so ParseInt takes
	// exactly what encoding/json would put in an int64 (it calls ParseInt
	// itself), refusing 1.0, 1e3 and what overflows, without the scan of a
	// second decoder for each user; a name is not tried as a number.
	if b[0] == '-' || b[0] >= '0' && b[0] <= '9' {
		if code, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			*l = language(languageName(code))
			return nil
		}
	}
	var name string
	if json.Unmarshal(b, &name) != nil {
		return fmt.Errorf("language %s is neither a number nor a name", httpsource.Excerpt(b))
	}
	*l = language(name)
	return nil
}

// languageName is the name the XML form gives a Language number. The
// table holds only what the docs show: their example users have Language
// 0 in the JSON sample and en in the XML one. Any other number stays its
// decimal text.
func languageName(code int64) string {
	if code == 0 {
		return "en"
	}
	return strconv.FormatInt(code, 10)
}

// totals is what a page says of the whole listing; nil where it is silent.
type totals struct {
	items, pages *int64
}

// decodePage decodes and normalizes page index of size records, in the
// job's wire format. Errors do not name the job or page: the caller adds
// them.
func decodePage(job httpsource.Job, body []byte, index, size int) (httpsource.Page, error) {
	decode := decodeJSON
	if job.WireFormat == WireXML {
		decode = decodeXML
	}
	users, t, err := decode(job, body)
	if err != nil {
		return httpsource.Page{}, err
	}
	if err := errors.Join(httpsource.CheckCount("PagedUsers.TotalItems", t.items),
		httpsource.CheckCount("PagedUsers.TotalPages", t.pages)); err != nil {
		return httpsource.Page{}, err
	}
	page := httpsource.NumberedPage(users, t.items, index, size)
	// The pages are fetched by counting them from TotalItems; an API that
	// pages by another size (a server-side cap) would leave users out.
	if t.pages != nil && page.Pages.Valid && max(1, *t.pages) != int64(page.Pages.V) {
		return httpsource.Page{}, fmt.Errorf(
			"TotalPages is %d, but TotalItems %d make %d pages of %d: the API seems to cap PageSize, lower the job's page_size",
			*t.pages, *t.items, page.Pages.V, size)
	}
	return page, nil
}

// jsonPage is PagedUsers in the JSON form; T is record on the hot path,
// or json.RawMessage when the job keeps each record's raw JSON.
type jsonPage[T any] struct {
	TotalItems httpsource.Member[int64]
	TotalPages httpsource.Member[int64]
	Items      *[]T // nil: absent or null
}

// decodeJSONPage refuses a page without Items, which the docs always
// send ([] for no users); the totals may be missing, not sent twice.
func decodeJSONPage[T any](body []byte, ids bool) (*jsonPage[T], error) {
	var resp struct{ PagedUsers *jsonPage[T] }
	if err := httpsource.DecodeJSON(body, &resp, httpsource.IDsPath(ids, "PagedUsers", "Items")...); err != nil {
		return nil, err
	}
	p := resp.PagedUsers
	switch {
	case p == nil:
		return nil, errors.New("the response has no PagedUsers")
	case p.Items == nil:
		return nil, errors.New("the response has no PagedUsers.Items")
	}
	return p, errors.Join(p.TotalItems.Optional("PagedUsers.TotalItems"), p.TotalPages.Optional("PagedUsers.TotalPages"))
}

// idRecord is the part of a record a job with IDsOnly reads.
type idRecord struct {
	UserProviderKey httpsource.Member[string]
}

// userKey is a record's UserProviderKey, its id: sent once, not empty.
func userKey(key *httpsource.Member[string]) (string, error) {
	switch {
	case key.Value() == nil:
		return "", errNoKey
	case key.V == "":
		return "", errors.New("record has an empty UserProviderKey")
	}
	if err := key.Optional("UserProviderKey"); err != nil {
		return "", err
	}
	return key.V, nil
}

// decodeJSON decodes a GetUsersResult in the JSON form and normalizes its
// users, keeping each record's JSON when the job asks for raw. The XML
// form has no such shortcut for IDsOnly: its tree is built whole anyway.
func decodeJSON(job httpsource.Job, body []byte) ([]schema.User, totals, error) {
	norm := func(rec *record) (schema.User, error) { return normalize(job, rec) }
	if job.IDsOnly {
		page, err := decodeJSONPage[idRecord](body, true)
		if err != nil {
			return nil, totals{}, err
		}
		users, err := httpsource.IDUsers(*page.Items, func(rec *idRecord) (string, error) { return userKey(&rec.UserProviderKey) })
		return users, totals{page.TotalItems.Value(), page.TotalPages.Value()}, err
	}
	if job.IncludeRaw {
		page, err := decodeJSONPage[json.RawMessage](body, false)
		if err != nil {
			return nil, totals{}, err
		}
		users, err := httpsource.NormalizeRaw(*page.Items, norm)
		return users, totals{page.TotalItems.Value(), page.TotalPages.Value()}, err
	}
	page, err := decodeJSONPage[record](body, false)
	if err != nil {
		return nil, totals{}, err
	}
	users, err := httpsource.NormalizeRecords(*page.Items, norm)
	return users, totals{page.TotalItems.Value(), page.TotalPages.Value()}, err
}

// decodeXML decodes a GetUsersResult in the XML form and normalizes its
// users; with raw, each RequestorUser element is kept as a JSON object.
func decodeXML(job httpsource.Job, body []byte) ([]schema.User, totals, error) {
	root, err := parseXML(body)
	if err != nil {
		return nil, totals{}, fmt.Errorf("decode response: %w", err)
	}
	paged, err := xmlPagedUsers(root)
	if err != nil {
		return nil, totals{}, err
	}
	var t totals
	for _, total := range []struct {
		local string
		out   **int64
	}{{"TotalItems", &t.items}, {"TotalPages", &t.pages}} {
		if _, err := onlyMember(paged, total.local, "PagedUsers."+total.local); err != nil {
			return nil, totals{}, err
		}
		if *total.out, err = paged.integer(total.local); err != nil {
			return nil, totals{}, err
		}
	}
	items, err := xmlItems(paged)
	if err != nil {
		return nil, totals{}, err
	}
	users, err := httpsource.NormalizeRecords(items, func(e *element) (schema.User, error) {
		rec, err := xmlRecord(e)
		if err != nil {
			return schema.User{}, err
		}
		u, err := normalize(job, &rec)
		if err == nil && job.IncludeRaw {
			u.Raw = e.appendJSON(nil)
		}
		return u, err
	})
	return users, t, err
}

func xmlPagedUsers(root *element) (*element, error) {
	if !root.is(nsResults, "GetUsersResult") {
		return nil, fmt.Errorf("response is <%s> in namespace %s, not GetUsersResult in %q",
			httpsource.Excerpt(root.name.Local), httpsource.Excerpt(strconv.Quote(root.name.Space)), nsResults)
	}
	paged, err := onlyMember(root, "PagedUsers", "PagedUsers")
	switch {
	case err != nil:
		return nil, err
	case paged == nil || paged.nil:
		return nil, errors.New("response has no PagedUsers")
	}
	return paged, nil
}

// xmlItems returns the RequestorUser elements of PagedUsers. Items is
// required: the docs always send it, empty for no users.
func xmlItems(paged *element) ([]element, error) {
	items, err := onlyMember(paged, "Items", "PagedUsers.Items")
	switch {
	case err != nil:
		return nil, err
	case items == nil:
		return nil, errors.New("the response has no PagedUsers.Items")
	case items.nil:
		return nil, errors.New("PagedUsers.Items is null")
	case len(items.children) == 0 && strings.TrimSpace(items.text) != "":
		return nil, errors.New("PagedUsers.Items holds text, not RequestorUser elements")
	}
	for i, c := range items.children {
		if !c.is(nsData, "RequestorUser") {
			return nil, fmt.Errorf("results[%d]: Items holds <%s> in namespace %s, not RequestorUser in %q",
				i, httpsource.Excerpt(c.name.Local), httpsource.Excerpt(strconv.Quote(c.name.Space)), nsData)
		}
	}
	return items.children, nil
}

// onlyMember is e.member(local), refusing an e with several: the first
// would win without a word. path names the member in the error.
func onlyMember(e *element, local, path string) (*element, error) {
	var found *element
	for i := range e.children {
		if c := &e.children[i]; c.is(e.name.Space, local) {
			if found != nil {
				return nil, fmt.Errorf("%s is sent more than once", path)
			}
			found = c
		}
	}
	return found, nil
}

// xmlRecord reads the members of a RequestorUser element that have a
// column. Its errors name the user.
func xmlRecord(e *element) (record, error) {
	rec := record{
		UserName:       e.str("UserName"),
		Email:          e.str("Email"),
		FirstName:      e.str("FirstName"),
		LastName:       e.str("LastName"),
		FullName:       e.str("FullName"),
		LastUpdatedUtc: e.str("LastUpdatedUtc"),
	}
	key := e.str("UserProviderKey")
	if key == nil {
		return rec, errNoKey
	}
	if _, err := onlyMember(e, "UserProviderKey", "UserProviderKey"); err != nil {
		return rec, err
	}
	rec.UserProviderKey = httpsource.Sent(*key)
	if name := e.str("Language"); name != nil {
		rec.Language = new(language(*name))
	}
	var errs []error
	var err error
	rec.Phones, err = e.stringList("Phones")
	errs = append(errs, err)
	rec.CustomerID, err = e.integer("CustomerId")
	errs = append(errs, err)
	for _, f := range []struct {
		name string
		out  **bool
	}{
		{"IsApproved", &rec.IsApproved}, {"Anonymized", &rec.Anonymized},
		{"IsEndUser", &rec.IsEndUser}, {"IsSmartUser", &rec.IsSmartUser}, {"IsOperator", &rec.IsOperator},
		{"IsSuperOperator", &rec.IsSuperOperator}, {"IsAdministrator", &rec.IsAdministrator},
	} {
		*f.out, err = e.boolean(f.name)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return rec, fmt.Errorf("user %s: %w", *key, err)
	}
	return rec, nil
}

// normalize maps a record to schema v1 (the contract's Requestor rules):
// id is UserProviderKey, phone the first of Phones, organization_id the
// CustomerId, roles the true Is* flags, and updated_at the only time the
// API gives.
func normalize(job httpsource.Job, rec *record) (schema.User, error) {
	key, err := userKey(&rec.UserProviderKey)
	if err != nil {
		return schema.User{}, err
	}
	updated, err := parseUpdated(rec.LastUpdatedUtc)
	if err != nil {
		return schema.User{}, fmt.Errorf("user %s: LastUpdatedUtc: %w", key, err)
	}
	u := schema.User{
		Provider:    Name,
		Job:         job.Name,
		ID:          key,
		Username:    schema.FromPtr(rec.UserName),
		FirstName:   schema.FromPtr(rec.FirstName),
		LastName:    schema.FromPtr(rec.LastName),
		Email:       schema.FromPtr(rec.Email),
		Phones:      rec.Phones,
		Roles:       roles(rec),
		Active:      active(rec),
		UpdatedAt:   updated,
		ExtractedAt: job.ExtractedAt,
	}
	u.FullName = schema.FullName(schema.FromPtr(rec.FullName), u.FirstName, u.LastName)
	if len(rec.Phones) > 0 {
		u.Phone = schema.Some(rec.Phones[0])
	}
	if rec.Language != nil {
		u.Language = schema.Some(string(*rec.Language))
	}
	if rec.CustomerID != nil {
		u.OrganizationID = schema.Some(strconv.FormatInt(*rec.CustomerID, 10))
	}
	return u, nil
}

// roles lists the true Is* flags in the contract's order. The list is
// empty rather than null when none is true: the API always says.
func roles(rec *record) []string {
	roles := []string{}
	for _, r := range []struct {
		flag *bool
		name string
	}{
		{rec.IsEndUser, "end_user"}, {rec.IsSmartUser, "smart_user"}, {rec.IsOperator, "operator"},
		{rec.IsSuperOperator, "super_operator"}, {rec.IsAdministrator, "administrator"},
	} {
		if r.flag != nil && *r.flag {
			roles = append(roles, r.name)
		}
	}
	return roles
}

// active is IsApproved and not Anonymized. Either flag alone can make a
// user inactive; without IsApproved nothing says the user is active.
func active(rec *record) schema.Null[bool] {
	switch {
	case rec.Anonymized != nil && *rec.Anonymized, rec.IsApproved != nil && !*rec.IsApproved:
		return schema.Some(false)
	case rec.IsApproved != nil:
		return schema.Some(true)
	}
	return schema.Null[bool]{}
}

// parseUpdated reads LastUpdatedUtc; null and "" are no time.
func parseUpdated(s *string) (schema.Null[time.Time], error) {
	if s == nil || *s == "" {
		return schema.Null[time.Time]{}, nil
	}
	t, err := parseDotnetTime(*s)
	if err != nil {
		return schema.Null[time.Time]{}, err
	}
	return schema.SomeTime(t), nil
}
