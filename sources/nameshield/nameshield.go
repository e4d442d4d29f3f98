// Package nameshield exports users from the Nameshield user API
// (GET {base_url}/user/v1/users) and simulates that endpoint.
package nameshield

import (
	"net/http"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// Descriptor values for the registry.
const (
	Name           = "nameshield"
	DefaultBaseURL = "https://api.nameshield.net"
	Method         = http.MethodGet
	Endpoint       = "/user/v1/users"

	// DefaultPageSize is the API's maximum limit: the fewest requests
	// under its 600 requests per 5 minutes.
	DefaultPageSize = 500
	MaxPageSize     = 500

	SortSyntax = `list of "field:asc" or "field:desc", fields: ` + sortFieldList +
		`; id:asc is appended unless id is listed, so that offset paging is stable`
)

// DefaultRate is the documented limit: 600 requests per 5 minutes per token.
func DefaultRate() httpsource.Rate { return httpsource.Rate{N: 600, Per: 5 * time.Minute} }

// AuthKinds returns the auth types the API takes: a bearer token.
func AuthKinds() []string { return []string{"bearer"} }

// Filters documents the query parameters a job's filter may set.
func Filters() []httpsource.FilterDoc {
	return []httpsource.FilterDoc{
		{Key: "customer_id", Type: "integer", Doc: "users of this customer (default: the token's own customer)"},
		{Key: "include_subsidiaries", Type: "bool", Doc: "include users of the customer's subsidiaries (default true)"},
		{Key: "id", Type: "string", Doc: "users with this id; * is a wildcard"},
		{Key: "firstname", Type: "string", Doc: "users with this first name; * is a wildcard"},
		{Key: "lastname", Type: "string", Doc: "users with this last name; * is a wildcard"},
		{Key: "email", Type: "string", Doc: "users with this email; * is a wildcard"},
		{Key: "created_by", Type: "string", Doc: "users created by this user id; * is a wildcard"},
		{Key: "updated_by", Type: "string", Doc: "users last updated by this user id; * is a wildcard"},
	}
}

// Provider describes Nameshield for the registry.
func Provider() httpsource.Provider {
	return httpsource.Provider{
		Name: Name, DefaultBaseURL: DefaultBaseURL, Method: Method, Endpoint: Endpoint,
		DefaultRate: DefaultRate(),
		PageSize:    httpsource.PageSizes{Default: DefaultPageSize, Max: MaxPageSize},
		AuthKinds:   AuthKinds(), Filters: Filters(), Sort: SortSyntax,
		Incremental: httpsource.IncrementalSorted, IncrementalNote: IncrementalNote,
		CheckConfig: CheckConfig, New: New, Probe: Probe, Simulator: Simulator, SimulatorRefusal: SimulatorRefusal,
		RawFields: RawFields(),
	}
}

// RawFields maps each droppable column to the record members normalize
// reads it from: full_name is joined from firstname and lastname, phones
// is the one phone, and active is decided by expires_at. created_by and
// updated_by name another user (who created or changed this one), so no
// column of this user reads them.
func RawFields() map[schema.ColumnID][]string {
	return map[schema.ColumnID][]string{
		schema.ColKey:            {},
		schema.ColUsername:       {},
		schema.ColFirstName:      {"firstname"},
		schema.ColLastName:       {"lastname"},
		schema.ColFullName:       {"firstname", "lastname"},
		schema.ColEmail:          {"email"},
		schema.ColPhone:          {"phone"},
		schema.ColPhones:         {"phone"},
		schema.ColLanguage:       {"language"},
		schema.ColOrganizationID: {"customer_id"},
		schema.ColRoles:          {},
		schema.ColActive:         {"expires_at"},
		schema.ColCreatedAt:      {"created_at"},
		schema.ColUpdatedAt:      {"updated_at"},
		schema.ColDeletedAt:      {},
		schema.ColExpiresAt:      {"expires_at"},
		schema.ColLastLoginAt:    {"last_login_at"},
	}
}

// IncrementalNote is what an incremental run sees. The API has no
// update-time filter, but sorts on any field.
const IncrementalNote = "The API has no update-time filter: an incremental run sorts by updated_at, newest " +
	"first (so the job may not set sort), and stops at the first page that reaches past the window. Deletions " +
	"are invisible: a deleted user is simply no longer listed, and only a full run shows it gone. A user without " +
	"updated_at is only exported by full runs."
