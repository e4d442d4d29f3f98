package requestor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	goccy "github.com/goccy/go-json"

	"github.com/saas-export/export/sources/simdata"
)

// Simulator serves POST .../api/Account/GetUsers from the people present
// when each request is answered, in Requestor's JSON or XML form: the
// request's Content-Type says how the UsersFilterPost is written, and the
// answer follows Accept, else the request's form. It matches on the path
// suffix, so it works at any mount point, including under http.StripPrefix.
//
// With two people or fewer it serves the docs' example users, the first N
// of them, member for member: so a small simulation answers with the docs'
// own example responses. Larger populations, and people inserted later, are
// generated: person i is the user with UserProviderKey UUID, UserName the
// part of the email before the @, CustomerId OrgID and LastUpdatedUtc
// UpdatedAt (with a Z for an even Number, without an offset for an odd one,
// as .NET writes a DateTime of unspecified kind). Its Is* flags follow a
// fixed cycle over Number; an Inactive person is unapproved (even Number)
// or anonymized (odd). A person without phones has Phones [] (even) or null
// (odd). Every Language is 0, en in XML: the only code whose name the docs
// give, so the two forms of one simulation export the same rows.
//
// UserName and Email filters match whole values, ignoring case; the date
// filters include their bounds, and a user without LastUpdatedUtc matches
// none. Errors are ASP.NET's: {"Message": ...} or
// <Error><Message>...</Message></Error>, in the answer's form.
func Simulator(people *simdata.People) http.Handler {
	return &simulator{people: people}
}

// maxPostBody bounds a request body; a UsersFilterPost is under 1 KB.
const maxPostBody = 1 << 20

type simulator struct {
	people *simdata.People
}

// simPage is PagedUsers; the JSON form writes its members in this order.
type simPage struct {
	PageIndex  int
	PageSize   int
	TotalItems int
	TotalPages int
	Items      []simUser
}

// simUser is a RequestorUser with every member of the docs' example, in
// the JSON sample's order. Members the docs only show as null have type
// any and stay nil: their type is unknown.
type simUser struct {
	UserProviderKey       string
	UserName              string
	Email                 string
	FirstName             string
	LastName              string
	MiddleName            *string
	DisplayName           string
	NoteBesideName        *string
	FullName              string
	IsApproved            bool
	IsEndUser             bool
	IsSmartUser           bool
	IsOperator            bool
	IsSuperOperator       bool
	IsAdministrator       bool
	TimeZoneID            string `json:"TimeZoneId"`
	ExternalAccount       bool
	EmailAccount          bool
	Customer              any
	CustomerID            *int `json:"CustomerId"`
	Customers             any
	Phones                []string
	AdminNote             *string
	OperatorNote          *string
	AdditionalInformation *string
	SkypeName             *string
	OperatorGroupIDs      any `json:"OperatorGroupIds"`
	InternalGroupIDs      any `json:"InternalGroupIds"`
	Color                 *string
	Initials              *string
	PhotoLastUpdatedUtc   *string
	CustomUserFieldsHash  int
	FieldData             any
	LastUpdatedUtc        *string
	Language              int
	Anonymized            bool
	Tags                  []simTag
	ExternalID            *string `json:"ExternalId"`
	ManagerKey            *string
	Company               *string
	Department            *string
	Division              *string
	EmployeeID            *string `json:"EmployeeId"`

	updated time.Time // LastUpdatedUtc as a time, for the date filters; zero when null
}

// simTag is a TagData, in the JSON sample's member order.
type simTag struct {
	ID     int `json:"Id"`
	Name   string
	Static bool
	Color  string
	Type   int
}

func (s *simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	answer := answerFormat(r)
	if !strings.HasSuffix(r.URL.Path, Endpoint) {
		writeMessage(w, answer, http.StatusNotFound, "No HTTP resource was found that matches the request URI '"+r.URL.Path+"'.")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeMessage(w, answer, http.StatusMethodNotAllowed, "The requested resource does not support http method '"+r.Method+"'.")
		return
	}
	ct := r.Header.Get("Content-Type")
	form, ok := mediaFormat(ct)
	if !ok {
		writeMessage(w, answer, http.StatusUnsupportedMediaType,
			"The request entity's media type '"+ct+"' is not supported for this resource.")
		return
	}
	post, err := readPost(w, r, form)
	if err == nil {
		err = checkPost(&post)
	}
	if err != nil {
		writeMessage(w, answer, http.StatusBadRequest, err.Error())
		return
	}
	writeResult(w, answer, s.page(&post))
}

// mediaFormat maps a media type the API accepts to its wire format.
func mediaFormat(mediaType string) (string, bool) {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		return "", false
	}
	switch mt {
	case "application/json", "text/json":
		return WireJSON, true
	case "application/xml", "text/xml":
		return WireXML, true
	}
	return "", false
}

// answerFormat is the first wire format Accept names, else the request's,
// else JSON.
func answerFormat(r *http.Request) string {
	for _, accept := range strings.Split(r.Header.Get("Accept"), ",") {
		if form, ok := mediaFormat(strings.TrimSpace(accept)); ok {
			return form
		}
	}
	if form, ok := mediaFormat(r.Header.Get("Content-Type")); ok {
		return form
	}
	return WireJSON
}

func readPost(w http.ResponseWriter, r *http.Request, form string) (usersFilterPost, error) {
	var post usersFilterPost
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPostBody))
	if err != nil {
		return post, fmt.Errorf("The request body could not be read: %w", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return post, errors.New("The request body must be a UsersFilterPost.")
	}
	if form == WireXML {
		root, err := parseXML(body)
		if err == nil {
			post, err = postFromXML(root)
		}
		if err != nil {
			return post, fmt.Errorf("The request is invalid: %w", err)
		}
		return post, nil
	}
	if err := json.Unmarshal(body, &post); err != nil {
		return post, fmt.Errorf("The request is invalid: %w", err)
	}
	return post, nil
}

func checkPost(p *usersFilterPost) error {
	if p.PageSize < 1 || p.PageSize > MaxPageSize {
		return fmt.Errorf("PageSize must be between 1 and %d.", MaxPageSize)
	}
	if p.PageIndex < 0 {
		return errors.New("PageIndex must be 0 or more.")
	}
	return nil
}

// page selects the users p asks for, in natural order. Without a filter it
// generates only the users of the page.
func (s *simulator) page(p *usersFilterPost) simPage {
	snap := s.people.Snapshot()
	total, at := snap.Len(), snap.Index
	if p.filters() {
		matched := []int{}
		for k := range snap.Len() {
			if u := s.user(snap.Index(k)); p.matches(&u) {
				matched = append(matched, snap.Index(k))
			}
		}
		total, at = len(matched), func(k int) int { return matched[k] }
	}
	from := total
	if p.PageIndex <= total/p.PageSize { // so that the product cannot overflow
		from = p.PageIndex * p.PageSize
	}
	to := min(from+p.PageSize, total)
	page := simPage{
		PageIndex: p.PageIndex, PageSize: p.PageSize,
		TotalItems: total, TotalPages: (total + p.PageSize - 1) / p.PageSize,
		Items: make([]simUser, 0, to-from),
	}
	for k := from; k < to; k++ {
		page.Items = append(page.Items, s.user(at(k)))
	}
	return page
}

// user is user i: one of the docs' example users in a population of two
// or fewer, else a generated one.
func (s *simulator) user(i int) simUser {
	if s.people.N <= 2 && i < s.people.N {
		return docUsers()[i]
	}
	return generatedUser(s.people.Person(i))
}

// SimulatedIDs returns the ids of the people present, in natural order, as
// the exporter writes them.
func SimulatedIDs(people *simdata.People) []string {
	s := &simulator{people: people}
	snap := people.Snapshot()
	ids := make([]string, snap.Len())
	for k := range ids {
		ids[k] = s.user(snap.Index(k)).UserProviderKey
	}
	return ids
}

func (p *usersFilterPost) filters() bool {
	return p.UserName != nil || p.Email != nil || p.IsEndUser != nil || p.IsSmartUser != nil ||
		p.IsOperator != nil || p.IsSuperOperator != nil || p.IsAdministrator != nil || p.CustomerID != nil ||
		p.LastUpdatedDateFromUtc != nil || p.LastUpdatedDateUntilUtc != nil
}

func (p *usersFilterPost) matches(u *simUser) bool {
	return sameText(p.UserName, u.UserName) && sameText(p.Email, u.Email) &&
		sameFlag(p.IsEndUser, u.IsEndUser) && sameFlag(p.IsSmartUser, u.IsSmartUser) &&
		sameFlag(p.IsOperator, u.IsOperator) && sameFlag(p.IsSuperOperator, u.IsSuperOperator) &&
		sameFlag(p.IsAdministrator, u.IsAdministrator) &&
		(p.CustomerID == nil || (u.CustomerID != nil && int64(*u.CustomerID) == *p.CustomerID)) &&
		(p.LastUpdatedDateFromUtc == nil || (!u.updated.IsZero() && !u.updated.Before(time.Time(*p.LastUpdatedDateFromUtc)))) &&
		(p.LastUpdatedDateUntilUtc == nil || (!u.updated.IsZero() && !u.updated.After(time.Time(*p.LastUpdatedDateUntilUtc))))
}

func sameText(filter *string, v string) bool { return filter == nil || strings.EqualFold(*filter, v) }

func sameFlag(filter *bool, v bool) bool { return filter == nil || *filter == v }

// docTimeZone is the docs' users' TimeZoneId, which every simulated user shares.
const docTimeZone = "Central Europe Standard Time"

// docUsers returns the two users of the docs' example responses.
func docUsers() []simUser {
	return []simUser{{
		UserProviderKey: "7d5073e2-4fdf-48d7-967e-e6da555417b7",
		UserName:        "john.doe", Email: "john.doe@domain.com",
		FirstName: "John", LastName: "Doe", DisplayName: "John Doe", FullName: "John Doe",
		IsApproved: true, IsEndUser: true, TimeZoneID: docTimeZone,
		Phones:                []string{"+420 732 389 583"},
		AdminNote:             new("Information about john doe for administrators"),
		AdditionalInformation: new("Everything else"),
		SkypeName:             new("JohnDoeSkype"),
		Tags: []simTag{
			{ID: 1, Name: "Sample tag", Static: true, Color: "#ffffff", Type: 2},
			{ID: 2, Name: "Sample 2", Static: true, Color: "#fafafa", Type: 2},
		},
	}, {
		UserProviderKey: "f22bf46d-07f8-4c33-a6a9-bbd3a1dff927",
		UserName:        "jane.doe", Email: "jane.doe@domain.com",
		FirstName: "Jane", LastName: "Doe", DisplayName: "Jane Doe", FullName: "Jane Doe",
		IsApproved: true, IsEndUser: true, TimeZoneID: docTimeZone,
		Phones:                []string{"+420 732 389 584"},
		AdminNote:             new("Information about jane doe for administrators"),
		AdditionalInformation: new("Something else"),
		SkypeName:             new("JaneDoeSkype"),
	}}
}

func generatedUser(p simdata.Person) simUser {
	name := p.FirstName + " " + p.LastName
	userName, _, _ := strings.Cut(p.Email, "@")
	roles := roleFlags(p.Number)
	u := simUser{
		UserProviderKey: p.UUID, UserName: userName, Email: p.Email,
		FirstName: p.FirstName, LastName: p.LastName, DisplayName: name, FullName: name,
		IsApproved:  !p.Inactive || p.Number%2 == 1,
		Anonymized:  p.Inactive && p.Number%2 == 1,
		IsEndUser:   roles[0],
		IsSmartUser: roles[1], IsOperator: roles[2], IsSuperOperator: roles[3], IsAdministrator: roles[4],
		TimeZoneID: docTimeZone,
		CustomerID: new(p.OrgID),
		Phones:     p.Phones,
		Tags:       generatedTags(p.Number),
		updated:    p.UpdatedAt,
	}
	if len(p.Phones) == 0 && p.Number%2 == 1 {
		u.Phones = nil
	}
	updated := p.UpdatedAt.UTC().Format(dotnetLocalLayout)
	if p.Number%2 == 0 {
		updated += "Z"
	}
	u.LastUpdatedUtc = &updated
	return u
}

// roleFlags gives the Is* flags of the person with Number n, in the order
// end user, smart user, operator, super operator, administrator: mostly
// end users, some smart users, operators and administrators, a few with
// no role at all.
func roleFlags(n int) [5]bool {
	cycle := [...][5]bool{
		{true, false, false, false, false},
		{true, true, false, false, false},
		{false, true, false, false, false},
		{true, false, false, false, false},
		{false, false, true, false, false},
		{false, false, true, true, false},
		{true, false, false, false, false},
		{false, false, true, true, true},
		{false, false, false, false, false},
		{true, false, false, false, false},
		{false, false, false, false, true},
	}
	return cycle[n%len(cycle)]
}

// generatedTags gives some users the docs' first tag, some an empty list
// and the others null.
func generatedTags(n int) []simTag {
	switch {
	case n%3 == 0:
		return []simTag{{ID: 1, Name: "Sample tag", Static: true, Color: "#ffffff", Type: 2}}
	case n%5 == 0:
		return []simTag{}
	}
	return nil
}

func writeResult(w http.ResponseWriter, form string, page simPage) {
	if form == WireXML {
		writeBody(w, http.StatusOK, "application/xml; charset=utf-8", resultXML(&page))
		return
	}
	// goccy/go-json writes the same bytes as encoding/json (the tests
	// hold it to that) four times as fast: encoding/json indents by
	// scanning what it marshalled again, which was two fifths of the
	// simulator's CPU time in bench/run.sh, on the cores the exporter it
	// measures runs on.
	body, err := goccy.MarshalIndent(struct{ PagedUsers simPage }{page}, "", "  ")
	if err != nil {
		writeMessage(w, form, http.StatusInternalServerError, err.Error())
		return
	}
	writeBody(w, http.StatusOK, "application/json; charset=utf-8", body)
}

// SimulatorRefusal is writeMessage in the wire format the request's
// answer takes, for refusals made around the simulator.
func SimulatorRefusal(w http.ResponseWriter, r *http.Request, status int, message string) {
	writeMessage(w, answerFormat(r), status, message)
}

// writeMessage answers with ASP.NET's error shape.
func writeMessage(w http.ResponseWriter, form string, status int, message string) {
	if form == WireXML {
		var x xmlWriter
		x.start("Error")
		x.leaf("Message", &message)
		x.end("Error")
		writeBody(w, status, "application/xml; charset=utf-8", x.bytes())
		return
	}
	body, _ := json.Marshal(struct{ Message string }{message}) // a string always marshals
	writeBody(w, status, "application/json; charset=utf-8", body)
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client has gone if this fails
}

// resultXML writes a GetUsersResult as the docs' XML sample lays it out.
func resultXML(page *simPage) []byte {
	var w xmlWriter
	w.start(`GetUsersResult xmlns:i="` + nsInstance + `" xmlns="` + nsResults + `"`)
	w.start("PagedUsers")
	items := `Items xmlns:d3p1="` + nsData + `"`
	if len(page.Items) == 0 {
		w.empty(items)
	} else {
		w.start(items)
		for i := range page.Items {
			w.user(&page.Items[i])
		}
		w.end("Items")
	}
	w.leaf("PageIndex", new(strconv.Itoa(page.PageIndex)))
	w.leaf("PageSize", new(strconv.Itoa(page.PageSize)))
	w.leaf("TotalItems", new(strconv.Itoa(page.TotalItems)))
	w.leaf("TotalPages", new(strconv.Itoa(page.TotalPages)))
	w.end("PagedUsers")
	w.end("GetUsersResult")
	return w.bytes()
}

// user writes a RequestorUser, its members in data-contract order, which
// is alphabetical.
func (w *xmlWriter) user(u *simUser) {
	m := func(name string, text *string) { w.leaf("d3p1:"+name, text) }
	flag := func(b bool) *string { return new(strconv.FormatBool(b)) }
	w.start("d3p1:RequestorUser")
	m("AdditionalInformation", u.AdditionalInformation)
	m("AdminNote", u.AdminNote)
	m("Anonymized", flag(u.Anonymized))
	m("Color", u.Color)
	m("Company", u.Company)
	m("CustomUserFieldsHash", new(strconv.Itoa(u.CustomUserFieldsHash)))
	m("Customer", nil)
	m("CustomerId", optional(u.CustomerID, strconv.Itoa))
	m("Customers", nil)
	m("Department", u.Department)
	m("DisplayName", &u.DisplayName)
	m("Division", u.Division)
	m("Email", &u.Email)
	m("EmailAccount", flag(u.EmailAccount))
	m("EmployeeId", u.EmployeeID)
	m("ExternalAccount", flag(u.ExternalAccount))
	m("ExternalId", u.ExternalID)
	m("FieldData", nil)
	m("FirstName", &u.FirstName)
	m("FullName", &u.FullName)
	m("Initials", u.Initials)
	w.stringArray("InternalGroupIds", nil)
	m("IsAdministrator", flag(u.IsAdministrator))
	m("IsApproved", flag(u.IsApproved))
	m("IsEndUser", flag(u.IsEndUser))
	m("IsOperator", flag(u.IsOperator))
	m("IsSmartUser", flag(u.IsSmartUser))
	m("IsSuperOperator", flag(u.IsSuperOperator))
	m("Language", new(languageName(int64(u.Language))))
	m("LastName", &u.LastName)
	m("LastUpdatedUtc", u.LastUpdatedUtc)
	m("ManagerKey", u.ManagerKey)
	m("MiddleName", u.MiddleName)
	m("NoteBesideName", u.NoteBesideName)
	w.stringArray("OperatorGroupIds", nil)
	m("OperatorNote", u.OperatorNote)
	w.stringArray("Phones", u.Phones)
	m("PhotoLastUpdatedUtc", u.PhotoLastUpdatedUtc)
	m("SkypeName", u.SkypeName)
	w.tags(u.Tags)
	m("TimeZoneId", &u.TimeZoneID)
	m("UserName", &u.UserName)
	m("UserProviderKey", &u.UserProviderKey)
	w.end("d3p1:RequestorUser")
}

// stringArray writes a member that is an array in the Arrays namespace,
// which the member declares even when it is null.
func (w *xmlWriter) stringArray(name string, items []string) {
	tag := "d3p1:" + name + ` xmlns:d5p1="` + nsArrays + `"`
	switch {
	case items == nil:
		w.empty(tag + ` i:nil="true"`)
	case len(items) == 0:
		w.empty(tag)
	default:
		w.start(tag)
		for _, item := range items {
			w.leaf("d5p1:string", &item)
		}
		w.end("d3p1:" + name)
	}
}

func (w *xmlWriter) tags(tags []simTag) {
	switch {
	case tags == nil:
		w.leaf("d3p1:Tags", nil)
	case len(tags) == 0:
		w.empty("d3p1:Tags")
	default:
		w.start("d3p1:Tags")
		for _, t := range tags {
			w.start("d3p1:TagData")
			w.leaf("d3p1:Color", &t.Color)
			w.leaf("d3p1:Id", new(strconv.Itoa(t.ID)))
			w.leaf("d3p1:Name", &t.Name)
			w.leaf("d3p1:Static", new(strconv.FormatBool(t.Static)))
			w.leaf("d3p1:Type", new(tagTypeName(t.Type)))
			w.end("d3p1:TagData")
		}
		w.end("d3p1:Tags")
	}
}

// tagTypeName is the name the XML form gives a tag Type: the docs pair 2
// with UserAndCompany.
func tagTypeName(t int) string {
	if t == 2 {
		return "UserAndCompany"
	}
	return strconv.Itoa(t)
}
