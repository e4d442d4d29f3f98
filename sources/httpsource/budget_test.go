package httpsource

import (
	"context"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"strconv"
	"strings"
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

// answer is a response of status with header lines "Name: value".
func answer(status int, lines ...string) *http.Response {
	h := http.Header{}
	for _, l := range lines {
		name, value, _ := strings.Cut(l, ": ")
		h.Add(name, value)
	}
	return &http.Response{StatusCode: status, Header: h}
}

// fakeSender drives a budget on a fake clock: each request goes at its
// turn and is answered rtt later.
type fakeSender struct {
	b   *Budget
	now time.Time
	rtt time.Duration
}

func newFakeSender(r Rate) *fakeSender {
	return &fakeSender{b: NewBudget(r, 0), now: time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC), rtt: time.Millisecond}
}

// send sends one request at its turn, answered with resp; it returns the
// time it went.
func (s *fakeSender) send(resp *http.Response) (time.Time, adaptation) {
	at := s.b.reserve(s.now)
	if !s.b.take(at) {
		panic("a turn reserved under no new hold was refused")
	}
	s.now = at.Add(s.rtt)
	return at, s.b.observe(s.now, at, resp, time.Minute)
}

// sendN sends n requests answered 200, back to back.
func (s *fakeSender) sendN(n int) {
	for range n {
		s.send(answer(http.StatusOK))
	}
}

func (s *fakeSender) rate() float64 { return s.b.rateAt(s.now) }

func approx(got, want float64) bool { return math.Abs(got-want) <= 1e-6*math.Max(1, want) }

func TestBudgetSpacesEvenlyAtItsRate(t *testing.T) {
	s := newFakeSender(Rate{N: 20, Per: time.Second})
	t0 := s.now
	for i := range 5 {
		if at := s.b.reserve(t0); !at.Equal(t0.Add(time.Duration(i) * 50 * time.Millisecond)) {
			t.Errorf("turn %d at %s, want %s", i, at.Sub(t0), time.Duration(i)*50*time.Millisecond)
		}
	}
	// An idle budget saves no turns: after a pause, one goes at once and
	// the next an interval later, never two together.
	later := t0.Add(time.Second)
	if a, b := s.b.reserve(later), s.b.reserve(later); !a.Equal(later) || b.Sub(a) != 50*time.Millisecond {
		t.Errorf("after a pause: turns at +%s and +%s, want +0s and +50ms", a.Sub(later), b.Sub(later))
	}
	if unlimited := NewBudget(Rate{}, 0); !unlimited.reserve(t0).Equal(t0) || !unlimited.reserve(t0).Equal(t0) {
		t.Error("a budget without a rate spaced requests")
	}
}

// TestBudgetAIMD: a 429 halves the rate it was sending at; the rate then
// climbs back linearly over recovery to 90 % of the refused rate, then
// slowly on to the configured rate, back at it at forget.
func TestBudgetAIMD(t *testing.T) {
	s := newFakeSender(Rate{N: 40, Per: time.Second})
	s.sendN(20)
	if r := s.rate(); r != 40 {
		t.Fatalf("rate %v before any 429, want 40", r)
	}
	_, a := s.send(answer(http.StatusTooManyRequests))
	cut := s.now
	if !a.lowered || !approx(a.rate, 20) || !approx(s.rate(), 20) {
		t.Fatalf("after a 429 at 40/s: %+v, rate %v; want lowered to 20", a, s.rate())
	}
	for _, tc := range []struct {
		after time.Duration
		want  float64
	}{
		{0, 20}, {recovery / 4, 24}, {recovery / 2, 28}, {recovery, 36},
		{recovery + (forget-recovery)/2, 38}, {forget - time.Nanosecond, 40}, {forget, 40}, {time.Hour, 40},
	} {
		if r := s.b.rateAt(cut.Add(tc.after)); !approx(r, tc.want) {
			t.Errorf("%s after the 429: %v/s, want %v", tc.after, r, tc.want)
		}
	}
	// Requests go at the lowered rate.
	at1, _ := s.send(answer(http.StatusOK))
	at2, _ := s.send(answer(http.StatusOK))
	if gap := at2.Sub(at1); gap < 49*time.Millisecond {
		t.Errorf("requests %s apart after the decrease to 20/s, want about 50ms", gap)
	}
}

// TestBudgetLowersOncePerRateTried: the 429s of requests that went before
// a decrease, or before any answer at the new rate got through, lower
// nothing more: they say nothing of the new rate.
func TestBudgetLowersOncePerRateTried(t *testing.T) {
	s := newFakeSender(Rate{N: 40, Per: time.Second})
	s.sendN(20)
	// Four in flight at once, all refused.
	var sent []time.Time
	for range 4 {
		at := s.b.reserve(s.now)
		s.b.take(at)
		sent = append(sent, at)
	}
	s.now = sent[3].Add(time.Millisecond)
	for i, at := range sent {
		if a := s.b.observe(s.now, at, answer(http.StatusTooManyRequests), time.Minute); a.lowered != (i == 0) {
			t.Errorf("429 %d of 4 in flight: lowered %v, want only the first", i, a.lowered)
		}
	}
	if !approx(s.rate(), 20) {
		t.Fatalf("rate %v after 4 refusals in flight, want 20", s.rate())
	}
	// Still refused at the new rate before anything got through: the API
	// refuses for now, whatever the rate.
	if _, a := s.send(answer(http.StatusTooManyRequests)); a.lowered {
		t.Error("a 429 before any success at the new rate lowered it")
	}
	// Through at the new rate, then refused: the new rate is too high too.
	s.sendN(16)
	before := s.rate() // a little over 20: recovering
	if _, a := s.send(answer(http.StatusTooManyRequests)); !a.lowered || math.Abs(a.rate-before/2) > 0.05*before {
		t.Errorf("a 429 after successes at %.2f/s: %+v, want lowered to half", before, a)
	}
	// The first 429 of all, before any success, lowers nothing either.
	fresh := newFakeSender(Rate{N: 40, Per: time.Second})
	if _, a := fresh.send(answer(http.StatusTooManyRequests)); a.lowered || fresh.rate() != 40 {
		t.Errorf("a first answer of 429: %+v, rate %v; want 40 unchanged", a, fresh.rate())
	}
}

// TestBudgetLowersFromTheRateItSent: a job bound by latency sends below
// its budget's rate; a 429 halves what it sent, not the budget's rate.
func TestBudgetLowersFromTheRateItSent(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate Rate
	}{
		{"a rate above what it sends", Rate{N: 400, Per: time.Second}},
		{"no configured rate", Rate{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeSender(tc.rate)
			s.rtt = 10 * time.Millisecond // one at a time: 100/s
			s.sendN(20)
			if _, a := s.send(answer(http.StatusTooManyRequests)); !a.lowered || !approx(a.rate, 50) {
				t.Errorf("a 429 at 100/s sent: %+v, want lowered to 50", a)
			}
		})
	}
}

func TestBudgetRateFloor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rate  Rate
		floor float64
	}{
		{"a 16th of the configured rate", Rate{N: 40, Per: time.Second}, 2.5},
		// Without one, of the highest rate refused: the first, 100/s.
		{"a 16th of the highest refused", Rate{}, 6.25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeSender(tc.rate)
			s.rtt = 10 * time.Millisecond // 100/s at most
			for range 100 {
				s.sendN(2)
				if _, a := s.send(answer(http.StatusTooManyRequests)); a.lowered && a.rate < tc.floor-1e-9 {
					t.Fatalf("lowered to %v, below the floor %v", a.rate, tc.floor)
				}
			}
			if r := s.rate(); !approx(r, tc.floor) {
				t.Errorf("rate %v after 100 decreases, want the floor %v", r, tc.floor)
			}
		})
	}
}

// TestBudgetNeverAboveTheConfiguredRate: an advertised rate lowers the
// budget's when stricter and never raises it, nor does a recovery.
func TestBudgetNeverAboveTheConfiguredRate(t *testing.T) {
	policy := func(perSecond int) *http.Response {
		return answer(http.StatusOK, "RateLimit-Policy: "+`"default";q=`+strconv.Itoa(perSecond)+";w=1")
	}
	s := newFakeSender(Rate{N: 40, Per: time.Second})
	s.send(policy(100))
	if r := s.rate(); r != 40 {
		t.Errorf("rate %v with 100/s advertised over 40/s configured, want 40", r)
	}
	s.send(policy(25))
	if r := s.rate(); r != 25 {
		t.Errorf("rate %v with 25/s advertised, want 25", r)
	}
	// An answer without the headers leaves the advertised rate in place.
	s.sendN(16)
	if r := s.rate(); r != 25 {
		t.Errorf("rate %v after answers without policy, want 25", r)
	}
	// A 429 at the advertised rate: lowered from it, recovered to 90 % of
	// it, then on to the ceiling, which a higher advertised rate raises
	// up to the configured rate, never above.
	s.send(answer(http.StatusTooManyRequests))
	if r := s.b.rateAt(s.now.Add(recovery)); !approx(r, 22.5) {
		t.Errorf("rate %v %s after a 429 at 25/s, want 22.5", r, recovery)
	}
	s.send(policy(100))
	for _, after := range []time.Duration{forget / 2, forget, time.Hour} {
		if r := s.b.rateAt(s.now.Add(after)); r > 40 {
			t.Errorf("rate %v %s after a 429 with 100/s advertised, want at most 40", r, after)
		}
	}
	// Without a configured rate, the advertised one is the ceiling.
	u := newFakeSender(Rate{})
	if u.send(policy(7)); u.rate() != 7 {
		t.Errorf("rate %v without a configured one and 7/s advertised, want 7", u.rate())
	}
}

// TestBudgetHolds: a Retry-After on a 429 or 503, or an exhausted quota,
// holds every request on the budget until then, within the longest wait
// the answering job allows; a turn reserved before the hold began waits
// again after it.
func TestBudgetHolds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		resp     *http.Response
		wantHold time.Duration
	}{
		{"429 with Retry-After", answer(http.StatusTooManyRequests, "Retry-After: 3"), 3 * time.Second},
		{"503 with Retry-After", answer(http.StatusServiceUnavailable, "Retry-After: 2"), 2 * time.Second},
		{"500 with Retry-After", answer(http.StatusInternalServerError, "Retry-After: 2"), 0},
		{"429 without", answer(http.StatusTooManyRequests), 0},
		{"Retry-After of 0", answer(http.StatusTooManyRequests, "Retry-After: 0"), 0},
		{"capped at the job's longest wait", answer(http.StatusTooManyRequests, "Retry-After: 3600"), time.Minute},
		{"an exhausted quota on a 200", answer(http.StatusOK, "X-RateLimit-Remaining: 0", "X-RateLimit-Reset: 4"), 4 * time.Second},
		{"the longer of Retry-After and a reset", answer(http.StatusTooManyRequests, "Retry-After: 1", "RateLimit: r=0;t=5"), 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeSender(Rate{N: 10, Per: time.Second})
			s.sendN(3)
			queued := s.b.reserve(s.now) // another job's turn, reserved before the answer
			_, a := s.send(tc.resp)
			if a.hold != tc.wantHold {
				t.Errorf("hold %s, want %s", a.hold, tc.wantHold)
			}
			until := s.now.Add(tc.wantHold)
			if tc.wantHold == 0 {
				return
			}
			if s.b.take(queued) {
				t.Error("a turn reserved before the hold went during it")
			}
			if at := s.b.reserve(s.now); !at.Equal(until) {
				t.Errorf("the next turn at +%s, want +%s", at.Sub(s.now), tc.wantHold)
			}
			interval := time.Duration(float64(time.Second) / s.b.rateAt(until))
			if at := s.b.reserve(s.now); at.Sub(until) != interval {
				t.Errorf("the turn after at +%s past the hold, want +%s: one at a time after a hold", at.Sub(until), interval)
			}
			// A second answer within the hold extends it without a new one begun.
			if a := s.b.observe(s.now, s.now, tc.resp, time.Minute); a.hold != 0 {
				t.Errorf("a second answer within the hold began another of %s", a.hold)
			}
		})
	}
}

// TestClientsFollowAnAdvertisedRate: an API that advertises a rate below
// the configured one, in any of the header styles, gets it, over every
// client on the budget.
func TestClientsFollowAnAdvertisedRate(t *testing.T) {
	for _, tc := range []struct{ name, header, value string }{
		{"ietf", "RateLimit-Policy", `"default";q=10;w=1`},
		{"ietf without a name", "RateLimit-Policy", `q=20;w=2`},
		{"draft -07", "RateLimit-Policy", `10;w=1, 100000;w=3600`},
		{"older draft", "RateLimit-Limit", `10, 10;w=1`},
		{"x with a window", "X-RateLimit-Limit", `10;w=1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set(tc.header, tc.value)
				ok(w)
			})
			budget := NewBudget(Rate{N: 1000, Per: time.Second}, 0)
			var clients []*Client
			for range 2 {
				cfg := testConfig()
				cfg.Budget = budget
				clients = append(clients, NewClient(cfg))
			}
			// One answer first, so that the rest know the rate.
			if _, err := clients[0].Do(t.Context(), get(srv.URL)); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := range 6 {
				wg.Go(func() {
					if _, err := clients[i%2].Do(t.Context(), get(srv.URL)); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			reqs := rec.all()
			// The first turn after the first answer was reserved before it:
			// the 5 after it are 100ms apart at least.
			if span := reqs[6].at.Sub(reqs[1].at); span < 5*100*time.Millisecond-20*time.Millisecond {
				t.Errorf("6 requests within %s at 10/s advertised, want >= 500ms", span)
			}
			if r := clients[1].Stats().RateLimit; r != 10 {
				t.Errorf("the other client's budget at %v/s, want 10", r)
			}
		})
	}
}

// TestClientsHoldOnAnExhaustedQuota: an answer that says the quota is
// spent, in any of the header styles, holds every client on the budget
// until its reset.
func TestClientsHoldOnAnExhaustedQuota(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header func() http.Header
		hold   time.Duration
	}{
		{"ietf", func() http.Header { return http.Header{"Ratelimit": {`"default";r=0;t=1`}} }, time.Second},
		{"older draft", func() http.Header {
			return http.Header{"Ratelimit-Limit": {"5"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"1"}}
		}, time.Second},
		{"x, delta seconds", func() http.Header {
			return http.Header{"X-Ratelimit-Limit": {"5"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1"}}
		}, time.Second},
		// A Unix time in whole seconds: two ahead is at least one.
		{"x, a Unix time", func() http.Header {
			return http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {strconv.FormatInt(time.Now().Unix()+2, 10)}}
		}, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 0 {
					maps.Copy(w.Header(), tc.header())
				}
				ok(w)
			})
			budget := NewBudget(Rate{}, 0)
			for i := range 2 {
				cfg := testConfig()
				cfg.Budget, cfg.Retry.MaxBackoff = budget, 5*time.Second
				if _, err := NewClient(cfg).Do(t.Context(), get(srv.URL)); err != nil {
					t.Fatalf("client %d: %v", i, err)
				}
			}
			reqs := rec.all()
			if gap := reqs[1].at.Sub(reqs[0].at); gap < tc.hold-20*time.Millisecond {
				t.Errorf("the other client's request %s after the quota was spent, want >= %s", gap, tc.hold)
			}
		})
	}
}

// TestRetryAfterHoldsEveryClient: a 429's Retry-After holds not only the
// request it answered but every client on the budget, which counts the
// 429 for the client that got it and lowers the rate they share.
func TestRetryAfterHoldsEveryClient(t *testing.T) {
	srv, rec := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		ok(w)
	})
	budget := NewBudget(Rate{N: 100, Per: time.Second}, 0)
	held := make(chan struct{})
	clients := make([]*Client, 2)
	for i := range clients {
		cfg := testConfig()
		cfg.Budget, cfg.Retry.MaxBackoff = budget, 5*time.Second
		if i == 0 {
			cfg.Logger = slog.New(&signalHandler{msg: "the API's rate limit holds the account's requests", ch: held})
		}
		clients[i] = NewClient(cfg)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 2 { // the second is refused once, then retried after the hold
			if _, err := clients[0].Do(t.Context(), get(srv.URL)); err != nil {
				t.Error(err)
			}
		}
	})
	<-held
	if _, err := clients[1].Do(t.Context(), get(srv.URL)); err != nil {
		t.Error(err)
	}
	wg.Wait()
	reqs := rec.all()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	for i, r := range reqs[2:] {
		if gap := r.at.Sub(reqs[1].at); gap < time.Second-20*time.Millisecond {
			t.Errorf("request %d went %s after the 429, want >= 1s", i+2, gap)
		}
	}
	a, b := clients[0].Stats(), clients[1].Stats()
	if a.RateLimited != 1 || b.RateLimited != 0 || a.Retries != 1 {
		t.Errorf("429s %d and %d, retries %d; want 1 and 0, 1", a.RateLimited, b.RateLimited, a.Retries)
	}
	// Halved from at most 100/s, what the two requests before the 429
	// were sent at, and a second or so into its recovery (+4/s a second).
	if a.RateLimit > 70 || b.RateLimit > 70 || a.RateLimit <= 0 {
		t.Errorf("the shared rate at %v and %v/s after a 429 at 100/s, want lowered to about 50", a.RateLimit, b.RateLimit)
	}
}

// signalHandler closes ch at the first record of msg.
type signalHandler struct {
	msg  string
	ch   chan struct{}
	once sync.Once
}

func (h *signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *signalHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.ch) })
	}
	return nil
}
func (h *signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *signalHandler) WithGroup(string) slog.Handler      { return h }
