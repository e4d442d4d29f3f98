// Package sourcetest holds the test helpers every provider package under
// sources/ shares: rendering normalized rows and checking them against a
// golden file, serving a provider's simulator, calling it, recording what
// a source sends, fetching a whole listing, and checking a probe's
// estimate against it. It is for tests only.
package sourcetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/golden"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sinks"
	"github.com/saas-export/export/sources/httpsource"
)

// Rows renders users as the jsonl sink writes them: one line a user with
// every column of schema v1, raw included, null where a value is absent.
//
// The jsonl sink writes timestamps in UTC to the microsecond, so a
// timestamp with another offset or with finer digits would look right in
// the rows; Rows fails the test on one instead, since normalization must
// give neither (schema.SomeTime).
func Rows(t testing.TB, users []schema.User) string {
	t.Helper()
	s := schema.V1(true)
	for _, p := range timeProblems(s, users) {
		t.Error(p)
	}
	f, err := sinks.NewFormat(sinks.FormatJSONL, sinks.FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc, err := f.NewEncoder(&buf, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Write(users); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// DecodeGolden checks how a provider decodes the example response in the
// file example: decoded for job with include_raw, its rows must be those
// of the golden file goldenPath (rewritten with -update), and decoded
// without include_raw, the same rows less raw. It returns the page
// decoded with include_raw, for the caller to check its paging.
func DecodeGolden(t testing.TB, example, goldenPath string, job httpsource.Job,
	decode func(httpsource.Job, []byte) (httpsource.Page, error),
) httpsource.Page {
	t.Helper()
	body, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	job.IncludeRaw = true
	page, err := decode(job, body)
	if err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, goldenPath, []byte(Rows(t, page.Users)))

	job.IncludeRaw = false
	plain, err := decode(job, body)
	if err != nil {
		t.Fatal(err)
	}
	lessRaw := slices.Clone(page.Users)
	for i := range lessRaw {
		lessRaw[i].Raw = nil
	}
	if got, want := Rows(t, plain.Users), Rows(t, lessRaw); got != want {
		t.Errorf("rows without raw:\n%s\nwant:\n%s", got, want)
	}
	return page
}

// timeProblems lists the timestamps of users that are not UTC to the
// microsecond.
func timeProblems(s *schema.Schema, users []schema.User) []string {
	var problems []string
	for i := range users {
		for _, c := range s.Columns {
			if c.Type != schema.Timestamp {
				continue
			}
			v := users[i].TimeValue(c.ID)
			if _, offset := v.V.Zone(); v.Valid && (offset != 0 || v.V.Nanosecond()%int(time.Microsecond) != 0) {
				problems = append(problems, fmt.Sprintf("user %s: %s %s is not UTC to the microsecond",
					users[i].ID, c.Name, v.V.Format(time.RFC3339Nano)))
			}
		}
	}
	return problems
}

// mounted serves h under /name, as `base_url: simulator` mounts the
// simulator of the provider called name.
func mounted(name string, h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/"+name+"/", http.StripPrefix("/"+name, h))
	return mux
}

// Mount serves h under /name on a test server that closes when the test
// ends, as `base_url: simulator` mounts the provider called name, and
// returns the job's base URL.
func Mount(t testing.TB, name string, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(mounted(name, h))
	t.Cleanup(srv.Close)
	return srv.URL + "/" + name
}

// Call sends one request to h mounted under /name, on a server of its own,
// at target (the endpoint, with its query if any) and returns the status
// and the JSON body; a body that is not JSON fails the test.
func Call(t testing.TB, h http.Handler, name, method, target, body string) (int, json.RawMessage) {
	t.Helper()
	srv := httptest.NewServer(mounted(name, h))
	defer srv.Close()
	req, err := http.NewRequest(method, srv.URL+"/"+name+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatalf("%s %s %s: decode: %v", method, target, body, err)
	}
	return resp.StatusCode, raw
}

// CallOK is Call for a request that must succeed: it fails the test unless
// the status is 200, and decodes the body into a T.
func CallOK[T any](t testing.TB, h http.Handler, name, method, target, body string) T {
	t.Helper()
	status, raw := Call(t, h, name, method, target, body)
	if status != http.StatusOK {
		t.Fatalf("%s %s %s: status %d: %s", method, target, body, status, raw)
	}
	var resp T
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// Client returns a client for job of the provider called provider that
// sends auth and makes one attempt a request, so that a test sees the
// first failure.
func Client(provider, job string, auth httpsource.Auth) *httpsource.Client {
	return httpsource.NewClient(httpsource.ClientConfig{
		Job: job, Provider: provider, Auth: auth,
		Retry: httpsource.Retry{MaxAttempts: 1},
	})
}

// FetchAll builds job's source with newSource (a provider's New) on client,
// and fetches the listing to the end: it returns the pages in the order
// the source emits them, and Fetch's error. A job newSource refuses fails
// the test.
func FetchAll(t testing.TB, newSource func(httpsource.Job, *httpsource.Client) (httpsource.Source, error),
	job httpsource.Job, client *httpsource.Client,
) ([]httpsource.Page, error) {
	t.Helper()
	src, err := newSource(job, client)
	if err != nil {
		t.Fatal(err)
	}
	var pages []httpsource.Page
	err = src.Fetch(context.Background(), func(p httpsource.Page) error {
		pages = append(pages, p)
		return nil
	})
	return pages, err
}

// Problems builds a want list for CheckConfig from path, message pairs.
func Problems(pathMessage ...string) []httpsource.Problem {
	var ps []httpsource.Problem
	for i := 0; i < len(pathMessage); i += 2 {
		ps = append(ps, httpsource.Problem{Path: pathMessage[i], Message: pathMessage[i+1]})
	}
	return ps
}

// Users joins the users of pages, in page order.
func Users(pages []httpsource.Page) []schema.User {
	var all []schema.User
	for _, p := range pages {
		all = append(all, p.Users...)
	}
	return all
}

// IDs returns the ids of users, in order.
func IDs(users []schema.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

// SortedIDs returns the ids of users, sorted.
func SortedIDs(users []schema.User) []string {
	out := IDs(users)
	slices.Sort(out)
	return out
}

// CheckPages checks a whole listing of total users: that it came in
// wantPages pages, each reporting total and only the last one Last, and
// that the pages hold exactly total users, which it returns in order.
func CheckPages(t testing.TB, pages []httpsource.Page, wantPages int, total int64) []schema.User {
	t.Helper()
	if len(pages) != wantPages {
		t.Errorf("%d pages, want %d", len(pages), wantPages)
	}
	for i, page := range pages {
		if page.Total != schema.Some(total) || page.Last != (i == len(pages)-1) {
			t.Errorf("page %d: total %v last %v", i, page.Total, page.Last)
		}
	}
	all := Users(pages)
	if int64(len(all)) != total {
		t.Fatalf("%d users, want %d", len(all), total)
	}
	return all
}

// SimBody has h, a provider's simulator, answer req in process and
// returns the body of its answer, a response as the API sends it; a
// status other than 200 fails the test.
func SimBody(tb testing.TB, h http.Handler, req *http.Request) []byte {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("simulator: HTTP %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}
