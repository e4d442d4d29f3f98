package httpsource

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/simdata"
)

// Provider describes one SaaS API: its defaults, what `export providers`
// lists, how to check a job's filter, how to build a source and how to
// simulate the API. Each provider package returns its own.
type Provider struct {
	Name           string
	DefaultBaseURL string // "": none, every job must set base_url
	Method         string // the endpoint's HTTP method
	Endpoint       string // appended to base_url
	DefaultRate    Rate
	PageSize       PageSizes
	AuthKinds      []string
	Filters        []FilterDoc
	Sort           string // how `sort` is written for this provider; "" if unsupported
	// NoTotal says the API reports no user count, so a deletion behind the
	// cursor changes nothing a single read can see.
	NoTotal bool
	// Incremental is how the API narrows a listing to recent changes;
	// IncrementalNone refuses incremental jobs.
	Incremental Incremental
	// IncrementalNote says, for the README and `export providers`, what an
	// incremental run of this provider can and cannot see (deletions).
	IncrementalNote string
	// WireFormats lists the encodings a job may choose with wire_format,
	// the default first; empty when the API speaks only one.
	WireFormats []string
	// RawFields says, for every column a job may drop or hash, which
	// members of the raw record (User.Raw, the record as JSON; Requestor's
	// XML converted) the column is read from, so that include_raw can
	// scrub them too. A path is dotted from the record's top level
	// ("meta.createdAt"); a path that meets an array applies to every
	// element, and a path ending at an object or array covers all of it.
	// A member name cannot contain a dot. Every droppable column has an
	// entry: a column the provider never fills from the record (McTime's
	// active comes from the listing) maps to an empty list, so that a
	// missing entry is always a mistake, which the config check refuses.
	RawFields map[schema.ColumnID][]string
	// CheckConfig validates a job's filter, sort and page size without
	// network access.
	CheckConfig func(job Job) []Problem
	// New builds the job's source on a configured client.
	New func(job Job, client *Client) (Source, error)
	// Probe estimates one read of the job's listing with at most 3 small
	// requests (one per listing, for a provider that reads several), for
	// `export plan`.
	Probe func(ctx context.Context, job Job, client *Client) (Estimate, error)
	// Simulator serves the provider's endpoint in its wire format from
	// generated people; it matches on the endpoint path's suffix, so it
	// can be mounted under any prefix.
	Simulator func(people *simdata.People) http.Handler
	// SimulatorRefusal writes an error answer as the provider's simulator
	// does (status, and the provider's error body with message), for a
	// refusal the simulator makes around it, such as its rate limit.
	SimulatorRefusal func(w http.ResponseWriter, r *http.Request, status int, message string)
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

// ProblemsError joins a provider's config problems into one error, for a
// source built without the config check having run first.
func ProblemsError(provider string, problems []Problem) error {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Path + ": " + p.Message
	}
	return fmt.Errorf("%s: invalid config: %s", provider, strings.Join(msgs, "; "))
}

// AsInt accepts the integer forms YAML and JSON decoders produce in a
// filter: Go integers, and float64 with an integral value in int64 range.
func AsInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case uint:
		return int64(n), uint64(n) <= math.MaxInt64
	case float64:
		ok := n == math.Trunc(n) && n >= math.MinInt64 && n < math.MaxInt64
		return int64(n), ok
	}
	return 0, false
}
