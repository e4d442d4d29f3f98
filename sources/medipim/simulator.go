package medipim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/saas-export/export/sources/simdata"
)

// Simulator serves POST .../v4/users/query from the people present when
// each request is answered, in Medipim's wire format. It matches on the
// path suffix, so it works at any mount point, including under
// http.StripPrefix.
//
// Person i is the user with id Number, name "First Last", organization
// OrgID and createdAt/updatedAt in unix seconds. The filter grammar is
// evaluated in full. The organization numbers the simulator does not know
// are derived from the organization id o: vatNr "BE%010d" of o, apbNr
// 100000+o and rizivNr 21000000000+o (integers or their decimal text).
//
// Errors are JSON: {"error": {"code": ..., "message": ...}}.
func Simulator(people *simdata.People) http.Handler {
	return &simulator{people: people}
}

// maxQueryBody bounds a request body; real queries are a few hundred bytes.
const maxQueryBody = 1 << 20

// docDefaultPageSize is the size the API uses for a page without one.
const docDefaultPageSize = 100

type simulator struct {
	people *simdata.People
}

// simQuery is a request body as the simulator reads it: page fields are
// pointers because absent and zero differ.
type simQuery struct {
	Filter  any `json:"filter"`
	Sorting any `json:"sorting"`
	Page    *struct {
		No   *int `json:"no"`
		Size *int `json:"size"`
	} `json:"page"`
}

// simResponse mirrors the documented response; meta.page only when the
// request had a page.
type simResponse struct {
	Meta struct {
		Total int      `json:"total"`
		Page  *simPage `json:"page,omitempty"`
	} `json:"meta"`
	Results []simUser `json:"results"`
}

type simPage struct {
	No     int `json:"no"`
	Offset int `json:"offset"`
	Size   int `json:"size"`
}

type simUser struct {
	ID           int    `json:"id"`
	Name         string `json:"name"`
	Organization int    `json:"organization"`
	Meta         struct {
		CreatedAt int64 `json:"createdAt"`
		UpdatedAt int64 `json:"updatedAt"`
	} `json:"meta"`
}

func (s *simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, Endpoint) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
		return
	}
	q, err := readQuery(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	resp, err := s.answer(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp) // the client has gone if this fails
}

func readQuery(w http.ResponseWriter, r *http.Request) (simQuery, error) {
	var q simQuery
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxQueryBody)).Decode(&q)
	if err != nil && !errors.Is(err, io.EOF) { // every field is optional: no body is {}
		return q, fmt.Errorf("malformed body: %w", err)
	}
	return q, nil
}

// answer selects, sorts and pages the users for q, from the people present
// now.
func (s *simulator) answer(q simQuery) (simResponse, error) {
	f, desc, err := parseQuery(q)
	if err != nil {
		return simResponse{}, err
	}
	// Without a filter the listing is everyone present, and a page is served
	// without generating the others.
	snap := s.people.Snapshot()
	total, at := snap.Len(), snap.Index
	if f != nil {
		matched := s.matching(snap, f)
		total, at = len(matched), func(k int) int { return matched[k] }
	}

	var resp simResponse
	resp.Meta.Total = total
	from, to := 0, total
	if q.Page != nil {
		page, err := pageOf(q.Page.No, q.Page.Size)
		if err != nil {
			return simResponse{}, err
		}
		resp.Meta.Page = &page
		from, to = min(page.Offset, total), min(page.Offset+page.Size, total)
	}
	resp.Results = make([]simUser, 0, to-from)
	for k := from; k < to; k++ {
		pos := k // natural order is ascending Number, which is id order
		if desc {
			pos = total - 1 - k
		}
		resp.Results = append(resp.Results, render(s.people.Person(at(pos))))
	}
	return resp, nil
}

// parseQuery checks the filter and sorting with the same grammar as
// CheckConfig; an absent or empty filter is none.
func parseQuery(q simQuery) (*filter, bool, error) {
	var c checker
	var f *filter
	if m, isMap := q.Filter.(map[string]any); q.Filter != nil && (!isMap || len(m) > 0) {
		parsed := c.filter("filter", q.Filter)
		f = &parsed
	}
	desc := q.Sorting != nil && c.sort("sorting", q.Sorting)
	if len(c.problems) > 0 {
		p := c.problems[0]
		return nil, false, fmt.Errorf("%s: %s", p.Path, p.Message)
	}
	return f, desc, nil
}

func pageOf(no, size *int) (simPage, error) {
	p := simPage{Size: docDefaultPageSize}
	if size != nil {
		p.Size = *size
	}
	if !slices.Contains(PageSizes(), p.Size) {
		return p, fmt.Errorf("page.size must be one of 10, 50, 100 or 250, got %d", p.Size)
	}
	if no != nil {
		p.No = *no
	}
	if p.No < 0 {
		return p, fmt.Errorf("page.no must be 0 or more, got %d", p.No)
	}
	p.Offset = p.No * p.Size
	return p, nil
}

// matching returns the indexes of the people present that f matches, in
// natural order.
func (s *simulator) matching(snap simdata.Snapshot, f *filter) []int {
	var matched []int
	for k := range snap.Len() {
		if i := snap.Index(k); f.match(s.people.Person(i)) {
			matched = append(matched, i)
		}
	}
	return matched
}

func (f *filter) match(p simdata.Person) bool {
	switch f.key {
	case "id":
		return slices.Contains(f.ids, int64(p.Number))
	case "organization":
		return f.ids[0] == int64(p.OrgID)
	case "vatNr":
		return f.text == fmt.Sprintf("BE%010d", p.OrgID)
	case "apbNr":
		return f.text == strconv.Itoa(100000+p.OrgID)
	case "rizivNr":
		return f.text == strconv.Itoa(21000000000+p.OrgID)
	case "and":
		return !slices.ContainsFunc(f.subs, func(g filter) bool { return !g.match(p) })
	case "or":
		return slices.ContainsFunc(f.subs, func(g filter) bool { return g.match(p) })
	case "not":
		return !f.subs[0].match(p)
	}
	return false
}

func render(p simdata.Person) simUser {
	u := simUser{ID: p.Number, Name: p.FirstName + " " + p.LastName, Organization: p.OrgID}
	u.Meta.CreatedAt = p.CreatedAt.Unix()
	u.Meta.UpdatedAt = p.UpdatedAt.Unix()
	return u
}

// SimulatedIDs returns the ids of the people present, in natural order, as
// the exporter writes them.
func SimulatedIDs(people *simdata.People) []string {
	present := people.Present()
	ids := make([]string, len(present))
	for k, p := range present {
		ids[k] = strconv.Itoa(render(p).ID)
	}
	return ids
}

// SimulatorRefusal is writeError, for refusals made around the simulator,
// with the status's text as the code: too_many_requests for a 429.
func SimulatorRefusal(w http.ResponseWriter, _ *http.Request, status int, message string) {
	writeError(w, status, strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_"), message)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, message
	_ = json.NewEncoder(w).Encode(body) // the client has gone if this fails
}
