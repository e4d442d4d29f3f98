package httpsource

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSharedBudgetSpacesEveryClientsRequests sends from two clients on one
// budget at once: the server sees the budget's rate over both, not twice it.
func TestSharedBudgetSpacesEveryClientsRequests(t *testing.T) {
	srv, rec := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { ok(w) })
	budget := NewBudget(Rate{N: 20, Per: time.Second}, 0)                   // one every 50ms
	sendFromTwoClients(t, srv.URL, budget, Rate{N: 1000, Per: time.Second}) // the budget's rate replaces theirs
	reqs := rec.all()
	if len(reqs) != 8 {
		t.Fatalf("%d requests, want 8", len(reqs))
	}
	if span := reqs[7].at.Sub(reqs[0].at); span < 7*50*time.Millisecond-20*time.Millisecond {
		t.Errorf("8 requests from two clients on one budget of 20/s within %s, want >= 350ms", span)
	}
}

// TestSharedBudgetBoundsRequestsInFlight holds every answer until several
// requests wait: the server never has more at once than the budget allows,
// over both clients.
func TestSharedBudgetBoundsRequestsInFlight(t *testing.T) {
	for _, tc := range []struct {
		name       string
		budget     *Budget
		wantAtMost int64
	}{
		{"shared bound of 2", NewBudget(Rate{}, 2), 2},
		{"no bound", nil, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var now, peak atomic.Int64
			srv, _ := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				n := now.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				time.Sleep(30 * time.Millisecond)
				now.Add(-1)
				ok(w)
			})
			sendFromTwoClients(t, srv.URL, tc.budget, testConfig().Rate)
			if p := peak.Load(); p > tc.wantAtMost || (tc.budget != nil && p != tc.wantAtMost) {
				t.Errorf("%d requests in flight at most, want %d", p, tc.wantAtMost)
			}
		})
	}
}

func TestAuthFingerprint(t *testing.T) {
	bearer := Auth{Type: AuthBearer, Token: "t0ken"}
	for _, tc := range []struct {
		name string
		a, b Auth
		same bool
	}{
		{"the same token", bearer, Auth{Type: AuthBearer, Token: "t0ken"}, true},
		{"another token", bearer, Auth{Type: AuthBearer, Token: "t0ken2"}, false},
		{"the token as another kind", bearer, Auth{Type: AuthHeader, Name: "Authorization", Value: "t0ken"}, false},
		{"an extra header", bearer, Auth{Type: AuthBearer, Token: "t0ken", Headers: map[string]string{"x-session-token": "s"}}, false},
		{"another extra header value",
			Auth{Type: AuthBearer, Token: "t", Headers: map[string]string{"x-session-token": "s1"}},
			Auth{Type: AuthBearer, Token: "t", Headers: map[string]string{"x-session-token": "s2"}}, false},
		{"header names in any case",
			Auth{Type: AuthHeader, Name: "x-api-key", Value: "k", Headers: map[string]string{"x-session-token": "s"}},
			Auth{Type: AuthHeader, Name: "X-Api-Key", Value: "k", Headers: map[string]string{"X-SESSION-TOKEN": "s"}}, true},
		{"the same key in another header", Auth{Type: AuthHeader, Name: "x-api-key", Value: "k"}, Auth{Type: AuthHeader, Name: "x-key", Value: "k"}, false},
		// What the provider receives, not how the config spelled it.
		{"basic split differently on the wire alike",
			Auth{Type: AuthBasic, Username: "a:b", Password: "c"}, Auth{Type: AuthBasic, Username: "a", Password: "b:c"}, true},
		{"basic with another password", Auth{Type: AuthBasic, Username: "a", Password: "b"}, Auth{Type: AuthBasic, Username: "a", Password: "c"}, false},
		{"none and empty", Auth{}, Auth{Type: AuthNone}, true},
		{"none and a token", Auth{}, bearer, false},
	} {
		fa, fb := tc.a.Fingerprint(), tc.b.Fingerprint()
		if (fa == fb) != tc.same || len(fa) != 64 {
			t.Errorf("%s: %s vs %s, want same %v", tc.name, fa, fb, tc.same)
		}
	}
}

// sendFromTwoClients sends 4 requests at once from each of two clients
// of rate on budget (nil: each its own), and waits for every answer.
func sendFromTwoClients(t *testing.T, url string, budget *Budget, rate Rate) {
	t.Helper()
	var wg sync.WaitGroup
	for range 2 {
		cfg := testConfig()
		cfg.Rate, cfg.Budget = rate, budget
		c := NewClient(cfg)
		for range 4 {
			wg.Go(func() {
				if _, err := c.Do(t.Context(), get(url)); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
}
