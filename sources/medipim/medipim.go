// Package medipim exports users from the Medipim API v4
// (POST {base_url}/v4/users/query) and simulates that endpoint.
package medipim

import (
	"net/http"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// Descriptor values for the registry.
const (
	Name           = "medipim"
	DefaultBaseURL = "https://api.medipim.be"
	Method         = http.MethodPost
	Endpoint       = "/v4/users/query"

	// DefaultPageSize is the largest size the API allows: the fewest
	// requests under its 100 requests/minute limit.
	DefaultPageSize = 250
	MaxPageSize     = 250

	SortSyntax = `{"id": "ASC"} or {"id": "DESC"}; default {"id": "ASC"}`
)

// DefaultRate is the documented limit: 100 requests per minute.
func DefaultRate() httpsource.Rate { return httpsource.Rate{N: 100, Per: time.Minute} }

// PageSizes returns the only page sizes the API accepts.
func PageSizes() []int { return []int{10, 50, 100, 250} }

// AuthKinds returns the auth types the API takes: HTTP Basic with the API
// key id as user name and its secret as password.
func AuthKinds() []string { return []string{"basic"} }

// Filters documents the filter grammar: each filter object has exactly one
// of these keys.
func Filters() []httpsource.FilterDoc {
	return []httpsource.FilterDoc{
		{Key: "id", Type: "integer | list of integers", Doc: "users with these Medipim ids"},
		{Key: "organization", Type: "integer", Doc: "users of this Medipim organization"},
		{Key: "vatNr", Type: "string", Doc: "users whose organization has this VAT number"},
		{Key: "apbNr", Type: "integer | string", Doc: "users whose organization has this APB number"},
		{Key: "rizivNr", Type: "integer | string", Doc: "users whose organization has this RIZIV number"},
		{Key: "and", Type: "list of filters", Doc: "users matching every filter"},
		{Key: "or", Type: "list of filters", Doc: "users matching any filter"},
		{Key: "not", Type: "filter", Doc: "users not matching the filter"},
	}
}

// Provider describes Medipim for the registry.
func Provider() httpsource.Provider {
	return httpsource.Provider{
		Name: Name, DefaultBaseURL: DefaultBaseURL, Method: Method, Endpoint: Endpoint,
		DefaultRate: DefaultRate(),
		PageSize:    httpsource.PageSizes{Default: DefaultPageSize, Max: MaxPageSize, Allowed: PageSizes()},
		AuthKinds:   AuthKinds(), Filters: Filters(), Sort: SortSyntax,
		Incremental: httpsource.IncrementalClient, IncrementalNote: IncrementalNote,
		CheckConfig: CheckConfig, New: New, Probe: Probe, Simulator: Simulator, SimulatorRefusal: SimulatorRefusal,
		RawFields: RawFields(),
	}
}

// RawFields maps each droppable column to the record members normalize
// reads it from. A user has only an id, a name (the full name: it is not
// split, so first_name and last_name read nothing), an organization and
// two times.
func RawFields() map[schema.ColumnID][]string {
	return map[schema.ColumnID][]string{
		schema.ColKey:            {},
		schema.ColUsername:       {},
		schema.ColFirstName:      {},
		schema.ColLastName:       {},
		schema.ColFullName:       {"name"},
		schema.ColEmail:          {},
		schema.ColPhone:          {},
		schema.ColPhones:         {},
		schema.ColLanguage:       {},
		schema.ColOrganizationID: {"organization"},
		schema.ColRoles:          {},
		schema.ColActive:         {},
		schema.ColCreatedAt:      {"meta.createdAt"},
		schema.ColUpdatedAt:      {"meta.updatedAt"},
		schema.ColDeletedAt:      {},
		schema.ColExpiresAt:      {},
		schema.ColLastLoginAt:    {},
	}
}

// IncrementalNote is what an incremental run sees. The API sorts by id
// only and has no update-time filter, so UpdatedSince changes no request.
const IncrementalNote = "The API has no update-time filter and sorts by id only, so every incremental run reads " +
	"the whole listing and keeps the users whose updatedAt is in the window. Deletions are invisible: a deleted " +
	"user is simply no longer listed, and only a full run shows it gone."
