package requestor

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

func newClient(job string) *httpsource.Client {
	return sourcetest.Client(Name, job, httpsource.Auth{Type: "basic", Username: "user", Password: "pass"})
}

func fetchAll(t *testing.T, job httpsource.Job) ([]httpsource.Page, error) {
	t.Helper()
	return sourcetest.FetchAll(t, New, job, newClient(job.Name))
}

var forms = []string{WireJSON, WireXML}

func TestSourcePagesToTheEnd(t *testing.T) {
	people := &simdata.People{N: 1234, Seed: 3}
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, form := range forms {
		for _, tt := range []struct{ size, inFlight, pages int }{{100, 1, 13}, {250, 3, 5}, {0, 2, 7}} {
			t.Run(form+" page size "+strconv.Itoa(tt.size), func(t *testing.T) {
				job := httpsource.Job{Name: "rq", BaseURL: base, WireFormat: form, PageSize: tt.size, MaxInFlight: tt.inFlight,
					ExtractedAt: extractedAt}
				pages, err := fetchAll(t, job)
				if err != nil {
					t.Fatal(err)
				}
				all := sourcetest.CheckPages(t, pages, tt.pages, int64(people.N))
				for k, u := range all { // in order, none missed or repeated
					checkPerson(t, k, u, people.Person(k))
				}
			})
		}
	}
}

// checkPerson compares a row with the person the simulator made it from.
func checkPerson(t *testing.T, k int, u schema.User, p simdata.Person) {
	t.Helper()
	userName, _, _ := strings.Cut(p.Email, "@")
	if u.ID != p.UUID || u.Username != schema.Some(userName) || u.Email != schema.Some(p.Email) ||
		u.FullName != schema.Some(p.FirstName+" "+p.LastName) || u.Active != schema.Some(!p.Inactive) ||
		u.OrganizationID != schema.Some(strconv.Itoa(p.OrgID)) || u.Language != schema.Some("en") ||
		u.UpdatedAt != schema.SomeTime(p.UpdatedAt) || u.Roles == nil ||
		len(u.Phones) != len(p.Phones) || (len(p.Phones) > 0 && u.Phone != schema.Some(p.Phones[0])) {
		t.Fatalf("user %d: %+v\nperson %+v", k, u, p)
	}
}

// TestSourceFormsAgree: the XML and JSON Requestor exports of the same
// data give identical rows (apart from raw).
func TestSourceFormsAgree(t *testing.T) {
	base := sourcetest.Mount(t, Name, Simulator(&simdata.People{N: 300, Seed: 5}))
	rows := map[string]string{}
	for _, form := range forms {
		pages, err := fetchAll(t, httpsource.Job{Name: "rq", BaseURL: base, WireFormat: form, PageSize: 70, MaxInFlight: 2,
			IncludeRaw: true, ExtractedAt: extractedAt})
		if err != nil {
			t.Fatal(err)
		}
		all := sourcetest.Users(pages)
		for i := range all {
			if !json.Valid(all[i].Raw) {
				t.Fatalf("%s user %d: raw is not JSON: %s", form, i, all[i].Raw)
			}
			all[i].Raw = nil
		}
		rows[form] = sourcetest.Rows(t, all)
	}
	if rows[WireJSON] != rows[WireXML] {
		t.Errorf("the forms differ:\nJSON\n%.2000s\nXML\n%.2000s", rows[WireJSON], rows[WireXML])
	}
	if n := strings.Count(rows[WireJSON], "\n"); n != 300 {
		t.Errorf("%d rows", n)
	}
}

func TestSourceRequestShape(t *testing.T) {
	filter := m{"IsEndUser": true, "LastUpdatedDateFromUtc": "2020-06-01", "CustomerId": 3}
	tests := []struct {
		form, mediaType string
		// first is the first page's body without the filter; filtered with it.
		first, filtered string
	}{
		{WireJSON, "application/json",
			`{"PageIndex":0,"PageSize":10,"UserName":null,"Email":null,"IsEndUser":null,"IsSmartUser":null,"IsOperator":null,` +
				`"IsSuperOperator":null,"IsAdministrator":null,"CustomerId":null,"LastUpdatedDateFromUtc":null,"LastUpdatedDateUntilUtc":null}`,
			`{"PageIndex":0,"PageSize":10,"UserName":null,"Email":null,"IsEndUser":true,"IsSmartUser":null,"IsOperator":null,` +
				`"IsSuperOperator":null,"IsAdministrator":null,"CustomerId":3,"LastUpdatedDateFromUtc":"2020-06-01T00:00:00Z","LastUpdatedDateUntilUtc":null}`},
		{WireXML, "application/xml",
			docRequestXML,
			strings.NewReplacer(
				`<CustomerId i:nil="true" />`, `<CustomerId>3</CustomerId>`,
				`<IsEndUser i:nil="true" />`, `<IsEndUser>true</IsEndUser>`,
				`<LastUpdatedDateFromUtc i:nil="true" />`, `<LastUpdatedDateFromUtc>2020-06-01T00:00:00Z</LastUpdatedDateFromUtc>`,
			).Replace(docRequestXML)},
	}
	for _, tt := range tests {
		t.Run(tt.form, func(t *testing.T) {
			rec := &sourcetest.Recorder{Next: Simulator(&simdata.People{N: 25, Seed: 1})}
			job := httpsource.Job{Name: "rq", BaseURL: sourcetest.Mount(t, Name, rec), WireFormat: tt.form, PageSize: 10, MaxInFlight: 1}
			if _, err := fetchAll(t, job); err != nil {
				t.Fatal(err)
			}
			// One page in flight: requests come in page order.
			reqs := rec.Take()
			if len(reqs) != 3 {
				t.Fatalf("%d requests, want 3", len(reqs))
			}
			for i, r := range reqs {
				user, pass, _ := r.BasicAuth()
				if r.Method != http.MethodPost || r.URL.Path != Endpoint || r.URL.RawQuery != "" ||
					r.Header.Get("Content-Type") != tt.mediaType || r.Header.Get("Accept") != tt.mediaType ||
					user != "user" || pass != "pass" {
					t.Errorf("request %d: %s %s, Content-Type %q, Accept %q, auth %q:%q", i, r.Method, r.URL,
						r.Header.Get("Content-Type"), r.Header.Get("Accept"), user, pass)
				}
			}
			if reqs[0].Body != tt.first {
				t.Errorf("first body\n%s\nwant\n%s", reqs[0].Body, tt.first)
			}
			for i, r := range reqs[1:] {
				page := strconv.Itoa(i + 1)
				if want := strings.NewReplacer(`"PageIndex":0`, `"PageIndex":`+page, `<PageIndex>0<`, `<PageIndex>`+page+`<`).
					Replace(tt.first); r.Body != want {
					t.Errorf("body %s\n%s\nwant\n%s", page, r.Body, want)
				}
			}

			job.Filter = filter
			if _, err := fetchAll(t, job); err != nil {
				t.Fatal(err)
			}
			if body := rec.Take()[0].Body; body != tt.filtered {
				t.Errorf("filtered body\n%s\nwant\n%s", body, tt.filtered)
			}
		})
	}
}

func TestSourceFiltersServerSide(t *testing.T) {
	people := &simdata.People{N: 800, Seed: 8}
	org := people.Person(0).OrgID
	since := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for _, p := range people.All() {
		if u := generatedUser(p); *u.CustomerID == org && u.IsOperator && !p.UpdatedAt.Before(since) {
			want = append(want, p.UUID)
		}
	}
	if len(want) < 2 {
		t.Fatalf("%d users match: the test needs more", len(want))
	}
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, form := range forms {
		job := httpsource.Job{Name: "rq", BaseURL: base, WireFormat: form, PageSize: 1, MaxInFlight: 3,
			Filter: m{"CustomerId": org, "IsOperator": true, "LastUpdatedDateFromUtc": "2023-01-01"}}
		pages, err := fetchAll(t, job)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range sourcetest.Users(pages) {
			got = append(got, u.ID)
		}
		if !slices.Equal(got, want) || pages[0].Total != schema.Some(int64(len(want))) {
			t.Errorf("%s: ids (total %v)\n%v\nwant\n%v", form, pages[0].Total, got, want)
		}
	}
}

func TestSourceIncludeRawXMLIsJSON(t *testing.T) {
	base := sourcetest.Mount(t, Name, Simulator(&simdata.People{N: 2}))
	pages, err := fetchAll(t, httpsource.Job{Name: "rq", BaseURL: base, WireFormat: WireXML, IncludeRaw: true})
	if err != nil {
		t.Fatal(err)
	}
	all := sourcetest.Users(pages)
	if len(all) != 2 {
		t.Fatalf("%d users", len(all))
	}
	raw := string(all[0].Raw)
	for _, part := range []string{
		`{"AdditionalInformation":"Everything else","AdminNote":"Information about john doe for administrators","Anonymized":"false","Color":null,`,
		`"InternalGroupIds":null,`,
		`"Language":"en",`,
		`"Phones":["+420 732 389 583"],`,
		`"Tags":[{"Color":"#ffffff","Id":"1","Name":"Sample tag","Static":"true","Type":"UserAndCompany"},` +
			`{"Color":"#fafafa","Id":"2","Name":"Sample 2","Static":"true","Type":"UserAndCompany"}],`,
		`"UserProviderKey":"7d5073e2-4fdf-48d7-967e-e6da555417b7"}`,
	} {
		if !strings.Contains(raw, part) {
			t.Errorf("raw lacks %s:\n%s", part, raw)
		}
	}
	var rec map[string]any
	if err := json.Unmarshal(all[1].Raw, &rec); err != nil || len(rec) != 43 || rec["Tags"] != nil || rec["UserName"] != "jane.doe" {
		t.Errorf("raw %s (%v)", all[1].Raw, err)
	}
}

func TestSourceSurfacesAPIMessage(t *testing.T) {
	// New refuses a page size over 1000; build the source directly to see
	// what the API answers.
	base := sourcetest.Mount(t, Name, Simulator(&simdata.People{N: 10, Seed: 1}))
	for _, form := range forms {
		t.Run(form, func(t *testing.T) {
			src := &source{job: httpsource.Job{Name: "rq", WireFormat: form}, client: newClient("rq"), url: base + Endpoint,
				post: usersFilterPost{PageSize: 1001}, mediaType: "application/" + form}
			err := src.Fetch(context.Background(), func(httpsource.Page) error { return nil })
			var serr *httpsource.StatusError
			if !errors.As(err, &serr) || serr.Status != http.StatusBadRequest || serr.Page != 0 {
				t.Fatalf("error %v, want a 400 StatusError for page 0", err)
			}
			want := "requestor page 0: POST " + base + Endpoint + ": HTTP 400 Bad Request: PageSize must be between 1 and 1000."
			if err.Error() != want {
				t.Errorf("error\n%s\nwant\n%s", err, want)
			}
		})
	}
}

func TestAPIMessage(t *testing.T) {
	tests := []struct {
		body, want string
		ok         bool
	}{
		{`{"Message":"The request is invalid."}`, "The request is invalid.", true},
		{`{ "ModelState": {"filter.PageSize": ["bad"]}, "Message": "The request is invalid." }`, "The request is invalid.", true},
		{`{"Message":"Authorization has been denied for this request.","MessageDetail":"` + strings.Repeat("x", 400) + ` …`,
			"Authorization has been denied for this request.", true}, // cut short by the client
		{`<Error><Message>PageSize must be between 1 and 1000.</Message></Error>`, "PageSize must be between 1 and 1000.", true},
		{`<?xml version="1.0"?> <Error xmlns="urn:x"><Message>a &amp; b</Message><MessageDetail>d</MessageDetail></Error>`, "a & b", true},
		{`<Error><Detail><Message>nested</Message></Detail></Error>`, "", false},
		{`{"Error": {"Message": "nested"}}`, "", false},
		{`{"Message": ""}`, "", false},
		{`{"Message": 5}`, "", false},
		{`<html><body>Bad Request</body></html>`, "", false},
		{`Bad Request`, "", false},
		{``, "", false},
	}
	for _, tt := range tests {
		got, ok := apiMessage(tt.body)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%.60s: %q %v, want %q %v", tt.body, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSourceDecodeErrorNamesThePage(t *testing.T) {
	sim := Simulator(&simdata.People{N: 30, Seed: 1})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"PageIndex":2,`) {
			w.Write([]byte(jsonPageOf(`"UserProviderKey": "x", "LastUpdatedUtc": "soon"`)))
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		sim.ServeHTTP(w, r)
	})
	_, err := fetchAll(t, httpsource.Job{Name: "rq", BaseURL: sourcetest.Mount(t, Name, h), PageSize: 10, MaxInFlight: 2})
	for _, want := range []string{`requestor page 2: POST `, `: malformed answer: results[0]: user x: LastUpdatedUtc: "soon" is not a date and time`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %s", err, want)
		}
	}
}
