// Package mctime exports users from the McTime API
// (GET {base_url}/users) and simulates that endpoint.
//
// The API lists active users unless asked for inactive ones, so a job that
// does not filter on inactive exports two listings, the active users then
// the inactive ones, and each row's active column says which listing it
// came from. McTime reports a page count but no user count, so pages carry
// no Total and the job's source_total is null.
package mctime

import (
	"net/http"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// Descriptor values for the registry.
const (
	Name           = "mctime"
	DefaultBaseURL = "https://mctime.com/api/v2/auth"
	Method         = http.MethodGet
	Endpoint       = "/users"

	// PageSize is fixed by the API: "Maximum of 20 users will be returned
	// per page", and the request has no page size parameter.
	PageSize = 20

	// SortSyntax is empty: the API has no sort parameter.
	SortSyntax = ""
)

// The API's roles, in the order its docs list them.
const (
	RoleEmployee          = "employee"
	RoleApprover          = "approver"
	RoleManager           = "manager"
	RoleAdministrator     = "administrator"
	RoleMainAdministrator = "main_administrator"
)

// Roles returns the roles the roles filter accepts, in the docs' order.
func Roles() []string {
	return []string{RoleEmployee, RoleApprover, RoleManager, RoleAdministrator, RoleMainAdministrator}
}

// DefaultRate is a conservative guess, 60 requests a minute: the docs
// state no rate limit. At 20 users a page that is 1,200 users a minute.
func DefaultRate() httpsource.Rate { return httpsource.Rate{N: 60, Per: time.Minute} }

// AuthKinds returns the auth types a job may use. The docs only say "API
// key" without naming how it is sent, so a job may send it in a header of
// its choice or as a bearer token.
func AuthKinds() []string { return []string{httpsource.AuthHeader, httpsource.AuthBearer} }

// Filters documents the query parameters a job's filter may set, under
// the API's own names.
func Filters() []httpsource.FilterDoc {
	return []httpsource.FilterDoc{
		{Key: "userIds", Type: "list of strings | string",
			Doc: "only these users; the API answers 401 if the API key may not see one of them"},
		{Key: "organizationName", Type: "string",
			Doc: "users of this organization unit, by name; not together with organizationId, which the API would use instead"},
		{Key: "organizationId", Type: "string",
			Doc: "users of this organization unit; the API answers 401 if the API key may not see it"},
		{Key: "roles", Type: "list of strings | string",
			Doc: "users with any of these roles: employee, approver, manager, administrator, main_administrator"},
		{Key: "inactive", Type: "bool",
			Doc: "true: only inactive users (validTo in the past); false: only active users; " +
				"unset (the default): both, active first, active set by listing"},
	}
}

// Provider describes McTime for the registry.
func Provider() httpsource.Provider {
	return httpsource.Provider{
		Name: Name, DefaultBaseURL: DefaultBaseURL, Method: Method, Endpoint: Endpoint,
		DefaultRate: DefaultRate(),
		PageSize:    httpsource.PageSizes{Default: PageSize, Max: PageSize, Allowed: []int{PageSize}},
		AuthKinds:   AuthKinds(), Filters: Filters(), Sort: SortSyntax,
		CheckConfig: CheckConfig, New: New, Probe: Probe, Simulator: Simulator, SimulatorRefusal: SimulatorRefusal, NoTotal: true,
		IncrementalNote: IncrementalNote, // Incremental stays IncrementalNone
		RawFields:       RawFields(),
	}
}

// RawFields maps each droppable column to the record members normalize
// reads it from. A user has only an id, names, an email and one phone
// number, mobilePhoneNumber, which is both phone and phones; active
// comes from the listing, not from the record, so it reads nothing.
func RawFields() map[schema.ColumnID][]string {
	return map[schema.ColumnID][]string{
		schema.ColKey:            {},
		schema.ColUsername:       {},
		schema.ColFirstName:      {"firstName"},
		schema.ColLastName:       {"lastName"},
		schema.ColFullName:       {"firstName", "lastName"},
		schema.ColEmail:          {"email"},
		schema.ColPhone:          {"mobilePhoneNumber"},
		schema.ColPhones:         {"mobilePhoneNumber"},
		schema.ColLanguage:       {},
		schema.ColOrganizationID: {},
		schema.ColRoles:          {},
		schema.ColActive:         {},
		schema.ColCreatedAt:      {},
		schema.ColUpdatedAt:      {},
		schema.ColDeletedAt:      {},
		schema.ColExpiresAt:      {},
		schema.ColLastLoginAt:    {},
	}
}

// IncrementalNote says why McTime has no incremental runs.
const IncrementalNote = "Not incremental: the API's users carry no update time (only id, names, email and " +
	"mobile phone) and it has no update filter, so every run reads its listings in full; a deleted user is " +
	"simply absent from the next run."
