package mctime

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/saas-export/export/sources/simdata"
)

// Simulator serves GET .../users from the people present when each
// request is answered, in McTime's wire format. It matches on the path
// suffix, so it works at any mount point, including under
// http.StripPrefix.
//
// Person i is the user with id UUID, firstName, lastName, email, and
// mobilePhoneNumber the first phone (null when none). With two people or
// fewer it serves the docs' example users instead (the first N of the two,
// both active), field for field; people inserted later are generated. Every
// person has attributes the response does not show, derived from the
// person: organizationId OrgID as decimal text, organizationName "Org
// <OrgID>", one role (see simRole), and inactive when Person.Inactive.
//
// A page is {"items": [{"message": "Success", "data": {"users": [...],
// "page": "1", "pageSize": "<page count>"}}], "valid": true}, with page and
// pageSize as strings and pageSize the number of pages, as in the docs: 20
// users a page, pages from 1, a page past the end with no users, and a
// page count of 0 when nothing matches. Users come in natural order
// (simdata.Snapshot).
//
// The simulator has no connected user and checks no credential: it sees
// everyone. It answers 401 for a userIds value that is no one's id, or an
// organization no one belongs to, as the API does for what the key may not
// see; organizationName is ignored when organizationId is set, as
// documented. The docs show no error body; the simulator's is the success
// envelope without data: {"items": [{"message": "..."}], "valid": false}.
func Simulator(people *simdata.People) http.Handler {
	s := &simulator{people: people}
	if doc := docUsers(); people.N <= len(doc) {
		s.doc = doc[:max(people.N, 0)]
	}
	return s
}

type simulator struct {
	people *simdata.People
	doc    []simUser // the docs' users, in place of a population this small; nil otherwise

	// Each listing's selection is kept while it is paged.
	selections simdata.Selections[simSelection]
}

// simQuery is a parsed request.
type simQuery struct {
	userIDs  []string
	orgID    string // "": any
	orgName  string // "": any; ignored when orgID is set
	roles    []string
	inactive bool
	page     int    // from 1
	key      string // the canonical filter, the selection's cache key
}

// simSelection is the users matching a filter, by index, or the reason
// the API refuses the filter.
type simSelection struct {
	indexes []int
	refusal string // non-empty: answer 401 with this message
}

// simPerson is a user with the attributes the filters see.
type simPerson struct {
	user     simUser
	orgID    int
	role     string
	inactive bool
}

type simResponse struct {
	Items []simItem `json:"items"`
	Valid bool      `json:"valid"`
}

type simItem struct {
	Message string   `json:"message"`
	Data    *simData `json:"data,omitempty"`
}

type simData struct {
	Users    []simUser `json:"users"`
	Page     string    `json:"page"`
	PageSize string    `json:"pageSize"` // the page count, as the API has it
}

type simUser struct {
	ID                string  `json:"id"`
	FirstName         string  `json:"firstName"`
	LastName          string  `json:"lastName"`
	Email             string  `json:"email"`
	MobilePhoneNumber *string `json:"mobilePhoneNumber"`
}

// docUsers returns the users of the docs' example response, as given
// (the email is a scraping artefact of the published page, kept as is).
func docUsers() []simUser {
	return []simUser{
		{ID: "123abc45-39c5-436f-a70b-d3a14db753c6", FirstName: "John", LastName: "Doe",
			Email: "[email protected]", MobilePhoneNumber: new("+43123123")},
		{ID: "987abc45-39c5-436f-a70b-d3a14db753c6", FirstName: "Jane", LastName: "Doe",
			Email: "[email protected]", MobilePhoneNumber: new("+43987987")},
	}
}

func (s *simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, Endpoint) {
		writeMessage(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeMessage(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	q, err := parseSimQuery(r.URL.Query())
	if err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	sel := s.selection(q)
	if sel.refusal != "" {
		writeMessage(w, http.StatusUnauthorized, sel.refusal)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.answer(sel.indexes, q.page)) // the client has gone if this fails
}

func parseSimQuery(v url.Values) (simQuery, error) {
	q := simQuery{
		userIDs: v["userIds"], orgID: v.Get("organizationId"), orgName: v.Get("organizationName"),
		roles: v["roles"], page: 1,
	}
	for _, role := range q.roles {
		if !slices.Contains(Roles(), role) {
			return q, fmt.Errorf("roles: unknown role %q; possible roles: %s", role, strings.Join(Roles(), ", "))
		}
	}
	var err error
	if v.Has("inactive") {
		if q.inactive, err = strconv.ParseBool(v.Get("inactive")); err != nil {
			return q, fmt.Errorf("inactive must be true or false")
		}
	}
	if v.Has("page") {
		if q.page, err = strconv.Atoi(v.Get("page")); err != nil || q.page < 1 {
			return q, fmt.Errorf("page must be an integer from 1")
		}
	}
	if q.orgID != "" {
		q.orgName = "" // the docs: ignored when organizationId is set
	}
	q.key = url.Values{
		"userIds": q.userIDs, "organizationId": {q.orgID}, "organizationName": {q.orgName},
		"roles": q.roles, "inactive": {strconv.FormatBool(q.inactive)},
	}.Encode()
	return q, nil
}

// selection returns the present users matching q's filter, computed once
// for the filter and population.
func (s *simulator) selection(q simQuery) simSelection {
	snap := s.people.Snapshot()
	return s.selections.Get(q.key, snap.Version, func() simSelection { return s.selectUsers(q, snap) })
}

// selectUsers scans the people present once: for the users matching q, and
// for the requested ids and organization no one has, which the API refuses.
func (s *simulator) selectUsers(q simQuery, snap simdata.Snapshot) simSelection {
	unknownIDs := map[string]struct{}{}
	for _, id := range q.userIDs {
		unknownIDs[id] = struct{}{}
	}
	orgKnown := q.orgID == "" && q.orgName == ""
	var sel simSelection
	for k := range snap.Len() {
		i := snap.Index(k)
		p := s.person(i)
		delete(unknownIDs, p.user.ID)
		orgMatch := q.matchesOrg(&p)
		orgKnown = orgKnown || orgMatch
		if orgMatch && q.matches(&p) {
			sel.indexes = append(sel.indexes, i)
		}
	}
	switch {
	case len(unknownIDs) > 0:
		ids := slices.Sorted(maps.Keys(unknownIDs))
		sel.refusal = "Not allowed to see user(s): " + strings.Join(ids, ", ")
	case !orgKnown:
		sel.refusal = "Not allowed to see organization: " + cmp.Or(q.orgID, q.orgName)
	}
	return sel
}

func (q *simQuery) matchesOrg(p *simPerson) bool {
	switch {
	case q.orgID != "":
		return q.orgID == strconv.Itoa(p.orgID)
	case q.orgName != "":
		return q.orgName == simOrgName(p.orgID)
	}
	return true
}

// matches applies every filter but the organization.
func (q *simQuery) matches(p *simPerson) bool {
	return p.inactive == q.inactive &&
		(len(q.userIDs) == 0 || slices.Contains(q.userIDs, p.user.ID)) &&
		(len(q.roles) == 0 || slices.Contains(q.roles, p.role))
}

// answer renders page (from 1) of the selected users.
func (s *simulator) answer(indexes []int, page int) simResponse {
	pages := (len(indexes) + PageSize - 1) / PageSize
	from := min(min(page-1, pages)*PageSize, len(indexes)) // page is bounded first: it may be huge
	to := min(from+PageSize, len(indexes))
	d := &simData{
		Users:    make([]simUser, 0, to-from),
		Page:     strconv.Itoa(page),
		PageSize: strconv.Itoa(pages),
	}
	for _, i := range indexes[from:to] {
		d.Users = append(d.Users, s.person(i).user)
	}
	return simResponse{Items: []simItem{{Message: "Success", Data: d}}, Valid: true}
}

// person is user i with the attributes the filters see. The docs' users
// stand in for a population of two or fewer; they are active, since the
// docs list them without inactive=true.
func (s *simulator) person(i int) simPerson {
	p := s.people.Person(i)
	sp := simPerson{orgID: p.OrgID, role: simRole(&p), inactive: p.Inactive}
	if i < len(s.doc) {
		sp.user, sp.inactive = s.doc[i], false
		return sp
	}
	sp.user = simUser{ID: p.UUID, FirstName: p.FirstName, LastName: p.LastName, Email: p.Email}
	if len(p.Phones) > 0 {
		sp.user.MobilePhoneNumber = &p.Phones[0]
	}
	return sp
}

// simRole gives each person one role, from its number: half are
// employees, and fewer hold each role up to one main administrator in 20.
func simRole(p *simdata.Person) string {
	switch n := p.Number % 20; {
	case n == 0:
		return RoleMainAdministrator
	case n < 3:
		return RoleAdministrator
	case n < 6:
		return RoleManager
	case n < 10:
		return RoleApprover
	}
	return RoleEmployee
}

func simOrgName(orgID int) string { return "Org " + strconv.Itoa(orgID) }

// SimulatedIDs returns the ids of the people present, active and inactive,
// in natural order, as the exporter writes them.
func SimulatedIDs(people *simdata.People) []string {
	s := Simulator(people).(*simulator)
	snap := people.Snapshot()
	ids := make([]string, snap.Len())
	for k := range ids {
		ids[k] = s.person(snap.Index(k)).user.ID
	}
	return ids
}

// SimulatorRefusal is writeMessage, for refusals made around the simulator.
func SimulatorRefusal(w http.ResponseWriter, _ *http.Request, status int, message string) {
	writeMessage(w, status, message)
}

// writeMessage answers an error in the success envelope's shape.
func writeMessage(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(simResponse{Items: []simItem{{Message: message}}}) // the client has gone if this fails
}
