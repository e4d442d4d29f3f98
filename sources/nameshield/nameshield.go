// Package nameshield exports users from the Nameshield user API
// (GET {base_url}/user/v1/users) and simulates that endpoint.
//
// The package does not import sources (which imports it for the registry);
// it exports the values the registry assembles into a sources.Provider.
package nameshield

import (
	"net/http"
	"time"

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

// FilterDoc documents one filter key for `export providers`.
type FilterDoc struct {
	Key  string
	Type string
	Doc  string
}

// Filters documents the query parameters a job's filter may set.
func Filters() []FilterDoc {
	return []FilterDoc{
		{"customer_id", "integer", "users of this customer (default: the token's own customer)"},
		{"include_subsidiaries", "bool", "include users of the customer's subsidiaries (default true)"},
		{"id", "string", "users with this id; * is a wildcard"},
		{"firstname", "string", "users with this first name; * is a wildcard"},
		{"lastname", "string", "users with this last name; * is a wildcard"},
		{"email", "string", "users with this email; * is a wildcard"},
		{"created_by", "string", "users created by this user id; * is a wildcard"},
		{"updated_by", "string", "users last updated by this user id; * is a wildcard"},
	}
}
