package simulator

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestParseFaults(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		want    Faults
		wantErr string
	}{
		{spec: "", want: nil},
		{spec: "429:0.05, 500:0.02,timeout:0.01", want: Faults{{"429", 0.05}, {"500", 0.02}, {"timeout", 0.01}}},
		{spec: "429", wantErr: "want KIND:RATE"},
		{spec: "429:2", wantErr: "rate must be a number from 0 to 1"},
		{spec: "200:0.1", wantErr: "HTTP error status"},
		{spec: "slow:0.1", wantErr: "HTTP error status"},
	} {
		got, err := ParseFaults(tc.spec)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%q: got %v, %v", tc.spec, got, err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: fault %d = %v, want %v", tc.spec, i, got[i], tc.want[i])
			}
		}
	}
}

// TestServerMountsEveryProviderAndInjectsFaults checks that each provider
// answers under /<name> and that a fault rate of 1 fails every request
// with the fault's status and a Retry-After for 429.
func TestServerMountsEveryProviderAndInjectsFaults(t *testing.T) {
	srv, err := Start("127.0.0.1:0", Options{Users: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
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

	faulty, err := Start("127.0.0.1:0", Options{Users: 3, Faults: Faults{{"429", 1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer faulty.Close()
	resp, err := http.Get(faulty.BaseURL("nameshield") + "/user/v1/users")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("fault: HTTP %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
