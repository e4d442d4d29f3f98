package requestor

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/saas-export/export/sources/httpsource"
)

// filterKeyList is the filter keys, sorted, for messages; it is also the
// set that is checked.
const filterKeyList = "CustomerId, Email, IsAdministrator, IsEndUser, IsOperator, IsSmartUser, IsSuperOperator, " +
	"LastUpdatedDateFromUtc, LastUpdatedDateUntilUtc, UserName"

// CheckConfig checks a job's page size, wire format and filter against the
// API's documented parameters, without network access.
func CheckConfig(job httpsource.Job) []httpsource.Problem {
	_, problems := parseJob(job)
	return problems
}

// parseJob turns the job's filter into the UsersFilterPost every page
// sends (PageIndex and PageSize are set per page), and reports every
// problem found on the way.
func parseJob(job httpsource.Job) (usersFilterPost, []httpsource.Problem) {
	var c checker
	if job.PageSize < 0 || job.PageSize > MaxPageSize {
		c.add("page_size", "must be between 1 and %d", MaxPageSize)
	}
	if job.WireFormat != "" && !slices.Contains(WireFormats(), job.WireFormat) {
		c.add("wire_format", "must be %s", strings.Join(WireFormats(), " or "))
	}
	if job.Sort != nil {
		c.add("sort", "not supported: the API has no sort order")
	}
	var post usersFilterPost
	for _, key := range slices.Sorted(maps.Keys(job.Filter)) {
		c.filterValue(&post, "filter."+key, key, job.Filter[key])
	}
	if from, until := post.LastUpdatedDateFromUtc, post.LastUpdatedDateUntilUtc; from != nil && until != nil &&
		time.Time(*until).Before(time.Time(*from)) {
		c.add("filter.LastUpdatedDateUntilUtc", "is before LastUpdatedDateFromUtc: no user can match")
	}
	// An incremental run starts at its window, unless the job's own
	// LastUpdatedDateFromUtc is later; LastUpdatedDateUntilUtc stays.
	if since := job.UpdatedSince; since != nil {
		if from := post.LastUpdatedDateFromUtc; from == nil || since.After(time.Time(*from)) {
			post.LastUpdatedDateFromUtc = new(dotnetTime(*since))
		}
	}
	return post, c.problems
}

// checker collects every problem of one config, so users see them all at once.
type checker struct {
	problems []httpsource.Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, httpsource.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// filterValue checks one filter and sets it on post.
func (c *checker) filterValue(post *usersFilterPost, path, key string, v any) {
	switch key {
	case "UserName":
		post.UserName = c.text(path, v)
	case "Email":
		post.Email = c.text(path, v)
	case "IsEndUser":
		post.IsEndUser = c.flag(path, v)
	case "IsSmartUser":
		post.IsSmartUser = c.flag(path, v)
	case "IsOperator":
		post.IsOperator = c.flag(path, v)
	case "IsSuperOperator":
		post.IsSuperOperator = c.flag(path, v)
	case "IsAdministrator":
		post.IsAdministrator = c.flag(path, v)
	case "CustomerId":
		if n, ok := httpsource.AsInt(v); ok {
			post.CustomerID = &n
		} else {
			c.add(path, "must be an integer")
		}
	case "LastUpdatedDateFromUtc":
		post.LastUpdatedDateFromUtc = c.date(path, v)
	case "LastUpdatedDateUntilUtc":
		post.LastUpdatedDateUntilUtc = c.date(path, v)
	default:
		c.unknown(path, key)
	}
}

// unknown reports a key that is not a filter. The API's names are
// case-sensitive PascalCase, so a key that differs only in case gets a hint.
func (c *checker) unknown(path, key string) {
	for _, valid := range strings.Split(filterKeyList, ", ") {
		if strings.EqualFold(key, valid) {
			c.add(path, "unknown filter (keys are case-sensitive: did you mean %s?); valid: %s", valid, filterKeyList)
			return
		}
	}
	c.add(path, "unknown filter; valid: %s", filterKeyList)
}

// text accepts a non-empty string: an empty one would ask for users with
// an empty name, never what a filter means.
func (c *checker) text(path string, v any) *string {
	if s, ok := v.(string); ok && s != "" {
		return &s
	}
	c.add(path, "must be a non-empty string")
	return nil
}

func (c *checker) flag(path string, v any) *bool {
	if b, ok := v.(bool); ok {
		return &b
	}
	c.add(path, "must be true or false")
	return nil
}

// date accepts RFC 3339 or YYYY-MM-DD (midnight UTC, as the API's members
// are UTC), as text or as the time.Time YAML makes of an unquoted date.
func (c *checker) date(path string, v any) *dotnetTime {
	switch d := v.(type) {
	case time.Time:
		return new(dotnetTime(d))
	case string:
		for _, layout := range []string{time.RFC3339, time.DateOnly} {
			if t, err := time.Parse(layout, d); err == nil {
				return new(dotnetTime(t))
			}
		}
	}
	c.add(path, "must be a date: RFC 3339 (2024-01-31T08:00:00Z) or YYYY-MM-DD")
	return nil
}
