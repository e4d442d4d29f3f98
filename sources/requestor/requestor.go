// Package requestor exports users from the Requestor API
// (POST {base_url}/api/Account/GetUsers), in its JSON or its XML wire
// format, and simulates that endpoint in both.
package requestor

import (
	"net/http"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// Descriptor values for the registry.
const (
	Name = "requestor"
	// DefaultBaseURL is empty: every customer has its own Requestor host,
	// so every job must set base_url.
	DefaultBaseURL = ""
	Method         = http.MethodPost
	Endpoint       = "/api/Account/GetUsers"

	// DefaultPageSize is the page size of the docs' example response.
	DefaultPageSize = 200
	// MaxPageSize is our own bound: the docs state none. A page of 1000
	// users is about 3 MB of XML as the docs lay it out, small enough to
	// hold in memory, and few enough users for one request to the API.
	MaxPageSize = 1000

	// SortSyntax is empty: the API has no sort parameter.
	SortSyntax = ""
)

// The wire formats a job may choose, JSON the default.
const (
	WireJSON = "json"
	WireXML  = "xml"
)

// DefaultRate is a conservative guess, 60 requests a minute: the docs
// state no rate limit, and each customer's host may be small.
func DefaultRate() httpsource.Rate { return httpsource.Rate{N: 60, Per: time.Minute} }

// AuthKinds returns the auth types a job may use. The docs leave
// authentication to each installation, so every kind is offered.
func AuthKinds() []string { return []string{"basic", "bearer", "header"} }

// WireFormats returns the encodings the API speaks, the default first.
func WireFormats() []string { return []string{WireJSON, WireXML} }

// Filters documents the UsersFilterPost members a job's filter may set,
// under the API's own names.
func Filters() []httpsource.FilterDoc {
	const date = "RFC 3339 or YYYY-MM-DD (midnight UTC)"
	return []httpsource.FilterDoc{
		{Key: "UserName", Type: "string", Doc: "users with this user name"},
		{Key: "Email", Type: "string", Doc: "users with this email"},
		{Key: "IsEndUser", Type: "bool", Doc: "end users (true) or the others (false)"},
		{Key: "IsSmartUser", Type: "bool", Doc: "smart users (true) or the others (false)"},
		{Key: "IsOperator", Type: "bool", Doc: "operators (true) or the others (false)"},
		{Key: "IsSuperOperator", Type: "bool", Doc: "super operators (true) or the others (false)"},
		{Key: "IsAdministrator", Type: "bool", Doc: "administrators (true) or the others (false)"},
		{Key: "CustomerId", Type: "integer", Doc: "users of this customer"},
		{Key: "LastUpdatedDateFromUtc", Type: "date", Doc: "users last updated at or after this time; " + date +
			"; an incremental run starts it at its window, unless this is later"},
		{Key: "LastUpdatedDateUntilUtc", Type: "date", Doc: "users last updated at or before this time; " + date},
	}
}

// Provider describes Requestor for the registry.
func Provider() httpsource.Provider {
	return httpsource.Provider{
		Name: Name, DefaultBaseURL: DefaultBaseURL, Method: Method, Endpoint: Endpoint,
		DefaultRate: DefaultRate(),
		PageSize:    httpsource.PageSizes{Default: DefaultPageSize, Max: MaxPageSize},
		AuthKinds:   AuthKinds(), Filters: Filters(), Sort: SortSyntax, WireFormats: WireFormats(),
		Incremental: httpsource.IncrementalFilter, IncrementalNote: IncrementalNote,
		CheckConfig: CheckConfig, New: New, Probe: Probe, Simulator: Simulator, SimulatorRefusal: SimulatorRefusal,
		RawFields: RawFields(),
	}
}

// RawFields maps each droppable column to the RequestorUser members
// normalize reads it from, the same in both wire formats: phone and
// phones are both Phones, roles the Is* flags, active IsApproved and
// Anonymized. full_name is FullName, else FirstName and LastName, and
// also covers DisplayName, which the docs show holding the same name.
// Customer, the customer object beside CustomerId, goes with
// organization_id. The free-text members (notes, SkypeName, Initials,
// MiddleName) are read by no column and stay as sent.
func RawFields() map[schema.ColumnID][]string {
	return map[schema.ColumnID][]string{
		schema.ColKey:            {},
		schema.ColUsername:       {"UserName"},
		schema.ColFirstName:      {"FirstName"},
		schema.ColLastName:       {"LastName"},
		schema.ColFullName:       {"FullName", "DisplayName", "FirstName", "LastName"},
		schema.ColEmail:          {"Email"},
		schema.ColPhone:          {"Phones"},
		schema.ColPhones:         {"Phones"},
		schema.ColLanguage:       {"Language"},
		schema.ColOrganizationID: {"CustomerId", "Customer"},
		schema.ColRoles:          {"IsEndUser", "IsSmartUser", "IsOperator", "IsSuperOperator", "IsAdministrator"},
		schema.ColActive:         {"IsApproved", "Anonymized"},
		schema.ColCreatedAt:      {},
		schema.ColUpdatedAt:      {"LastUpdatedUtc"},
		schema.ColDeletedAt:      {},
		schema.ColExpiresAt:      {},
		schema.ColLastLoginAt:    {},
	}
}

// IncrementalNote is what an incremental run sees: the docs say nothing
// of deletions or of users never updated, so the simulator's reading is
// the one given.
const IncrementalNote = "LastUpdatedDateFromUtc narrows the listing. A user whose LastUpdatedUtc is null matches " +
	"no date filter, so only a full run exports it; deleted users just drop out of the listing, so an incremental " +
	"run cannot see a deletion (anonymized or unapproved users are seen, if that updated them)."
