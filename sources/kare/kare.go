// Package kare exports users from the Kare API
// (GET {base_url}/users/v1/rs) and simulates that endpoint.
//
// # Auth
//
// Every request needs two credentials: a bearer token and a session token
// in the x-session-token header; x-sites (the sites to list) is optional.
// Both headers come from the job's auth, as extra headers:
//
//	auth: {type: bearer, token: "${KARE_TOKEN}", headers: {x-session-token: "${KARE_SESSION_TOKEN}"}}
//
// CheckConfig never sees auth, so a missing session token shows as the
// API's 401 on the first page.
//
// # Query string encoding
//
// The docs list array and object parameters of a GET without saying how
// they are written. The source uses the convention of qs (Express and
// NestJS parse it by default): an array repeats its key
// (whereType=1&whereType=2, extend=stats&extend=organization) and an object
// uses brackets (whereUpdatedAt[start]=...&whereUpdatedAt[end]=..., the
// brackets percent-encoded as in any query string). Range bounds are sent
// in UTC to the millisecond, as in the docs' example
// (2021-01-01T00:00:00.000Z). The simulator parses exactly this encoding
// and refuses anything else.
//
// # Paging
//
// Pages are numbered from 1 (page index i is page=i+1); every request sends
// includeCount=true, so that totalCount gives the page count and lets pages
// be fetched concurrently. Without totalCount, a short page ends the
// listing. The source sends no orderBy: its objects are not described, so
// the API's default order is used. findId, subPageSize, userRuleOrderBy
// and targetRuleId are not sent either: paging is the export's own, and
// the others only shape nested data.
//
// # Deleted users
//
// We assume that the API, like the simulator, hides deleted users unless
// whereIsDeleted=true is sent, and that whereIsDeleted=false lists only
// the others. The contract wants a job without a filter to export every
// user, so without a whereIsDeleted filter a job exports two listings in
// turn, whereIsDeleted=false then whereIsDeleted=true, and reports the sum
// of their totals; with one, only that listing. A user deleted while the
// first listing is read moves to the second: httpsource's drift checks
// see it (a duplicate id, or the first listing's page 0 read again at the
// end), and the listings are read again.
//
// # Incremental runs
//
// A job's UpdatedSince becomes whereUpdatedAt[start] on every listing, or
// the job's own start bound when that is later; its end bound stays. The
// docs do not say whether deleting a user moves its updatedAt, and their
// example user has a deletedAt days after its updatedAt, so a deletion
// may be invisible to an incremental run; the simulator sets a deleted
// user's deletedAt to its updatedAt, as if it did.
package kare

import (
	"net/http"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
)

// Descriptor values for the registry.
const (
	Name           = "kare"
	DefaultBaseURL = "https://z52mnqg347.execute-api.eu-west-3.amazonaws.com/main"
	Method         = http.MethodGet
	Endpoint       = "/users/v1/rs"

	// DefaultPageSize is the API's own default, the one size known to
	// work. The docs state no maximum; MaxPageSize is ours, to keep one
	// response (users with nested rules and diplomas) a few megabytes.
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// DefaultRate is our choice, since the docs state no limit: 10 requests a
// second stays well under API Gateway's defaults; 429 answers are retried
// with backoff anyway.
func DefaultRate() httpsource.Rate { return httpsource.Rate{N: 10, Per: time.Second} }

// AuthKinds returns the auth the API takes. There is one kind, bearer; the
// required session header is spelled out because `export providers` shows
// no other place for it.
func AuthKinds() []string {
	return []string{"bearer, with headers: {x-session-token: ... (required), x-sites: ... (optional)}"}
}

// Filters documents the filter keys, their types and their encoding.
func Filters() []httpsource.FilterDoc {
	specs := filterSpecs()
	docs := make([]httpsource.FilterDoc, len(specs))
	for i, s := range specs {
		doc := s.doc
		if enc := s.kind.encoding(s.key); enc != "" {
			doc += "; " + enc
		}
		docs[i] = httpsource.FilterDoc{Key: s.key, Type: s.kind.String(), Doc: doc}
	}
	return docs
}

// Provider describes Kare for the registry.
func Provider() httpsource.Provider {
	return httpsource.Provider{
		Name: Name, DefaultBaseURL: DefaultBaseURL, Method: Method, Endpoint: Endpoint,
		DefaultRate: DefaultRate(),
		PageSize:    httpsource.PageSizes{Default: DefaultPageSize, Max: MaxPageSize},
		AuthKinds:   AuthKinds(), Filters: Filters(),
		Incremental: httpsource.IncrementalFilter, IncrementalNote: IncrementalNote,
		CheckConfig: CheckConfig, New: New, Probe: Probe, Simulator: Simulator, SimulatorRefusal: SimulatorRefusal,
		RawFields: RawFields(),
	}
}

// RawFields maps each droppable column to the record members normalize
// reads it from: full_name is joined from firstName and lastName, phones
// is the one phone, active is decided by deletedAt. organization_id reads
// the whole organization object (extend=organization), whose name names
// the same organization as its id, or organizationId. activatedAt,
// permissions and the rules' own times are not read by any column.
func RawFields() map[schema.ColumnID][]string {
	return map[schema.ColumnID][]string{
		schema.ColKey:            {"key"},
		schema.ColUsername:       {},
		schema.ColFirstName:      {"firstName"},
		schema.ColLastName:       {"lastName"},
		schema.ColFullName:       {"firstName", "lastName"},
		schema.ColEmail:          {"email"},
		schema.ColPhone:          {"phone"},
		schema.ColPhones:         {"phone"},
		schema.ColLanguage:       {"lang"},
		schema.ColOrganizationID: {"organization", "organizationId"},
		schema.ColRoles:          {},
		schema.ColActive:         {"deletedAt"},
		schema.ColCreatedAt:      {"createdAt"},
		schema.ColUpdatedAt:      {"updatedAt"},
		schema.ColDeletedAt:      {"deletedAt"},
		schema.ColExpiresAt:      {},
		schema.ColLastLoginAt:    {},
	}
}

// IncrementalNote is what an incremental run sees (see the package doc).
const IncrementalNote = "whereUpdatedAt[start] narrows every listing. A user deleted in the window comes with " +
	"deleted_at (unless the job sets whereIsDeleted: false) only if the deletion moved its updatedAt, which the docs " +
	"do not promise (their example user's deletedAt is days after its updatedAt); users removed outright never " +
	"appear, and only a full run shows them gone."
