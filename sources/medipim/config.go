package medipim

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/saas-export/export/sources/httpsource"
)

// CheckConfig checks a job's page size, filter and sort against the API's
// documented rules, without network access. An empty filter means none.
func CheckConfig(job httpsource.Job) []httpsource.Problem {
	var c checker
	if job.PageSize != 0 && !slices.Contains(PageSizes(), job.PageSize) {
		c.add("page_size", "must be one of 10, 50, 100 or 250")
	}
	if len(job.Filter) > 0 {
		c.filter("filter", job.Filter)
	}
	if job.Sort != nil {
		c.sort("sort", job.Sort)
	}
	return c.problems
}

// filterKeys is the grammar's key set, sorted for messages.
const filterKeys = "and, apbNr, id, not, or, organization, rizivNr, vatNr"

// filter is a parsed filter object. The simulator evaluates it; the source
// sends the job's filter as written, once CheckConfig has accepted it.
type filter struct {
	key  string   // one of the grammar's keys
	ids  []int64  // id (one or more), organization (one)
	text string   // vatNr, apbNr, rizivNr; integers as decimal text
	subs []filter // and, or (one or more), not (one)
}

// checker collects every problem of one config, so users see them all at once.
type checker struct {
	problems []httpsource.Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, httpsource.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// filter parses v, a filter object at path. The result is meaningful only
// when no problem was added.
func (c *checker) filter(path string, v any) filter {
	obj, ok := v.(map[string]any)
	if !ok {
		c.add(path, "must be a filter object with one key: %s", filterKeys)
		return filter{}
	}
	if len(obj) != 1 {
		c.add(path, "must have exactly one key, one of %s (has %d)", filterKeys, len(obj))
		return filter{}
	}
	var key string
	var arg any
	for key, arg = range obj { // the only entry
	}
	return c.filterArg(path+"."+key, key, arg)
}

func (c *checker) filterArg(path, key string, arg any) filter {
	f := filter{key: key}
	switch key {
	case "id":
		f.ids = c.ids(path, arg)
	case "organization":
		if n, ok := httpsource.AsInt(arg); ok {
			f.ids = []int64{n}
		} else {
			c.add(path, "must be an integer")
		}
	case "vatNr":
		if s, ok := arg.(string); ok {
			f.text = s
		} else {
			c.add(path, "must be a string")
		}
	case "apbNr", "rizivNr":
		f.text = c.intOrString(path, arg)
	case "and", "or":
		f.subs = c.filterList(path, arg)
	case "not":
		f.subs = []filter{c.filter(path, arg)}
	default:
		c.add(path, "unknown filter; valid: %s", filterKeys)
	}
	return f
}

func (c *checker) ids(path string, arg any) []int64 {
	if n, ok := httpsource.AsInt(arg); ok {
		return []int64{n}
	}
	list, ok := arg.([]any)
	if !ok || len(list) == 0 {
		c.add(path, "must be an integer or a non-empty list of integers")
		return nil
	}
	ids := make([]int64, len(list))
	for i, v := range list {
		n, ok := httpsource.AsInt(v)
		if !ok {
			c.add(fmt.Sprintf("%s[%d]", path, i), "must be an integer")
		}
		ids[i] = n
	}
	return ids
}

func (c *checker) intOrString(path string, arg any) string {
	if s, ok := arg.(string); ok {
		return s
	}
	if n, ok := httpsource.AsInt(arg); ok {
		return strconv.FormatInt(n, 10)
	}
	c.add(path, "must be an integer or a string")
	return ""
}

func (c *checker) filterList(path string, arg any) []filter {
	list, ok := arg.([]any)
	if !ok || len(list) == 0 {
		c.add(path, "must be a non-empty list of filters")
		return nil
	}
	subs := make([]filter, len(list))
	for i, v := range list {
		subs[i] = c.filter(fmt.Sprintf("%s[%d]", path, i), v)
	}
	return subs
}

// sort parses a sorting object; it reports whether the order is descending.
func (c *checker) sort(path string, v any) (desc bool) {
	obj, ok := v.(map[string]any)
	if !ok || len(obj) != 1 {
		c.add(path, `must be {"id": "ASC"} or {"id": "DESC"}`)
		return false
	}
	dir, ok := obj["id"]
	if !ok {
		for key := range obj {
			c.add(path+"."+key, "unknown sort key; only id is sortable")
		}
		return false
	}
	switch dir {
	case "ASC":
		return false
	case "DESC":
		return true
	}
	c.add(path+".id", `must be "ASC" or "DESC"`)
	return false
}

// sortJSON is the sorting the source sends: canonical, whatever form the
// job wrote it in.
func sortJSON(desc bool) string {
	if desc {
		return `{"id":"DESC"}`
	}
	return `{"id":"ASC"}`
}
