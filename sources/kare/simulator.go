package kare

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/saas-export/export/sources/simdata"
)

// Simulator serves GET .../users/v1/rs from the people present when each
// request is answered, in Kare's wire format. It matches on the path
// suffix, so it works at any mount point, including under
// http.StripPrefix.
//
// Every request needs an Authorization: Bearer header and an
// x-session-token header (any non-empty values; x-sites is ignored), else
// 401. The query is read in the encoding the package doc describes; a
// parameter the docs do not list, a repeated scalar, a malformed value or
// an unknown extend is a 400. Errors are JSON in NestJS's shape:
// {"statusCode": 400, "message": ..., "error": "Bad Request"}.
//
// A population of one is the docs' example user, served verbatim whatever
// the extend, and any people inserted later. Otherwise person i is the user
// with id Number, key UUID, type 1 or 2 (alternating), phone the first
// phone (null when none), activatedAt its createdAt, a profession of four,
// and deletedAt its updatedAt when Inactive, as if deleting a user updated
// it (so a simdata touch moves both); times are UTC to the millisecond, as
// in the docs. Extends: organization adds {"id": OrgID,
// "name": ...}; diplomas, stats and user-rule add nested objects shaped
// like the docs'; the other extends change nothing.
//
// Deleted users are hidden unless whereIsDeleted=true. The string filters
// match a case-insensitive substring (whereText and whereFullName of
// "first last"); whereType, whereUserIds, whereProfessionIds and the
// whereActivatedAt, whereUpdatedAt and whereCreatedAt ranges (bounds
// inclusive) are applied. whereGuest, whereIsInvited, whereRuleIds,
// whereMissingRuleIds, whereRuleIdIsInPerimeter,
// whereRuleIdIsNotInPerimeter, whereDiplomaTitleIds and wherePermission
// are checked, then ignored: people have no such data. Users come in id
// order; totalCount only with includeCount=true.
func Simulator(people *simdata.People) http.Handler {
	var doc simUser
	if err := json.Unmarshal([]byte(docUserJSON), &doc); err != nil {
		panic("kare: the docs' example user does not decode: " + err.Error()) // a constant: tests catch it
	}
	return &simulator{people: people, doc: doc}
}

// docDefaultPageSize is the page size the API uses without pageSize.
const docDefaultPageSize = 50

type simulator struct {
	people *simdata.People
	doc    simUser // the docs' example user, decoded for filtering

	// Hiding deleted users alone needs every person: each listing's
	// selection is kept while it is paged.
	selections simdata.Selections[[]int]
}

// simTime is a timestamp as the API writes it: UTC to the millisecond.
type simTime time.Time

func (t simTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(isoMillis) + `"`), nil
}

func (t *simTime) UnmarshalJSON(b []byte) error {
	return (*time.Time)(t).UnmarshalJSON(b)
}

// simUser is a user's own fields, in the docs' order: what the simulator
// filters on, for the docs' user and generated people alike.
type simUser struct {
	ID          int64           `json:"id"`
	Key         string          `json:"key"`
	Type        int64           `json:"type"`
	FirstName   string          `json:"firstName"`
	LastName    string          `json:"lastName"`
	Email       string          `json:"email"`
	Phone       *string         `json:"phone"`
	Lang        string          `json:"lang"`
	ActivatedAt *simTime        `json:"activatedAt"`
	UpdatedAt   simTime         `json:"updatedAt"`
	CreatedAt   simTime         `json:"createdAt"`
	DeletedAt   *simTime        `json:"deletedAt"`
	Permissions *simPermissions `json:"permissions"`
	Scope       int             `json:"scope"`
	Profession  *simRef         `json:"profession"`
}

// simRecord is a generated user with the nested data its extends ask for.
type simRecord struct {
	simUser
	Organization *simRef        `json:"organization,omitempty"`
	Diplomas     *[]simRef      `json:"diplomas,omitempty"` // a pointer: [] is a valid answer
	UserRules    *[]simUserRule `json:"userRules,omitempty"`
	Stats        *simStats      `json:"stats,omitempty"`
}

type simRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type simPermissions struct {
	Group  int     `json:"group"`
	Read   []int64 `json:"read"`
	Manage []int64 `json:"manage"`
}

type simStats struct {
	NbPastDue   int `json:"nbPastDue"`
	NbFutureDue int `json:"nbFutureDue"`
}

type simUserRule struct {
	ID         int64    `json:"id"`
	DueAt      simTime  `json:"dueAt"`
	ContractID int64    `json:"contractId"`
	RoutineID  int64    `json:"routineId"`
	ArchivedAt *simTime `json:"archivedAt"`
	DeletedAt  *simTime `json:"deletedAt"`
	CreatedAt  simTime  `json:"createdAt"`
	Rule       simRule  `json:"rule"`
}

type simRule struct {
	ID         int64          `json:"id"`
	Name       string         `json:"name"`
	SourceType int            `json:"sourceType"`
	UserScopes []simUserScope `json:"userScopes"`
	RRule      string         `json:"rrule"`
	CreatedAt  simTime        `json:"createdAt"`
}

type simUserScope struct {
	ProfessionIDs []int64 `json:"professionIds"`
	DiplomaIDs    []int64 `json:"diplomaIds"`
}

type simResponse struct {
	Data       []any `json:"data"` // simRecord, or the docs' user as json.RawMessage
	TotalCount *int  `json:"totalCount,omitempty"`
	Pagination struct {
		Page     int64 `json:"page"`
		PageSize int64 `json:"pageSize"`
	} `json:"pagination"`
}

func (s *simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, Endpoint) {
		writeError(w, http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.Path)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	if msg := checkAuth(r.Header); msg != "" {
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	q, err := parseSimQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.answer(q)) // the client has gone if this fails
}

// checkAuth returns why the request is refused, "" when it is not.
func checkAuth(h http.Header) string {
	token, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	switch {
	case !ok || strings.TrimSpace(token) == "":
		return "missing bearer token in the Authorization header"
	case h.Get("x-session-token") == "":
		return "missing x-session-token header"
	}
	return ""
}

func (s *simulator) answer(q simQuery) simResponse {
	order := s.selection(q)
	var resp simResponse
	resp.Pagination.Page, resp.Pagination.PageSize = q.page, q.pageSize
	if q.includeCount {
		resp.TotalCount = new(len(order))
	}
	total := int64(len(order))
	from, to := min((q.page-1)*q.pageSize, total), min(q.page*q.pageSize, total)
	resp.Data = make([]any, 0, to-from)
	for _, i := range order[from:to] {
		resp.Data = append(resp.Data, s.render(i, q.extend))
	}
	return resp
}

// selection returns the indexes of the matching users present in id
// order, computed once for the filters and population.
func (s *simulator) selection(q simQuery) []int {
	snap := s.people.Snapshot()
	return s.selections.Get(q.selection, snap.Version, func() []int { return s.match(q, snap) })
}

func (s *simulator) match(q simQuery, snap simdata.Snapshot) []int {
	type hit struct {
		id    int64
		index int
	}
	var hits []hit
	for k := range snap.Len() {
		i := snap.Index(k)
		if u := s.user(i); q.matches(&u) {
			hits = append(hits, hit{u.ID, i})
		}
	}
	// Natural order is id order but for the docs' user, whose id is 1.
	slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Compare(a.id, b.id) })
	order := make([]int, len(hits))
	for k, h := range hits {
		order[k] = h.index
	}
	return order
}

// docUser reports whether person i is the docs' example user.
func (s *simulator) docUser(i int) bool { return s.people.N == 1 && i == 0 }

func (s *simulator) user(i int) simUser {
	if s.docUser(i) {
		return s.doc
	}
	return personUser(s.people.Person(i))
}

func (s *simulator) render(i int, extend map[string]bool) any {
	if s.docUser(i) {
		return json.RawMessage(docUserJSON)
	}
	p := s.people.Person(i)
	rec := simRecord{simUser: personUser(p)}
	if extend["organization"] {
		rec.Organization = &simRef{ID: int64(p.OrgID), Name: fmt.Sprintf("Organization %d", p.OrgID)}
	}
	if extend["diplomas"] {
		rec.Diplomas = new(personDiplomas(p))
	}
	if extend["user-rule"] {
		rec.UserRules = new(personRules(p))
	}
	if extend["stats"] {
		rec.Stats = &simStats{NbPastDue: p.Index % 6, NbFutureDue: p.Number % 4}
	}
	return rec
}

// professions and diplomas are the simulator's catalogues; the docs name
// one of each, "Urgent".
func professions() []simRef {
	return []simRef{{1, "Urgent"}, {2, "Nurse"}, {3, "Physician"}, {4, "Paramedic"}}
}

func diplomas() []simRef {
	return []simRef{{1, "Urgent"}, {2, "First aid"}, {3, "Fire safety"}}
}

func profession(p simdata.Person) simRef { return professions()[p.Index%len(professions())] }

func personUser(p simdata.Person) simUser {
	u := simUser{
		ID: int64(p.Number), Key: p.UUID, Type: 1 + int64(p.Index%2),
		FirstName: p.FirstName, LastName: p.LastName, Email: p.Email, Lang: p.Language,
		ActivatedAt: new(simTime(p.CreatedAt)),
		UpdatedAt:   simTime(p.UpdatedAt), CreatedAt: simTime(p.CreatedAt),
		Permissions: &simPermissions{Group: 1, Read: []int64{int64(p.OrgID)}, Manage: []int64{}},
		Scope:       1,
		Profession:  new(profession(p)),
	}
	if len(p.Phones) > 0 {
		u.Phone = &p.Phones[0]
	}
	if p.Inactive {
		u.DeletedAt = new(simTime(p.UpdatedAt))
	}
	return u
}

// personDiplomas gives person i the first i%4 diplomas: none for a quarter.
func personDiplomas(p simdata.Person) []simRef {
	return diplomas()[:p.Index%(len(diplomas())+1)]
}

// personRules gives everyone the yearly safety check, due a year after
// their creation, in scope of their profession.
func personRules(p simdata.Person) []simUserRule {
	created := simTime(p.CreatedAt)
	return []simUserRule{{
		ID: int64(p.Number), DueAt: simTime(p.CreatedAt.AddDate(1, 0, 0)), ContractID: 8, RoutineID: 5,
		CreatedAt: created,
		Rule: simRule{
			ID: 1, Name: "Annual Safety Check", SourceType: 1,
			UserScopes: []simUserScope{{ProfessionIDs: []int64{profession(p).ID}, DiplomaIDs: []int64{}}},
			RRule:      "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=1",
			CreatedAt:  created,
		},
	}}
}

// SimulatedIDs returns the ids of the people present, deleted or not, in
// natural order, as the exporter writes them.
func SimulatedIDs(people *simdata.People) []string {
	s := Simulator(people).(*simulator)
	snap := people.Snapshot()
	ids := make([]string, snap.Len())
	for k := range ids {
		ids[k] = strconv.FormatInt(s.user(snap.Index(k)).ID, 10)
	}
	return ids
}

// SimulatorRefusal is writeError, for refusals made around the simulator.
func SimulatorRefusal(w http.ResponseWriter, _ *http.Request, status int, message string) {
	writeError(w, status, message)
}

// writeError answers in NestJS's error shape.
func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
		Error      string `json:"error"`
	}{status, message, http.StatusText(status)}) // the client has gone if this fails
}
