package nameshield

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/saas-export/export/sources/httpsource"
)

// Sorted lists for messages; they are also the sets that are checked.
const (
	filterKeyList = "created_by, customer_id, email, firstname, id, include_subsidiaries, lastname, updated_by"
	sortFieldList = "created_at, customer_id, email, expires_at, firstname, id, language, last_login_at, lastname, phone, updated_at"
)

// CheckConfig checks a job's page size, filter and sort against the API's
// documented parameters, without network access.
func CheckConfig(job httpsource.Job) []httpsource.Problem {
	_, problems := parseJob(job)
	return problems
}

// parseJob turns the job's filter and sort into the query parameters every
// page sends, and reports every problem found on the way.
func parseJob(job httpsource.Job) (url.Values, []httpsource.Problem) {
	var c checker
	if job.PageSize < 0 || job.PageSize > MaxPageSize {
		c.add("page_size", "must be between 1 and %d", MaxPageSize)
	}
	q := url.Values{}
	for _, key := range slices.Sorted(maps.Keys(job.Filter)) {
		if v, ok := c.filterValue("filter."+key, key, job.Filter[key]); ok {
			q.Set(key, v)
		}
	}
	sort := c.sort("sort", job.Sort)
	if job.UpdatedSince != nil {
		// Newest first, so that the read can stop where the window ends
		// (see pastWindow). The pipeline refuses sort on an incremental
		// job at validate; a caller that did not gets the problem here,
		// rather than another order than it asked for.
		if job.Sort != nil {
			c.add("sort", "cannot be combined with an incremental run, which sorts by %s", incrementalSort)
		}
		sort = []string{incrementalSort}
	}
	q["sort[]"] = withIDTieBreak(sort)
	return q, c.problems
}

// incrementalSort lists the most recently updated users first.
const incrementalSort = "updated_at:desc"

// withIDTieBreak appends id:asc unless the sort already uses id. Offset
// paging is only stable over a total order, and id is unique; without it
// users with equal sort keys could move between pages during the export.
func withIDTieBreak(sort []string) []string {
	for _, s := range sort {
		if strings.HasPrefix(s, "id:") {
			return sort
		}
	}
	return append(sort, "id:asc")
}

// checker collects every problem of one config, so users see them all at once.
type checker struct {
	problems []httpsource.Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, httpsource.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// filterValue checks one filter and returns it as query parameter text.
func (c *checker) filterValue(path, key string, v any) (string, bool) {
	switch key {
	case "customer_id":
		if n, ok := httpsource.AsInt(v); ok {
			return strconv.FormatInt(n, 10), true
		}
		c.add(path, "must be an integer")
	case "include_subsidiaries":
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), true
		}
		c.add(path, "must be true or false")
	case "id", "firstname", "lastname", "email", "created_by", "updated_by":
		if s, ok := v.(string); ok && s != "" {
			return s, true
		}
		c.add(path, "must be a non-empty string (* is a wildcard)")
	default:
		c.add(path, "unknown filter; valid: %s", filterKeyList)
	}
	return "", false
}

// sort checks a list of "field:asc|desc" entries; nil means the default.
func (c *checker) sort(path string, v any) []string {
	var entries []any
	switch list := v.(type) {
	case nil:
		return nil
	case []any:
		entries = list
	case []string:
		for _, s := range list {
			entries = append(entries, s)
		}
	default:
		c.add(path, `must be a list of "field:asc" or "field:desc" strings`)
		return nil
	}
	sort := make([]string, 0, len(entries))
	for i, e := range entries {
		if s, ok := c.sortEntry(fmt.Sprintf("%s[%d]", path, i), e); ok {
			sort = append(sort, s)
		}
	}
	return sort
}

func (c *checker) sortEntry(path string, v any) (string, bool) {
	s, _ := v.(string)
	field, dir, found := strings.Cut(s, ":")
	switch {
	case !found:
		c.add(path, `must be "field:asc" or "field:desc"`)
	case !isSortField(field):
		c.add(path, "unknown field %q; sortable: %s", field, sortFieldList)
	case dir != "asc" && dir != "desc":
		c.add(path, "direction must be asc or desc, got %q", dir)
	default:
		return s, true
	}
	return "", false
}

func isSortField(f string) bool {
	return slices.Contains(strings.Split(sortFieldList, ", "), f)
}
