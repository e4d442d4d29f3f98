package nameshield

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/saas-export/export/sources/simdata"
)

// Simulator serves GET .../user/v1/users from the people present when each
// request is answered, in Nameshield's wire format. It matches on the path
// suffix, so it works at any mount point, including under
// http.StripPrefix.
//
// Person i is the user with id UUID, customer_id OrgID, phone the first
// phone (null when none), expires_at and last_login_at null when zero, and
// every time rendered at +01:00 as in the docs. Every user was created and
// last updated by the docs' "Company Administrator".
//
// The simulator has no connected user: without customer_id it lists every
// customer, and include_subsidiaries is echoed but changes nothing. The
// wildcard filters are case-insensitive; without a * they must match the
// whole value. Sorting is stable; without sort[] users come in natural
// order (simdata.Snapshot).
// Errors are JSON: {"message": ...}.
func Simulator(people *simdata.People) http.Handler {
	return &simulator{people: people, zone: time.FixedZone("+01:00", 3600)}
}

// docDefaultLimit is the page size the API uses without a limit.
const docDefaultLimit = 100

// admin is the creator and updater of every simulated user: the docs' example.
var admin = simActor{ID: "7a1506b9-9ce4-43f9-a6f0-e94ef4252277", FirstName: "Company", LastName: "Administrator"}

// patternFilters are the wildcard filters, in the order they are applied.
var patternFilters = [...]string{"id", "firstname", "lastname", "email", "created_by", "updated_by"}

type simulator struct {
	people *simdata.People
	zone   *time.Location

	// A filtered or sorted listing's selection is kept while it is paged.
	selections simdata.Selections[[]int]
}

// simQuery is a parsed request.
type simQuery struct {
	limit, offset int
	includeSubs   bool
	customerID    *int
	patterns      map[string]string // filter key → pattern
	sort          []string          // "field:dir", checked
	selection     string            // canonical filter and sort, the cache key
}

type simResponse struct {
	Message string `json:"message"`
	Data    struct {
		Total               int       `json:"total"`
		IncludeSubsidiaries bool      `json:"include_subsidiaries"`
		Limit               int       `json:"limit"`
		Offset              int       `json:"offset"`
		Sort                []string  `json:"sort"`
		Results             []simUser `json:"results"`
	} `json:"data"`
}

type simUser struct {
	ID          string   `json:"id"`
	FirstName   string   `json:"firstname"`
	LastName    string   `json:"lastname"`
	Email       string   `json:"email"`
	Language    string   `json:"language"`
	Phone       *string  `json:"phone"`
	CustomerID  int      `json:"customer_id"`
	ExpiresAt   *string  `json:"expires_at"`
	LastLoginAt *string  `json:"last_login_at"`
	CreatedAt   string   `json:"created_at"`
	CreatedBy   simActor `json:"created_by"`
	UpdatedAt   string   `json:"updated_at"`
	UpdatedBy   simActor `json:"updated_by"`
}

type simActor struct {
	ID        string `json:"id"`
	FirstName string `json:"firstname"`
	LastName  string `json:"lastname"`
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
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.answer(q)) // the client has gone if this fails
}

func parseSimQuery(v url.Values) (simQuery, error) {
	q := simQuery{limit: docDefaultLimit, includeSubs: true, patterns: map[string]string{}}
	var err error
	if v.Has("limit") {
		if q.limit, err = strconv.Atoi(v.Get("limit")); err != nil || q.limit < 1 || q.limit > MaxPageSize {
			return q, fmt.Errorf("limit must be an integer from 1 to %d", MaxPageSize)
		}
	}
	if v.Has("offset") {
		if q.offset, err = strconv.Atoi(v.Get("offset")); err != nil || q.offset < 0 {
			return q, fmt.Errorf("offset must be a non-negative integer")
		}
	}
	if v.Has("include_subsidiaries") {
		if q.includeSubs, err = strconv.ParseBool(v.Get("include_subsidiaries")); err != nil {
			return q, fmt.Errorf("include_subsidiaries must be true or false")
		}
	}
	sel := url.Values{}
	if v.Has("customer_id") {
		id, err := strconv.Atoi(v.Get("customer_id"))
		if err != nil {
			return q, fmt.Errorf("customer_id must be an integer")
		}
		q.customerID = &id
		sel.Set("customer_id", v.Get("customer_id"))
	}
	for _, key := range patternFilters {
		if v.Has(key) {
			q.patterns[key] = strings.ToLower(v.Get(key))
			sel.Set(key, v.Get(key))
		}
	}
	var c checker
	for _, entry := range v["sort[]"] {
		if _, ok := c.sortEntry("sort[]", entry); !ok {
			return q, fmt.Errorf("%s: %s", c.problems[0].Path, c.problems[0].Message)
		}
	}
	q.sort = v["sort[]"]
	sel["sort[]"] = q.sort
	q.selection = sel.Encode()
	return q, nil
}

func (s *simulator) answer(q simQuery) simResponse {
	snap := s.people.Snapshot()
	total, at := snap.Len(), snap.Index
	if order := s.selection(q, snap); order != nil {
		total, at = len(order), func(k int) int { return order[k] }
	}
	var resp simResponse
	resp.Message = "OK"
	resp.Data.Total = total
	resp.Data.IncludeSubsidiaries = q.includeSubs
	resp.Data.Limit, resp.Data.Offset = q.limit, q.offset
	resp.Data.Sort = append([]string{}, q.sort...) // [] rather than null, as the docs show
	from, to := min(q.offset, total), min(q.offset+q.limit, total)
	resp.Data.Results = make([]simUser, 0, to-from)
	for k := from; k < to; k++ {
		resp.Data.Results = append(resp.Data.Results, s.render(s.people.Person(at(k))))
	}
	return resp
}

// selection returns the indexes of the matching people of snap in response
// order, or nil when that is everyone in natural order: then a page is
// served without generating the others.
func (s *simulator) selection(q simQuery, snap simdata.Snapshot) []int {
	if q.customerID == nil && len(q.patterns) == 0 && len(q.sort) == 0 {
		return nil
	}
	return s.selections.Get(q.selection, snap.Version, func() []int { return s.selectAndSort(q, snap) })
}

func (s *simulator) selectAndSort(q simQuery, snap simdata.Snapshot) []int {
	matched := []simdata.Person{}
	for k := range snap.Len() {
		if p := s.people.Person(snap.Index(k)); q.matches(&p) {
			matched = append(matched, p)
		}
	}
	slices.SortStableFunc(matched, func(a, b simdata.Person) int {
		for _, entry := range q.sort {
			field, dir, _ := strings.Cut(entry, ":")
			if c := compareField(field, &a, &b); c != 0 {
				if dir == "desc" {
					return -c
				}
				return c
			}
		}
		return 0
	})
	order := make([]int, len(matched))
	for k, p := range matched {
		order[k] = p.Index
	}
	return order
}

func (q *simQuery) matches(p *simdata.Person) bool {
	if q.customerID != nil && *q.customerID != p.OrgID {
		return false
	}
	for key, pattern := range q.patterns {
		if !wildcard(pattern, strings.ToLower(patternField(key, p))) {
			return false
		}
	}
	return true
}

func patternField(key string, p *simdata.Person) string {
	switch key {
	case "id":
		return p.UUID
	case "firstname":
		return p.FirstName
	case "lastname":
		return p.LastName
	case "email":
		return p.Email
	}
	return admin.ID // created_by, updated_by
}

// wildcard reports whether s matches pattern, where * stands for any run
// of characters. Each literal part is matched at its leftmost place, which
// is enough when * is the only special character.
func wildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	first, last := parts[0], parts[len(parts)-1]
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return strings.HasSuffix(s, last)
}

// compareField orders two people by a sortable field, as rendered: a null
// phone or time (zero) sorts first.
func compareField(field string, a, b *simdata.Person) int {
	switch field {
	case "id":
		return strings.Compare(a.UUID, b.UUID)
	case "firstname":
		return strings.Compare(a.FirstName, b.FirstName)
	case "lastname":
		return strings.Compare(a.LastName, b.LastName)
	case "email":
		return strings.Compare(a.Email, b.Email)
	case "language":
		return strings.Compare(a.Language, b.Language)
	case "phone":
		return strings.Compare(firstPhone(a), firstPhone(b))
	case "customer_id":
		return cmp.Compare(a.OrgID, b.OrgID)
	case "expires_at":
		return a.ExpiresAt.Compare(b.ExpiresAt)
	case "last_login_at":
		return a.LastLoginAt.Compare(b.LastLoginAt)
	case "created_at":
		return a.CreatedAt.Compare(b.CreatedAt)
	case "updated_at":
		return a.UpdatedAt.Compare(b.UpdatedAt)
	}
	panic("nameshield: unchecked sort field " + field)
}

func firstPhone(p *simdata.Person) string {
	if len(p.Phones) == 0 {
		return ""
	}
	return p.Phones[0]
}

func (s *simulator) render(p simdata.Person) simUser {
	u := simUser{
		ID: p.UUID, FirstName: p.FirstName, LastName: p.LastName, Email: p.Email,
		Language: p.Language, CustomerID: p.OrgID,
		ExpiresAt: s.optionalTime(p.ExpiresAt), LastLoginAt: s.optionalTime(p.LastLoginAt),
		CreatedAt: s.time(p.CreatedAt), CreatedBy: admin,
		UpdatedAt: s.time(p.UpdatedAt), UpdatedBy: admin,
	}
	if len(p.Phones) > 0 {
		u.Phone = &p.Phones[0]
	}
	return u
}

func (s *simulator) time(t time.Time) string { return t.In(s.zone).Format(time.RFC3339) }

func (s *simulator) optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	text := s.time(t)
	return &text
}

// SimulatedIDs returns the ids of the people present, in natural order, as
// the exporter writes them.
func SimulatedIDs(people *simdata.People) []string {
	present := people.Present()
	ids := make([]string, len(present))
	for k, p := range present {
		ids[k] = p.UUID
	}
	return ids
}

// SimulatorRefusal is writeMessage, for refusals made around the simulator.
func SimulatorRefusal(w http.ResponseWriter, _ *http.Request, status int, message string) {
	writeMessage(w, status, message)
}

func writeMessage(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
	}{message}) // the client has gone if this fails
}
