package medipim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/saas-export/export/internal/sourcetest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simdata"
)

func newClient(job string) *httpsource.Client {
	return sourcetest.Client(Name, job, httpsource.Auth{Type: "basic", Username: "key-id", Password: "key-secret"})
}

func fetchAll(t *testing.T, job httpsource.Job) ([]httpsource.Page, error) {
	t.Helper()
	return sourcetest.FetchAll(t, New, job, newClient(job.Name))
}

func TestSourcePagesToTheEnd(t *testing.T) {
	people := &simdata.People{N: 1234, Seed: 3}
	base := sourcetest.Mount(t, Name, Simulator(people))
	for _, tt := range []struct{ size, inFlight, pages int }{{100, 1, 13}, {250, 4, 5}, {0, 3, 5}} {
		t.Run("size "+strconv.Itoa(tt.size), func(t *testing.T) {
			job := httpsource.Job{Name: "mp", BaseURL: base, PageSize: tt.size, MaxInFlight: tt.inFlight, ExtractedAt: extractedAt}
			pages, err := fetchAll(t, job)
			if err != nil {
				t.Fatal(err)
			}
			for n, u := range sourcetest.CheckPages(t, pages, tt.pages, int64(people.N)) {
				if want := strconv.Itoa(1000 + n); u.ID != want { // in order, none missed or repeated
					t.Fatalf("user %d has id %s, want %s", n, u.ID, want)
				}
			}
			p, u := people.Person(1233), pages[len(pages)-1].Users[len(pages[len(pages)-1].Users)-1]
			if u.FullName != schema.Some(p.FirstName+" "+p.LastName) || u.OrganizationID != schema.Some(strconv.Itoa(p.OrgID)) ||
				u.CreatedAt != schema.SomeTime(p.CreatedAt) || u.UpdatedAt != schema.SomeTime(p.UpdatedAt) ||
				u.Provider != Name || u.Job != "mp" || u.Active.Valid || u.Raw != nil {
				t.Errorf("last user %+v, person %+v", u, p)
			}
		})
	}
}

func TestSourceFilterAndSortServerSide(t *testing.T) {
	people := &simdata.People{N: 600, Seed: 5}
	org := people.Person(0).OrgID
	var want []string
	for i := people.N - 1; i >= 0; i-- {
		if p := people.Person(i); p.OrgID == org || p.Number == 1001 {
			want = append(want, strconv.Itoa(p.Number))
		}
	}
	job := httpsource.Job{
		Name: "mp", BaseURL: sourcetest.Mount(t, Name, Simulator(people)), PageSize: 10, MaxInFlight: 2,
		Filter: map[string]any{"or": []any{map[string]any{"organization": org}, map[string]any{"id": []any{1001}}}},
		Sort:   map[string]any{"id": "DESC"},
	}
	pages, err := fetchAll(t, job)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, page := range pages {
		if page.Total != schema.Some(int64(len(want))) {
			t.Errorf("total %v, want %d", page.Total, len(want))
		}
		for _, u := range page.Users {
			got = append(got, u.ID)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("ids\n%v\nwant\n%v", got, want)
	}
}

// recorded is what the tests compare of a request the source sent.
type recorded struct {
	method, path, contentType, auth, body string
}

// take takes the requests rec kept, as recorded ones.
func take(rec *sourcetest.Recorder) []recorded {
	var out []recorded
	for _, r := range rec.Take() {
		out = append(out, recorded{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Body})
	}
	return out
}

func TestSourceRequestShape(t *testing.T) {
	rec := &sourcetest.Recorder{Next: Simulator(&simdata.People{N: 120, Seed: 1})}
	job := httpsource.Job{Name: "mp", BaseURL: sourcetest.Mount(t, Name, rec), PageSize: 50, Filter: map[string]any{"not": map[string]any{"id": 1000}}}
	if _, err := fetchAll(t, job); err != nil {
		t.Fatal(err)
	}
	reqs := take(rec)
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		want := recorded{
			method: "POST", path: "/v4/users/query", contentType: "application/json",
			auth: "Basic a2V5LWlkOmtleS1zZWNyZXQ=", // key-id:key-secret
			body: `{"filter":{"not":{"id":1000}},"sorting":{"id":"ASC"},"page":{"no":` + strconv.Itoa(i) + `,"size":50}}`,
		}
		if r != want {
			t.Errorf("request %d:\n%+v\nwant\n%+v", i, r, want)
		}
	}

	// Without a filter, the body has no filter key.
	job.Filter, job.Sort = map[string]any{}, map[string]any{"id": "DESC"}
	if _, err := fetchAll(t, job); err != nil {
		t.Fatal(err)
	}
	if got, want := take(rec)[0].body, `{"sorting":{"id":"DESC"},"page":{"no":0,"size":50}}`; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
}

func TestSourceIncludeRaw(t *testing.T) {
	job := httpsource.Job{Name: "mp", BaseURL: sourcetest.Mount(t, Name, Simulator(&simdata.People{N: 3, Seed: 1})), IncludeRaw: true}
	pages, err := fetchAll(t, job)
	if err != nil {
		t.Fatal(err)
	}
	u := pages[0].Users[1]
	var rec struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(u.Raw, &rec); err != nil || strconv.Itoa(rec.ID) != u.ID || rec.Name != u.FullName.V {
		t.Errorf("raw %s (%v) for user %+v", u.Raw, err, u)
	}
}

func TestSourceSurfacesAPIError(t *testing.T) {
	// New refuses a page size the API does not take; build the source
	// directly to see what the API answers.
	people := &simdata.People{N: 10, Seed: 1}
	job := httpsource.Job{Name: "mp", BaseURL: sourcetest.Mount(t, Name, Simulator(people))}
	src := &source{job: job, client: newClient("mp"), url: job.BaseURL + Endpoint, sorting: json.RawMessage(sortJSON(false)), pageSize: 30}
	err := src.Fetch(context.Background(), func(httpsource.Page) error { return nil })
	var serr *httpsource.StatusError
	if !errors.As(err, &serr) || serr.Status != http.StatusBadRequest || serr.Page != 0 {
		t.Fatalf("error %v, want a 400 StatusError for page 0", err)
	}
	if !strings.Contains(err.Error(), "page.size must be one of 10, 50, 100 or 250, got 30") ||
		!strings.Contains(err.Error(), `medipim page 0`) {
		t.Errorf("error %q does not carry the API's message and the page", err)
	}
}

func TestSourceDecodeErrorNamesJobAndPage(t *testing.T) {
	sim := Simulator(&simdata.People{N: 30, Seed: 1})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"no":2`) {
			io.WriteString(w, `{"meta": {"total": 30}, "results": [{"id": 1, "meta": {"createdAt": "yesterday"}}]}`)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		sim.ServeHTTP(w, r)
	})
	_, err := fetchAll(t, httpsource.Job{Name: "mp", BaseURL: sourcetest.Mount(t, Name, h), PageSize: 10, MaxInFlight: 2})
	wantParts := []string{"medipim page 2: POST ", ": malformed answer: decode response: json: cannot unmarshal string"}
	for _, want := range wantParts {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %s", err, want)
		}
	}
}
