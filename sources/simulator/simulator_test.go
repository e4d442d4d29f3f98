package simulator

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/sources"
)

func TestParseFaults(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		want    Faults
		wantErr string
	}{
		{spec: "", want: Faults{}},
		{spec: "429:0.05, 500:0.02,timeout:0.01", want: Faults{Requests: []Fault{
			{Kind: "429", Rate: 0.05}, {Kind: "500", Rate: 0.02}, {Kind: "timeout", Rate: 0.01}}}},
		{spec: "slow:0.1,reset:0.1,truncate:0.1,truncate-nolength:0.1,malformed:0.1,429-noretry:0.1", want: Faults{Requests: []Fault{
			{Kind: "slow", Rate: 0.1}, {Kind: "reset", Rate: 0.1}, {Kind: "truncate", Rate: 0.1},
			{Kind: "truncate-nolength", Rate: 0.1}, {Kind: "malformed", Rate: 0.1}, {Kind: "429-noretry", Rate: 0.1}}}},
		{spec: "401@40,nameshield/500:1,kare/reset@1", want: Faults{Requests: []Fault{
			{Kind: "401", From: 40}, {Provider: "nameshield", Kind: "500", Rate: 1}, {Provider: "kare", Kind: "reset", From: 1}}}},
		{spec: "drift:5/0@1, drift:3/3@4,mctime/drift:0/2@10", want: Faults{Drift: []Drift{
			{Delete: 5, After: 1}, {Delete: 3, Insert: 3, After: 4}, {Provider: "mctime", Insert: 2, After: 10}}}},
		{spec: "500:0.6,nameshield/500:0.4,medipim/429:0.4", want: Faults{Requests: []Fault{
			{Kind: "500", Rate: 0.6}, {Provider: "nameshield", Kind: "500", Rate: 0.4}, {Provider: "medipim", Kind: "429", Rate: 0.4}}}},

		{spec: "429", wantErr: "want KIND:RATE, KIND@K or drift:DEL/INS@K"},
		{spec: "429:0.1,", wantErr: `faults: "": want KIND:RATE`},
		{spec: "429:2", wantErr: "rate must be a number from 0 to 1"},
		{spec: "429:x", wantErr: "rate must be a number from 0 to 1"},
		{spec: "200:0.1", wantErr: "HTTP error status (400-599) or one of 429-noretry, timeout, slow"},
		{spec: "flaky:0.1", wantErr: "HTTP error status"},
		{spec: "401@0", wantErr: "the request number after @ must be an integer from 1"},
		{spec: "401@-1", wantErr: "the request number after @ must be an integer from 1"},
		{spec: "acme/500:1", wantErr: `unknown provider "acme"; providers: kare, mctime, medipim, nameshield, requestor`},
		{spec: "drift:5@1", wantErr: "want drift:DEL/INS@K"},
		{spec: "drift:5/1", wantErr: "want drift:DEL/INS@K"},
		{spec: "drift:-1/1@1", wantErr: "DEL and INS must be integers from 0"},
		{spec: "drift:1/1@0", wantErr: "the page number after @ must be an integer from 1"},
		{spec: "drift:0/500@1,nameshield/drift:0/500@2", wantErr: "drift inserts 1000 people into nameshield, more than 999"},
		{spec: "500:0.6,nameshield/429:0.5", wantErr: "the rates for nameshield add up to 1.1, more than 1"},
	} {
		got, err := ParseFaults(tc.spec)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
}

func start(t *testing.T, users int, seed uint64, spec string) *Server {
	t.Helper()
	faults, err := ParseFaults(spec)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start("127.0.0.1:0", Options{Users: users, Seed: seed, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// client is a plain client that opens a connection for each request, so
// that net/http does not retry a request a dropped connection failed.
func client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

// TestServerMountsEveryProviderAndInjectsFaults checks that each provider
// answers under /<name> and that a fault rate of 1 fails every request
// with the fault's status and a Retry-After for 429.
func TestServerMountsEveryProviderAndInjectsFaults(t *testing.T) {
	srv := start(t, 3, 1, "")
	for _, req := range []struct{ method, url, body string }{
		{"POST", srv.BaseURL("medipim") + "/v4/users/query", `{"page":{"no":0,"size":10}}`},
		{"GET", srv.BaseURL("nameshield") + "/user/v1/users?limit=10", ""},
	} {
		r, _ := http.NewRequest(req.method, req.url, strings.NewReader(req.body))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"total":3`) {
			t.Errorf("%s %s: HTTP %d %s", req.method, req.url, resp.StatusCode, body)
		}
	}

	faulty := start(t, 3, 0, "429:1")
	resp, err := http.Get(faulty.BaseURL("nameshield") + "/user/v1/users")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("fault: HTTP %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// outcome is what a plain client saw of one request.
type outcome struct {
	resp    *http.Response // nil when the request failed
	err     error          // from the request
	body    []byte
	readErr error // from reading the body
}

func get(c *http.Client, url string) outcome {
	resp, err := c.Get(url)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(resp.Body)
	return outcome{resp: resp, body: body, readErr: readErr}
}

func (o outcome) String() string {
	if o.resp == nil {
		return "error " + o.err.Error()
	}
	return fmt.Sprintf("HTTP %d, %d bytes, read error %v", o.resp.StatusCode, len(o.body), o.readErr)
}

// TestFaultKinds checks each kind as a plain net/http client sees it.
func TestFaultKinds(t *testing.T) {
	const path = "/user/v1/users?limit=50"
	real := get(client(time.Second), start(t, 40, 1, "").BaseURL("nameshield")+path)
	if real.resp == nil || real.resp.StatusCode != 200 {
		t.Fatal(real)
	}
	isStatus := func(code int) func(outcome) bool {
		return func(o outcome) bool { return o.resp != nil && o.resp.StatusCode == code }
	}
	for _, tc := range []struct {
		spec string
		ok   func(o outcome) bool
	}{
		{"reset:1", func(o outcome) bool { return o.err != nil }},
		{"truncate:1", func(o outcome) bool {
			return isStatus(200)(o) && errors.Is(o.readErr, io.ErrUnexpectedEOF) && o.resp.ContentLength == int64(len(real.body))
		}},
		{"truncate-nolength:1", func(o outcome) bool {
			return isStatus(200)(o) && o.readErr == nil && o.resp.ContentLength == -1 && o.resp.Header.Get("Content-Type") == "application/json" &&
				len(o.body) == len(real.body)/2 && string(o.body) == string(real.body[:len(o.body)]) && !json.Valid(o.body)
		}},
		{"malformed:1", func(o outcome) bool {
			return isStatus(200)(o) && o.readErr == nil && o.resp.Header.Get("Content-Type") == "application/json" && !json.Valid(o.body)
		}},
		{"429-noretry:1", func(o outcome) bool {
			_, has := o.resp.Header["Retry-After"]
			return isStatus(429)(o) && !has
		}},
		{"503:1", func(o outcome) bool { return isStatus(503)(o) && o.resp.Header.Get("Retry-After") == "1" }},
		{"401@1", func(o outcome) bool { return isStatus(401)(o) && string(o.body) == `{"message":"token expired"}`+"\n" }},
		{"timeout:1", func(o outcome) bool { return o.err != nil && strings.Contains(o.err.Error(), "Timeout") }},
		{"slow:1", func(o outcome) bool { return o.err != nil && strings.Contains(o.err.Error(), "Timeout") }},
		{"medipim/500:1", isStatus(200)},
		{"nameshield/500:1", isStatus(500)},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			srv := start(t, 40, 1, tc.spec)
			if o := get(client(300*time.Millisecond), srv.BaseURL("nameshield")+path); !tc.ok(o) {
				t.Errorf("%s", o)
			}
		})
	}
}

func TestMalformedXML(t *testing.T) {
	srv := start(t, 40, 1, "requestor/malformed:1")
	req, _ := http.NewRequest("POST", srv.BaseURL("requestor")+"/api/Account/GetUsers",
		strings.NewReader(`{"PageIndex": 0, "PageSize": 10}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/xml")
	resp, err := client(time.Second).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := xml.NewDecoder(resp.Body)
	for err == nil {
		_, err = dec.Token()
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") || err == io.EOF {
		t.Errorf("HTTP %d, %s: decoded (%v)", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
}

// TestTokenExpiresAtTheKthRequest checks 401@K counts every request of the
// provider, faulted or not, and leaves other providers alone.
func TestTokenExpiresAtTheKthRequest(t *testing.T) {
	srv := start(t, 5, 1, "nameshield/401@3,nameshield/500@2")
	c := client(time.Second)
	var got []int
	for range 4 {
		got = append(got, get(c, srv.BaseURL("nameshield")+"/user/v1/users").resp.StatusCode)
	}
	got = append(got, get(c, srv.BaseURL("mctime")+"/users").resp.StatusCode)
	if want := []int{200, 500, 401, 401, 200}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}

// TestFaultsAreDeterministic checks that the same spec and seed fault the
// same requests, and another seed other ones.
func TestFaultsAreDeterministic(t *testing.T) {
	const spec = "500:0.2,reset:0.1,malformed:0.1,429-noretry:0.1"
	run := func(seed uint64) string {
		srv := start(t, 30, seed, spec)
		c := client(time.Second)
		var b strings.Builder
		for range 60 {
			o := get(c, srv.BaseURL("nameshield")+"/user/v1/users?limit=10")
			switch {
			case o.resp == nil:
				b.WriteString("R")
			case o.resp.StatusCode == 200 && !json.Valid(o.body):
				b.WriteString("M")
			default:
				fmt.Fprint(&b, o.resp.StatusCode/100)
			}
		}
		st := srv.Stats()
		if st.Requests["nameshield"] != 60 || st.Faults["500"]+st.Faults["reset"]+st.Faults["malformed"]+st.Faults["429-noretry"]+st.Pages["nameshield"] != 60 {
			t.Errorf("seed %d: stats %+v", seed, st)
		}
		return b.String()
	}
	a, b, c := run(1), run(1), run(2)
	if a != b || a == c || !strings.ContainsAny(a, "R") || !strings.ContainsAny(a, "M") || !strings.Contains(a, "2") {
		t.Errorf("seed 1: %s\nseed 1: %s\nseed 2: %s", a, b, c)
	}
}

func TestEveryProviderHasIDs(t *testing.T) {
	srv := start(t, 7, 1, "")
	for _, p := range sources.All() {
		if p.Simulator == nil {
			continue
		}
		ids, users := srv.IDs(p.Name), srv.Users(p.Name)
		if len(ids) != 7 || len(users) != 7 {
			t.Errorf("%s: %d ids, %d users, want 7", p.Name, len(ids), len(users))
		}
	}
	if srv.IDs("acme") != nil || srv.Users("acme") != nil {
		t.Errorf("an unknown provider has users")
	}
}

// Latency is how long an answer takes: none comes sooner, whether the
// simulator writes it, fails it or takes the connection over, and the
// answer itself is the one served without latency.
func TestLatencyHoldsEveryAnswer(t *testing.T) {
	const latency = 150 * time.Millisecond
	const path = "/user/v1/users?limit=50"
	for _, spec := range []string{"", "500:1", "reset:1", "truncate-nolength:1"} {
		t.Run("faults="+spec, func(t *testing.T) {
			faults, err := ParseFaults(spec)
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{Users: 40, Seed: 1, Faults: faults}
			plain, err := Start("127.0.0.1:0", opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = plain.Close() })
			opts.Latency = latency
			slow, err := Start("127.0.0.1:0", opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = slow.Close() })

			want := get(client(5*time.Second), plain.BaseURL("nameshield")+path)
			began := time.Now()
			got := get(client(5*time.Second), slow.BaseURL("nameshield")+path)
			if took := time.Since(began); took < latency {
				t.Errorf("answered in %v, before the latency of %v", took, latency)
			}
			if (got.resp == nil) != (want.resp == nil) || string(got.body) != string(want.body) ||
				(got.resp != nil && got.resp.StatusCode != want.resp.StatusCode) {
				t.Errorf("with latency %s\nwithout %s", got, want)
			}
		})
	}
}
