package requestor

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// usersFilterPost is the request body, UsersFilterPost in the docs. A nil
// member filters nothing. The JSON form sends every member, null or not,
// in the order of the docs' sample.
type usersFilterPost struct {
	PageIndex               int
	PageSize                int
	UserName                *string
	Email                   *string
	IsEndUser               *bool
	IsSmartUser             *bool
	IsOperator              *bool
	IsSuperOperator         *bool
	IsAdministrator         *bool
	CustomerID              *int64 `json:"CustomerId"`
	LastUpdatedDateFromUtc  *dotnetTime
	LastUpdatedDateUntilUtc *dotnetTime
}

// xmlMember is one member of a data contract as XML text; nil is null.
type xmlMember struct {
	name string
	text *string
}

// xmlMembers lists the post's members in data-contract order, which is
// alphabetical.
func (p *usersFilterPost) xmlMembers() []xmlMember {
	return []xmlMember{
		{"CustomerId", optional(p.CustomerID, formatInt)},
		{"Email", p.Email},
		{"IsAdministrator", optional(p.IsAdministrator, strconv.FormatBool)},
		{"IsEndUser", optional(p.IsEndUser, strconv.FormatBool)},
		{"IsOperator", optional(p.IsOperator, strconv.FormatBool)},
		{"IsSmartUser", optional(p.IsSmartUser, strconv.FormatBool)},
		{"IsSuperOperator", optional(p.IsSuperOperator, strconv.FormatBool)},
		{"LastUpdatedDateFromUtc", optional(p.LastUpdatedDateFromUtc, dotnetTime.String)},
		{"LastUpdatedDateUntilUtc", optional(p.LastUpdatedDateUntilUtc, dotnetTime.String)},
		{"PageIndex", new(strconv.Itoa(p.PageIndex))},
		{"PageSize", new(strconv.Itoa(p.PageSize))},
		{"UserName", p.UserName},
	}
}

// xml encodes the post as the XML form sends it, laid out as the docs'
// sample.
func (p *usersFilterPost) xml() []byte {
	var w xmlWriter
	w.start(`UsersFilterPost xmlns:i="` + nsInstance + `" xmlns="` + nsPosts + `"`)
	for _, m := range p.xmlMembers() {
		w.leaf(m.name, m.text)
	}
	w.end("UsersFilterPost")
	return w.bytes()
}

// postFromXML reads a post in the XML form: what the simulator receives.
func postFromXML(e *element) (usersFilterPost, error) {
	var p usersFilterPost
	if !e.is(nsPosts, "UsersFilterPost") {
		return p, fmt.Errorf("the body is <%s> in namespace %q, not UsersFilterPost in %q", e.name.Local, e.name.Space, nsPosts)
	}
	p.UserName, p.Email = e.str("UserName"), e.str("Email")
	var errs []error
	for _, f := range []struct {
		name string
		out  **bool
	}{
		{"IsEndUser", &p.IsEndUser}, {"IsSmartUser", &p.IsSmartUser}, {"IsOperator", &p.IsOperator},
		{"IsSuperOperator", &p.IsSuperOperator}, {"IsAdministrator", &p.IsAdministrator},
	} {
		var err error
		*f.out, err = e.boolean(f.name)
		errs = append(errs, err)
	}
	var err error
	p.CustomerID, err = e.integer("CustomerId")
	errs = append(errs, err)
	for _, f := range []struct {
		name string
		out  *int
	}{{"PageIndex", &p.PageIndex}, {"PageSize", &p.PageSize}} {
		n, err := e.integer(f.name)
		if n != nil {
			*f.out = int(*n)
		}
		errs = append(errs, err)
	}
	for _, f := range []struct {
		name string
		out  **dotnetTime
	}{{"LastUpdatedDateFromUtc", &p.LastUpdatedDateFromUtc}, {"LastUpdatedDateUntilUtc", &p.LastUpdatedDateUntilUtc}} {
		*f.out, err = xmlTime(e, f.name)
		errs = append(errs, err)
	}
	return p, errors.Join(errs...)
}

func xmlTime(e *element, local string) (*dotnetTime, error) {
	s := e.str(local)
	if s == nil {
		return nil, nil
	}
	t, err := parseDotnetTime(*s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", local, err)
	}
	return new(dotnetTime(t)), nil
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

// dotnetTime is a .NET DateTime on the wire. It is sent in UTC with at
// most seven fractional digits, the precision of a DateTime, since .NET
// refuses more.
type dotnetTime time.Time

func (t dotnetTime) String() string {
	return time.Time(t).UTC().Truncate(100 * time.Nanosecond).Format(time.RFC3339Nano)
}

func (t dotnetTime) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func (t *dotnetTime) UnmarshalText(b []byte) error {
	v, err := parseDotnetTime(string(b))
	if err != nil {
		return err
	}
	*t = dotnetTime(v)
	return nil
}

// dotnetLocalLayout is how .NET writes a DateTime without a time zone.
const dotnetLocalLayout = "2006-01-02T15:04:05"

// parseDotnetTime reads a DateTime as .NET writes one: RFC 3339, with an
// offset or Z, or without one for a DateTime of unspecified kind, which
// this API's "Utc" members mean as UTC. Fractional seconds are optional.
func parseDotnetTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation(dotnetLocalLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date and time as .NET writes one (2024-01-31T08:00:00Z, with or without an offset)", s)
	}
	return t, nil
}
