package kare

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/saas-export/export/sources/httpsource"
)

// kind is the type of a filter's value: it fixes how the value is checked
// and how it is written in the query string.
type kind int

const (
	kindString kind = iota // key=text
	kindBool               // key=true or key=false
	kindInt                // key=12
	kindInts               // repeated key: key=1&key=2
	kindRange              // brackets: key[start]=...&key[end]=...
	kindExtend             // repeated key, each value one of extendOptions
)

func (k kind) String() string {
	switch k {
	case kindBool:
		return "bool"
	case kindInt:
		return "integer"
	case kindInts:
		return "list of integers"
	case kindRange:
		return "{start, end} of RFC 3339 timestamps"
	case kindExtend:
		return "list of strings"
	}
	return "string"
}

// encoding says how a filter of this kind is sent, for `export providers`;
// "" for a plain key=value.
func (k kind) encoding(key string) string {
	switch k {
	case kindInts:
		return fmt.Sprintf("sent as repeated keys: %s=1&%s=2", key, key)
	case kindRange:
		return fmt.Sprintf("sent in UTC to the millisecond as %s[start]=...&%s[end]=...", key, key)
	case kindExtend:
		return fmt.Sprintf("sent as repeated keys: %s=stats&%s=organization", key, key)
	}
	return ""
}

// filterSpec is one filter key a job may set: a query parameter of the API.
type filterSpec struct {
	key  string
	kind kind
	doc  string
}

// filterSpecs lists the filters in the docs' order. whereIsDeleted also
// decides which listings a job exports (see the package doc).
func filterSpecs() []filterSpec {
	return []filterSpec{
		{"extend", kindExtend, "extra data on each user, from: " + strings.Join(extendOptions(), ", ") +
			"; organization fills organization_id, the others reach only raw"},
		{"whereType", kindInts, "users of these types"},
		{"whereFirstName", kindString, "users by first name"},
		{"whereLastName", kindString, "users by last name"},
		{"whereEmail", kindString, "users by email"},
		{"wherePhone", kindString, "users by phone"},
		{"whereLang", kindString, "users by language"},
		{"whereActivatedAt", kindRange, "users activated from start to end; either bound may be left out"},
		{"whereIsDeleted", kindBool, "true: only deleted users; false: only the others; " +
			"unset: both, as two listings (the API hides deleted users unless asked)"},
		{"whereUpdatedAt", kindRange, "users updated from start to end; either bound may be left out; " +
			"an incremental run starts it at its window, unless start is later"},
		{"whereCreatedAt", kindRange, "users created from start to end; either bound may be left out"},
		{"whereText", kindString, "users by text search in name and description"},
		{"whereRuleIds", kindInts, "users with these rules"},
		{"whereMissingRuleIds", kindInts, "users missing these rules"},
		{"whereRuleIdIsInPerimeter", kindInt, "users in the perimeter of this rule"},
		{"whereRuleIdIsNotInPerimeter", kindInt, "users outside the perimeter of this rule"},
		{"whereGuest", kindBool, "guest users (true) or the others (false)"},
		{"whereIsInvited", kindBool, "invited users (true) or the others (false)"},
		{"whereFullName", kindString, "users by full name"},
		{"whereProfessionIds", kindInts, "users with these professions"},
		{"whereDiplomaTitleIds", kindInts, "users with these diploma titles"},
		{"wherePermission", kindInt, "users by permission"},
		{"whereUserIds", kindInts, "users with these ids"},
	}
}

// extendOptions are the values extend takes, in the docs' order.
func extendOptions() []string {
	return []string{"image", "organization", "diplomas", "actions-info", "user-rule-actions-info",
		"last-next-intervention", "stats", "user-rule", "user-organization-actions-info"}
}

func specOf(key string) (filterSpec, bool) {
	for _, s := range filterSpecs() {
		if s.key == key {
			return s, true
		}
	}
	return filterSpec{}, false
}

// sortedList joins names sorted, for messages.
func sortedList(names []string) string {
	return strings.Join(slices.Sorted(slices.Values(names)), ", ")
}

func filterKeyList() string {
	var keys []string
	for _, s := range filterSpecs() {
		keys = append(keys, s.key)
	}
	return sortedList(keys)
}

// notAFilter explains the documented query parameters a filter may not
// set, "" for any other key.
func notAFilter(key string) string {
	switch key {
	case "page", "includeCount", "findId":
		return "not a filter: the export does its own paging"
	case "pageSize":
		return "not a filter: set the job's page_size"
	case "orderBy", "userRuleOrderBy", "subPageSize", "targetRuleId":
		return "not supported: the export leaves it to the API's default"
	}
	return ""
}

// maxSafeInt is the bound of every integer in the docs: JavaScript's
// largest exact integer, 2^53-1.
const maxSafeInt = 1<<53 - 1

// isoMillis is how range bounds are sent: the docs' example format.
const isoMillis = "2006-01-02T15:04:05.000Z"

// CheckConfig checks a job's page size, sort and filter against the API's
// documented parameters, without network access.
func CheckConfig(job httpsource.Job) []httpsource.Problem {
	_, problems := parseJob(job)
	return problems
}

// parseJob returns the query of each listing the job exports, without the
// paging parameters, and every problem found on the way.
func parseJob(job httpsource.Job) ([]url.Values, []httpsource.Problem) {
	var c checker
	if job.PageSize < 0 || job.PageSize > MaxPageSize {
		c.add("page_size", "must be between 1 and %d", MaxPageSize)
	}
	if job.Sort != nil {
		c.add("sort", "not supported: the docs do not describe orderBy")
	}
	q := url.Values{}
	for _, key := range slices.Sorted(maps.Keys(job.Filter)) {
		c.filter(q, "filter."+key, key, job.Filter[key])
	}
	if job.UpdatedSince != nil {
		narrow(q, *job.UpdatedSince)
	}
	return listings(q), c.problems
}

// narrow starts the whereUpdatedAt range at since, for an incremental run,
// unless the job's own start is later; its end stays. Sent to the
// millisecond, since is truncated: a window a little wider loses no user.
func narrow(q url.Values, since time.Time) {
	const key = "whereUpdatedAt[start]"
	start := since.UTC().Format(isoMillis)
	if own := q.Get(key); own > start { // one fixed-width UTC layout: text order is time order
		return
	}
	q.Set(key, start)
}

// listings splits a job without a whereIsDeleted filter into the listing of
// users that are not deleted, then that of deleted users: the API would
// hide the latter.
func listings(q url.Values) []url.Values {
	if q.Has("whereIsDeleted") {
		return []url.Values{q}
	}
	active, deleted := maps.Clone(q), maps.Clone(q) // Set replaces, never modifies, a shared slice
	active.Set("whereIsDeleted", "false")
	deleted.Set("whereIsDeleted", "true")
	return []url.Values{active, deleted}
}

// checker collects every problem of one config, so users see them all at once.
type checker struct {
	problems []httpsource.Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, httpsource.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// filter checks one filter and adds it to q in the API's encoding.
func (c *checker) filter(q url.Values, path, key string, v any) {
	spec, ok := specOf(key)
	if !ok {
		if why := notAFilter(key); why != "" {
			c.add(path, "%s", why)
		} else {
			c.add(path, "unknown filter; valid: %s", filterKeyList())
		}
		return
	}
	switch spec.kind {
	case kindString:
		if s, ok := v.(string); ok && s != "" {
			q.Set(key, s)
		} else {
			c.add(path, "must be a non-empty string")
		}
	case kindBool:
		if b, ok := v.(bool); ok {
			q.Set(key, strconv.FormatBool(b))
		} else {
			c.add(path, "must be true or false")
		}
	case kindInt:
		if n, ok := c.integer(path, v); ok {
			q.Set(key, strconv.FormatInt(n, 10))
		}
	case kindInts:
		if ns, ok := c.integers(path, v); ok {
			q[key] = ns
		}
	case kindRange:
		if start, end, ok := c.timeRange(path, v); ok {
			setBound(q, key+"[start]", start)
			setBound(q, key+"[end]", end)
		}
	case kindExtend:
		if opts, ok := c.extend(path, v); ok && len(opts) > 0 {
			q[key] = opts
		}
	}
}

func (c *checker) integer(path string, v any) (int64, bool) {
	n, ok := httpsource.AsInt(v)
	switch {
	case !ok:
		c.add(path, "must be an integer")
	case n < -maxSafeInt || n > maxSafeInt:
		c.add(path, "must be between %d and %d", -maxSafeInt, maxSafeInt)
	default:
		return n, true
	}
	return 0, false
}

// integers checks a non-empty list: an empty one would send no key at all,
// silently dropping the filter.
func (c *checker) integers(path string, v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		c.add(path, "must be a non-empty list of integers")
		return nil, false
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		if n, ok := c.integer(fmt.Sprintf("%s[%d]", path, i), e); ok {
			out = append(out, strconv.FormatInt(n, 10))
		}
	}
	return out, len(out) == len(list)
}

// timeRange checks {start, end}: at least one bound, start not after end.
// A nil bound is one left out.
func (c *checker) timeRange(path string, v any) (start, end *time.Time, ok bool) {
	obj, isMap := v.(map[string]any)
	if !isMap || len(obj) == 0 {
		c.add(path, "must be {start, end} with RFC 3339 timestamps; either may be left out, not both")
		return nil, nil, false
	}
	before := len(c.problems)
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		switch key {
		case "start":
			start = c.timestamp(path+".start", obj[key])
		case "end":
			end = c.timestamp(path+".end", obj[key])
		default:
			c.add(path+"."+key, "unknown key; valid: end, start")
		}
	}
	if len(c.problems) > before {
		return nil, nil, false
	}
	if start != nil && end != nil && start.After(*end) {
		c.add(path, "start %s is after end %s", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
		return nil, nil, false
	}
	return start, end, true
}

// timestamp reads an RFC 3339 text, or the time.Time YAML makes of an
// unquoted timestamp.
func (c *checker) timestamp(path string, v any) *time.Time {
	switch t := v.(type) {
	case time.Time:
		return &t
	case string:
		if parsed, err := time.Parse(time.RFC3339, t); err == nil {
			return &parsed
		}
	}
	c.add(path, "must be an RFC 3339 timestamp, e.g. 2021-01-01T00:00:00Z")
	return nil
}

func setBound(q url.Values, key string, t *time.Time) {
	if t != nil {
		q.Set(key, t.UTC().Format(isoMillis))
	}
}

func (c *checker) extend(path string, v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		c.add(path, "must be a list of: %s", sortedList(extendOptions()))
		return nil, false
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, _ := e.(string)
		if !slices.Contains(extendOptions(), s) {
			c.add(fmt.Sprintf("%s[%d]", path, i), "unknown option %s; valid: %s", quote(e), sortedList(extendOptions()))
			continue
		}
		out = append(out, s)
	}
	return out, len(out) == len(list)
}

// quote shows a filter value in a message: strings quoted, others as is.
func quote(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}
