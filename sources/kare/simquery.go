package kare

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// simQuery is a request the simulator has parsed.
type simQuery struct {
	page, pageSize int64
	includeCount   bool
	extend         map[string]bool
	preds          []func(*simUser) bool // every one must hold
	selection      string                // the where* parameters, canonical: the cache key
}

func (q *simQuery) matches(u *simUser) bool {
	for _, pred := range q.preds {
		if !pred(u) {
			return false
		}
	}
	return true
}

// parseSimQuery reads the query in the package's encoding: repeated keys
// for arrays and extend, brackets for ranges. Any other key, such as
// whereType[] or extend[0], is refused as NestJS's whitelist would.
func parseSimQuery(v url.Values) (simQuery, error) {
	q := simQuery{page: 1, pageSize: docDefaultPageSize, extend: map[string]bool{}}
	where := url.Values{}
	for _, key := range slices.Sorted(maps.Keys(v)) {
		var err error
		switch key {
		case "page":
			q.page, err = intParam(key, v[key], 1, maxSafeInt)
		case "pageSize":
			q.pageSize, err = intParam(key, v[key], 1, MaxPageSize)
		case "includeCount":
			q.includeCount, err = boolParam(key, v[key])
		case "extend":
			err = q.parseExtend(v[key])
		default:
			where[key] = v[key]
			err = q.parseWhere(key, v[key])
		}
		if err != nil {
			return q, err
		}
	}
	if !where.Has("whereIsDeleted") { // hidden unless asked for
		q.preds = append(q.preds, func(u *simUser) bool { return u.DeletedAt == nil })
	}
	q.selection = where.Encode()
	return q, nil
}

func (q *simQuery) parseExtend(vals []string) error {
	for _, v := range vals {
		if !slices.Contains(extendOptions(), v) {
			return fmt.Errorf("each value in extend must be one of: %s", strings.Join(extendOptions(), ", "))
		}
		q.extend[v] = true
	}
	return nil
}

func (q *simQuery) parseWhere(key string, vals []string) error {
	name, bound, bracketed := splitBrackets(key)
	spec, ok := specOf(name)
	if !ok || spec.kind == kindExtend || bracketed != (spec.kind == kindRange) {
		return fmt.Errorf("property %s should not exist", key)
	}
	if spec.kind == kindInts {
		return q.whereInts(name, vals)
	}
	value, err := single(key, vals)
	if err != nil {
		return err
	}
	switch spec.kind {
	case kindString:
		q.whereString(name, value)
	case kindBool:
		return q.whereBool(name, value)
	case kindInt:
		_, err := safeInt(key, value) // people have no rules or permissions to match
		return err
	case kindRange:
		return q.whereBound(name, bound, value)
	}
	return nil
}

// splitBrackets splits "name[inner]" into its parts.
func splitBrackets(key string) (name, inner string, ok bool) {
	i := strings.IndexByte(key, '[')
	if i < 0 || !strings.HasSuffix(key, "]") {
		return key, "", false
	}
	return key[:i], key[i+1 : len(key)-1], true
}

func (q *simQuery) whereString(name, value string) {
	field, want := stringField(name), strings.ToLower(value)
	q.preds = append(q.preds, func(u *simUser) bool { return strings.Contains(strings.ToLower(field(u)), want) })
}

func stringField(name string) func(*simUser) string {
	switch name {
	case "whereFirstName":
		return func(u *simUser) string { return u.FirstName }
	case "whereLastName":
		return func(u *simUser) string { return u.LastName }
	case "whereEmail":
		return func(u *simUser) string { return u.Email }
	case "wherePhone":
		return func(u *simUser) string {
			if u.Phone == nil {
				return ""
			}
			return *u.Phone
		}
	case "whereLang":
		return func(u *simUser) string { return u.Lang }
	}
	// whereFullName, and whereText: users have no description to search.
	return func(u *simUser) string { return u.FirstName + " " + u.LastName }
}

func (q *simQuery) whereBool(name, value string) error {
	deleted, err := boolValue(name, value)
	if err != nil {
		return err
	}
	if name == "whereIsDeleted" { // people are neither guests nor invited
		q.preds = append(q.preds, func(u *simUser) bool { return (u.DeletedAt != nil) == deleted })
	}
	return nil
}

func (q *simQuery) whereInts(name string, vals []string) error {
	want := make([]int64, len(vals))
	for i, v := range vals {
		n, err := safeInt(name, v)
		if err != nil {
			return err
		}
		want[i] = n
	}
	if field := intField(name); field != nil {
		q.preds = append(q.preds, func(u *simUser) bool {
			n, ok := field(u)
			return ok && slices.Contains(want, n)
		})
	}
	return nil
}

// intField reads the field a list filter matches; nil for the filters
// people have no data for (rules, diploma titles).
func intField(name string) func(*simUser) (int64, bool) {
	switch name {
	case "whereType":
		return func(u *simUser) (int64, bool) { return u.Type, true }
	case "whereUserIds":
		return func(u *simUser) (int64, bool) { return u.ID, true }
	case "whereProfessionIds":
		return func(u *simUser) (int64, bool) {
			if u.Profession == nil {
				return 0, false
			}
			return u.Profession.ID, true
		}
	}
	return nil
}

// whereBound applies one bound of a range, inclusive; a user without the
// time (never activated) is outside every range.
func (q *simQuery) whereBound(name, bound, value string) error {
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return fmt.Errorf("%s[%s] must be a valid ISO 8601 date string", name, bound)
	}
	field := timeField(name)
	switch bound {
	case "start":
		q.preds = append(q.preds, func(u *simUser) bool { at := field(u); return at != nil && !at.Before(t) })
	case "end":
		q.preds = append(q.preds, func(u *simUser) bool { at := field(u); return at != nil && !at.After(t) })
	default:
		return fmt.Errorf("property %s[%s] should not exist", name, bound)
	}
	return nil
}

func timeField(name string) func(*simUser) *time.Time {
	switch name {
	case "whereActivatedAt":
		return func(u *simUser) *time.Time { return (*time.Time)(u.ActivatedAt) }
	case "whereUpdatedAt":
		return func(u *simUser) *time.Time { return (*time.Time)(&u.UpdatedAt) }
	}
	return func(u *simUser) *time.Time { return (*time.Time)(&u.CreatedAt) } // whereCreatedAt
}

func single(key string, vals []string) (string, error) {
	if len(vals) != 1 {
		return "", fmt.Errorf("%s must be given once", key)
	}
	return vals[0], nil
}

func intParam(key string, vals []string, lo, hi int64) (int64, error) {
	v, err := single(key, vals)
	if err != nil {
		return 0, err
	}
	return boundedInt(key, v, lo, hi)
}

// safeInt parses an integer within the docs' range.
func safeInt(key, v string) (int64, error) { return boundedInt(key, v, -maxSafeInt, maxSafeInt) }

func boundedInt(key, v string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be an integer from %d to %d", key, lo, hi)
	}
	return n, nil
}

func boolParam(key string, vals []string) (bool, error) {
	v, err := single(key, vals)
	if err != nil {
		return false, err
	}
	return boolValue(key, v)
}

// boolValue takes only true and false: an API reading "1" or "yes" is not
// something to rely on.
func boolValue(key, v string) (bool, error) {
	if v != "true" && v != "false" {
		return false, fmt.Errorf("%s must be a boolean value", key)
	}
	return v == "true", nil
}
