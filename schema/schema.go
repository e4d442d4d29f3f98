// Package schema defines the normalized user schema (version 1 of the
// contract) and the row type that carries users between pipeline stages.
package schema

import (
	"fmt"
	"time"
)

// Version is the normalized schema version written to every manifest.
const Version = 1

// Type is the logical type of a column, shared by every output format.
type Type int

const (
	String     Type = iota // UTF-8 string
	StringList             // list of strings; nil is null, empty is []
	Bool                   // boolean
	Timestamp              // instant, microseconds, UTC
)

func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case StringList:
		return "list<string>"
	case Bool:
		return "bool"
	case Timestamp:
		return "timestamp[us, UTC]"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// ColumnID identifies a column independently of its position, so that
// encoders can read a User field with a switch instead of reflection.
type ColumnID int

// The columns of schema v1, in contract order.
const (
	ColProvider ColumnID = iota
	ColJob
	ColID
	ColKey
	ColUsername
	ColFirstName
	ColLastName
	ColFullName
	ColEmail
	ColPhone
	ColPhones
	ColLanguage
	ColOrganizationID
	ColRoles
	ColActive
	ColCreatedAt
	ColUpdatedAt
	ColDeletedAt
	ColExpiresAt
	ColLastLoginAt
	ColRunID
	ColExtractedAt
	ColRaw
	numColumns
)

// Column describes one output column.
type Column struct {
	ID       ColumnID
	Name     string
	Type     Type
	Required bool // never null
	Doc      string
}

var v1Columns = [numColumns]Column{
	{ColProvider, "provider", String, true, "the job's provider"},
	{ColJob, "job", String, true, "the job's name"},
	{ColID, "id", String, true, "the provider's id for the user, as a string"},
	{ColKey, "key", String, false, "a second stable key (Kare key)"},
	{ColUsername, "username", String, false, "Requestor UserName"},
	{ColFirstName, "first_name", String, false, "as given"},
	{ColLastName, "last_name", String, false, "as given"},
	{ColFullName, "full_name", String, false, "the provider's full name, else first and last joined by a space"},
	{ColEmail, "email", String, false, ""},
	{ColPhone, "phone", String, false, "the first phone number"},
	{ColPhones, "phones", StringList, false, "every phone number"},
	{ColLanguage, "language", String, false, "as given"},
	{ColOrganizationID, "organization_id", String, false, "the provider's organization or customer id"},
	{ColRoles, "roles", StringList, false, "end_user, smart_user, operator, super_operator, administrator"},
	{ColActive, "active", Bool, false, "null where the provider does not say"},
	{ColCreatedAt, "created_at", Timestamp, false, ""},
	{ColUpdatedAt, "updated_at", Timestamp, false, ""},
	{ColDeletedAt, "deleted_at", Timestamp, false, ""},
	{ColExpiresAt, "expires_at", Timestamp, false, ""},
	{ColLastLoginAt, "last_login_at", Timestamp, false, ""},
	{ColRunID, "run_id", String, true, ""},
	{ColExtractedAt, "extracted_at", Timestamp, true, "the run's clock"},
	{ColRaw, "raw", String, false, "the record as the provider sent it, as JSON (only with include_raw)"},
}

// Schema is an ordered set of columns: v1, less raw unless asked for.
type Schema struct {
	Version int
	Columns []Column
}

// V1 returns the normalized schema v1. The raw column is present only
// when includeRaw is set.
func V1(includeRaw bool) *Schema {
	cols := make([]Column, 0, numColumns)
	for _, c := range v1Columns {
		if c.ID == ColRaw && !includeRaw {
			continue
		}
		cols = append(cols, c)
	}
	return &Schema{Version: Version, Columns: cols}
}

// Null is a value that may be absent. The zero value is null.
type Null[T any] struct {
	V     T
	Valid bool
}

// Some returns a present value.
func Some[T any](v T) Null[T] { return Null[T]{V: v, Valid: true} }

// FromPtr is the value p points to, or null when p is nil: how JSON
// decoding into pointer fields tells null and absent from a value.
func FromPtr[T any](p *T) Null[T] {
	if p == nil {
		return Null[T]{}
	}
	return Some(*p)
}

// ParseTime reads an RFC 3339 time, offset included, as SomeTime does;
// null and "" are no time, as APIs send for "never".
func ParseTime(s *string) (Null[time.Time], error) {
	if s == nil || *s == "" {
		return Null[time.Time]{}, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return Null[time.Time]{}, err
	}
	return SomeTime(t), nil
}

// SomeTime returns a present timestamp, in UTC and truncated to
// microseconds as every output format stores it.
func SomeTime(t time.Time) Null[time.Time] {
	return Null[time.Time]{V: t.UTC().Truncate(time.Microsecond), Valid: true}
}

// User is one normalized row. Lists keep the nil/empty distinction:
// nil is written as null, an empty non-nil slice as [].
type User struct {
	Provider       string
	Job            string
	ID             string
	Key            Null[string]
	Username       Null[string]
	FirstName      Null[string]
	LastName       Null[string]
	FullName       Null[string]
	Email          Null[string]
	Phone          Null[string]
	Phones         []string
	Language       Null[string]
	OrganizationID Null[string]
	Roles          []string
	Active         Null[bool]
	CreatedAt      Null[time.Time]
	UpdatedAt      Null[time.Time]
	DeletedAt      Null[time.Time]
	ExpiresAt      Null[time.Time]
	LastLoginAt    Null[time.Time]
	RunID          string
	ExtractedAt    time.Time
	// Raw is the provider's record as JSON; nil unless include_raw.
	Raw []byte
}

// StringValue returns a String column's value.
func (u *User) StringValue(id ColumnID) Null[string] {
	switch id {
	case ColProvider:
		return Some(u.Provider)
	case ColJob:
		return Some(u.Job)
	case ColID:
		return Some(u.ID)
	case ColKey:
		return u.Key
	case ColUsername:
		return u.Username
	case ColFirstName:
		return u.FirstName
	case ColLastName:
		return u.LastName
	case ColFullName:
		return u.FullName
	case ColEmail:
		return u.Email
	case ColPhone:
		return u.Phone
	case ColLanguage:
		return u.Language
	case ColOrganizationID:
		return u.OrganizationID
	case ColRunID:
		return Some(u.RunID)
	case ColRaw:
		if u.Raw == nil {
			return Null[string]{}
		}
		return Some(string(u.Raw))
	}
	panic(fmt.Sprintf("schema: column %d is not a string column", id))
}

// ListValue returns a StringList column's value (nil is null).
func (u *User) ListValue(id ColumnID) []string {
	switch id {
	case ColPhones:
		return u.Phones
	case ColRoles:
		return u.Roles
	}
	panic(fmt.Sprintf("schema: column %d is not a list column", id))
}

// BoolValue returns a Bool column's value.
func (u *User) BoolValue(id ColumnID) Null[bool] {
	if id == ColActive {
		return u.Active
	}
	panic(fmt.Sprintf("schema: column %d is not a bool column", id))
}

// TimeValue returns a Timestamp column's value.
func (u *User) TimeValue(id ColumnID) Null[time.Time] {
	switch id {
	case ColCreatedAt:
		return u.CreatedAt
	case ColUpdatedAt:
		return u.UpdatedAt
	case ColDeletedAt:
		return u.DeletedAt
	case ColExpiresAt:
		return u.ExpiresAt
	case ColLastLoginAt:
		return u.LastLoginAt
	case ColExtractedAt:
		return Some(u.ExtractedAt)
	}
	panic(fmt.Sprintf("schema: column %d is not a timestamp column", id))
}

// FullName applies the contract's rule: the provider's own full name when
// non-empty, else the non-empty parts of first and last name joined by
// one space, else null.
func FullName(own, first, last Null[string]) Null[string] {
	if own.Valid && own.V != "" {
		return own
	}
	switch f, l := first.Valid && first.V != "", last.Valid && last.V != ""; {
	case f && l:
		return Some(first.V + " " + last.V)
	case f:
		return first
	case l:
		return last
	}
	return Null[string]{}
}
