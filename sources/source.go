// Package sources is the registry of providers. Each provider lives in its
// own sub-package; the HTTP layer they share is sources/httpsource.
package sources

import (
	"net/http"

	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

// Provider describes one SaaS API: its defaults, what `export providers`
// lists, how to check a job's filter, and how to build a source.
type Provider struct {
	Name           string
	DefaultBaseURL string // "": none, every job must set base_url
	Method         string // the endpoint's HTTP method
	Endpoint       string // appended to base_url
	DefaultRate    httpsource.Rate
	PageSize       PageSizes
	AuthKinds      []string
	Filters        []FilterDoc
	Sort           string // how `sort` is written for this provider; "" if unsupported

	// CheckConfig validates a job's filter, sort and page size without
	// network access.
	CheckConfig func(job httpsource.Job) []httpsource.Problem
	// New builds the job's source on a configured client.
	New func(job httpsource.Job, client *httpsource.Client) (httpsource.Source, error)
	// Simulator serves the provider's endpoint in its wire format from
	// generated people; mounted at Endpoint.
	Simulator func(people *simdata.People) http.Handler
}

// PageSizes documents a provider's page size rules.
type PageSizes struct {
	Default int
	Max     int
	Allowed []int // a fixed set, when the API has one
}

// FilterDoc documents one filter key for `export providers`.
type FilterDoc struct {
	Key  string `json:"key"`
	Type string `json:"type"`
	Doc  string `json:"doc"`
}
