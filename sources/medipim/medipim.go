// Package medipim exports users from the Medipim API v4
// (POST {base_url}/v4/users/query) and simulates that endpoint.
//
// The package does not import sources (which imports it for the registry);
// it exports the values the registry assembles into a sources.Provider.
package medipim

import (
	"net/http"
	"time"

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

// FilterDoc documents one filter key for `export providers`.
type FilterDoc struct {
	Key  string
	Type string
	Doc  string
}

// Filters documents the filter grammar: each filter object has exactly one
// of these keys.
func Filters() []FilterDoc {
	return []FilterDoc{
		{"id", "integer | list of integers", "users with these Medipim ids"},
		{"organization", "integer", "users of this Medipim organization"},
		{"vatNr", "string", "users whose organization has this VAT number"},
		{"apbNr", "integer | string", "users whose organization has this APB number"},
		{"rizivNr", "integer | string", "users whose organization has this RIZIV number"},
		{"and", "list of filters", "users matching every filter"},
		{"or", "list of filters", "users matching any filter"},
		{"not", "filter", "users not matching the filter"},
	}
}
