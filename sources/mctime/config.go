package mctime

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/saas-export/export/sources/httpsource"
)

// filterKeyList is the filter keys, sorted, for messages; it is also the
// set that is checked.
const filterKeyList = "inactive, organizationId, organizationName, roles, userIds"

// maxScopeIDs bounds the user ids a 401 error lists.
const maxScopeIDs = 10

// plan is what a job asks of the API: the filter parameters every page
// sends, and which listings to export.
type plan struct {
	query url.Values // userIds, organizationId, organizationName, roles
	// actives lists the listings in export order: true for the active
	// users, false for the inactive ones.
	actives []bool
	// scope names the ids and organization the job asks for, for the error
	// of a 401; "" when the job asks for none.
	scope string
}

// CheckConfig checks a job's page size, sort and filter against the API's
// documented parameters, without network access.
func CheckConfig(job httpsource.Job) []httpsource.Problem {
	_, problems := parseJob(job)
	return problems
}

// parseJob turns the job's filter into the plan of its requests, and
// reports every problem found on the way.
func parseJob(job httpsource.Job) (plan, []httpsource.Problem) {
	var c checker
	if job.PageSize != 0 && job.PageSize != PageSize {
		c.add("page_size", "must be %d: the API's fixed page size", PageSize)
	}
	if job.Sort != nil {
		c.add("sort", "not supported: the API has no sort order")
	}
	p := plan{query: url.Values{}, actives: []bool{true, false}}
	for _, key := range slices.Sorted(maps.Keys(job.Filter)) {
		c.filterValue(&p, "filter."+key, key, job.Filter[key])
	}
	if p.query.Has("organizationId") && p.query.Has("organizationName") {
		c.add("filter.organizationName", "the API ignores it when organizationId is set: set only one of the two")
	}
	p.scope = scope(p.query)
	return p, c.problems
}

// checker collects every problem of one config, so users see them all at once.
type checker struct {
	problems []httpsource.Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, httpsource.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// filterValue checks one filter and records it in p.
func (c *checker) filterValue(p *plan, path, key string, v any) {
	switch key {
	case "userIds":
		p.setList(key, c.list(path, v, "a user id or a non-empty list of user ids", c.id))
	case "organizationId":
		if id, ok := c.id(path, v); ok {
			p.query.Set(key, id)
		}
	case "organizationName":
		if s, ok := v.(string); ok && s != "" {
			p.query.Set(key, s)
		} else {
			c.add(path, "must be a non-empty string")
		}
	case "roles":
		p.setList(key, c.list(path, v, "a role or a non-empty list of roles", c.role))
	case "inactive":
		if b, ok := v.(bool); ok {
			p.actives = []bool{!b}
		} else {
			c.add(path, "must be true or false")
		}
	default:
		c.unknown(path, key)
	}
}

// setList sends key once for each value: the API takes repeated
// parameters (userIds=1&userIds=2), not a joined list.
func (p *plan) setList(key string, values []string) {
	if len(values) > 0 {
		p.query[key] = values
	}
}

// unknown reports a key that is not a filter. The API's names are
// case-sensitive camelCase, so a key that only differs in case or
// separators (user_ids, UserIDs) gets a hint.
func (c *checker) unknown(path, key string) {
	fold := func(s string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s)) }
	for _, valid := range strings.Split(filterKeyList, ", ") {
		if fold(key) == fold(valid) {
			c.add(path, "unknown filter (keys are case-sensitive: did you mean %s?); valid: %s", valid, filterKeyList)
			return
		}
	}
	c.add(path, "unknown filter; valid: %s", filterKeyList)
}

// list accepts one value or a non-empty list of values, each checked by
// elem at its own path, and returns the values that passed.
func (c *checker) list(path string, v any, want string, elem func(path string, v any) (string, bool)) []string {
	var items []any
	switch l := v.(type) {
	case string:
		items = []any{l}
	case []any:
		items = l
	case []string: // a filter built in Go rather than read from YAML
		for _, s := range l {
			items = append(items, s)
		}
	}
	if len(items) == 0 {
		c.add(path, "must be %s", want)
		return nil
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		at := path
		if _, single := v.(string); !single {
			at = fmt.Sprintf("%s[%d]", path, i)
		}
		if s, ok := elem(at, item); ok {
			out = append(out, s)
		}
	}
	return out
}

// id accepts an id as a non-empty string. The API's ids are strings; a
// YAML number is refused rather than converted, since its text may not be
// the id's (0123 and 1e3 do not survive YAML).
func (c *checker) id(path string, v any) (string, bool) {
	if s, ok := v.(string); ok && s != "" {
		return s, true
	}
	if _, isNumber := httpsource.AsInt(v); isNumber {
		c.add(path, "must be a string: quote a numeric id (%q)", fmt.Sprint(v))
	} else {
		c.add(path, "must be a non-empty string")
	}
	return "", false
}

func (c *checker) role(path string, v any) (string, bool) {
	s, isString := v.(string)
	switch {
	case slices.Contains(Roles(), s):
		return s, true
	case isString:
		c.add(path, "unknown role %q; valid: %s", s, strings.Join(Roles(), ", "))
	default:
		c.add(path, "must be a role: %s", strings.Join(Roles(), ", "))
	}
	return "", false
}

// scope names the ids and organization of a filter, as a 401 error shows
// them: userIds "a", "b"; organizationId "7".
func scope(q url.Values) string {
	var parts []string
	if ids := q["userIds"]; len(ids) > 0 {
		parts = append(parts, "userIds "+quoteList(ids, maxScopeIDs))
	}
	for _, key := range []string{"organizationId", "organizationName"} {
		if q.Has(key) {
			parts = append(parts, key+" "+strconv.Quote(q.Get(key)))
		}
	}
	return strings.Join(parts, "; ")
}

// quoteList quotes the first limit items, and counts the others.
func quoteList(items []string, limit int) string {
	shown := items[:min(len(items), limit)]
	quoted := make([]string, 0, len(shown)+1)
	for _, s := range shown {
		quoted = append(quoted, strconv.Quote(s))
	}
	if len(items) > limit {
		quoted = append(quoted, fmt.Sprintf("and %d more", len(items)-limit))
	}
	return strings.Join(quoted, ", ")
}
