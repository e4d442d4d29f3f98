package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simulator"
)

func TestAccountBudgetsShareOnlyOneAccount(t *testing.T) {
	bearer := func(token string) httpsource.Auth { return httpsource.Auth{Type: httpsource.AuthBearer, Token: token} }
	job := func(name string, change func(j *Job)) Job {
		j := Job{Name: name, Provider: "nameshield", BaseURL: "https://api.nameshield.net", Auth: bearer("t1"), MaxInFlight: 2}
		change(&j)
		return j
	}
	same := func(*Job) {}
	noAuth := func(j *Job) { j.Auth = httpsource.Auth{} }
	for _, tc := range []struct {
		name  string
		b     func(j *Job) // the second job, from the first
		a     func(j *Job) // the first, from the base
		share bool
	}{
		{"the same token", same, same, true},
		{"another token", func(j *Job) { j.Auth = bearer("t2") }, same, false},
		{"another base URL", func(j *Job) { j.BaseURL = "https://eu.api.nameshield.net" }, same, false},
		{"another provider", func(j *Job) { j.Provider = "kare" }, same, false},
		{"an extra header", func(j *Job) { j.Auth.Headers = map[string]string{"x-session-token": "s"} }, same, false},
		{"the simulator", func(j *Job) { j.BaseURL = SimulatorURL }, same, false},
		{"both on the simulator", func(j *Job) { j.BaseURL = SimulatorURL }, func(j *Job) { j.BaseURL = SimulatorURL }, true},
		{"other settings", func(j *Job) {
			j.PageSize, j.RateLimit, j.Filter = 10, httpsource.Rate{N: 1, Per: time.Second}, map[string]any{"x": 1}
		}, same, true},
		// No credential, no account: an API's treatment of requests
		// without one is not what rate_limit says.
		{"no credential on either", noAuth, noAuth, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := job("a", tc.a)
			b := job("b", func(j *Job) { tc.a(j); tc.b(j) })
			budgets := newAccountBudgets([]Job{a, b}, slog.New(slog.DiscardHandler))
			ba, bb := budgets.budget(a.Name), budgets.budget(b.Name)
			if tc.share && (ba == nil || ba != bb) {
				t.Errorf("budgets %p and %p, want one", ba, bb)
			}
			// A job alone has no shared budget: its client builds its own,
			// as before budgets were shared.
			if !tc.share && (ba != nil || bb != nil) {
				t.Errorf("budgets %p and %p, want none shared", ba, bb)
			}
		})
	}
}

func TestAccountBudgetsTakeTheStrictestLimits(t *testing.T) {
	rate := func(n int, per time.Duration) httpsource.Rate { return httpsource.Rate{N: n, Per: per} }
	for _, tc := range []struct {
		name         string
		rates        []httpsource.Rate
		inFlight     []int
		wantRate     httpsource.Rate
		wantInFlight int
	}{
		{"the lowest requests per second", []httpsource.Rate{rate(600, 5*time.Minute), rate(100, time.Minute)}, []int{2, 2}, rate(100, time.Minute), 2},
		{"whatever the period", []httpsource.Rate{rate(10, time.Second), rate(500, time.Minute), rate(20, time.Second)}, []int{4, 1, 3},
			rate(500, time.Minute), 1},
		{"a limit over none", []httpsource.Rate{{}, rate(40, time.Second)}, []int{8, 4}, rate(40, time.Second), 4},
		{"none at all", []httpsource.Rate{{}, {}}, []int{3, 5}, httpsource.Rate{}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var jobs []Job
			for i, r := range tc.rates {
				jobs = append(jobs, Job{
					Name: fmt.Sprintf("job-%d", i), Provider: "nameshield", BaseURL: "https://api.nameshield.net",
					Auth:      httpsource.Auth{Type: httpsource.AuthBearer, Token: "s3cret-t0ken"},
					RateLimit: r, MaxInFlight: tc.inFlight[i],
				})
			}
			var logs bytes.Buffer
			b := newAccountBudgets(jobs, slog.New(slog.NewTextHandler(&logs, nil)))
			for _, j := range jobs {
				if r, n := b.limits(j); r != tc.wantRate || n != tc.wantInFlight {
					t.Errorf("%s: %s and %d in flight, want %s and %d", j.Name, r, n, tc.wantRate, tc.wantInFlight)
				}
			}
			// Once per account, naming the jobs and the limits, never the token.
			text := logs.String()
			want := fmt.Sprintf("rate_limit=%s max_in_flight=%d", tc.wantRate, tc.wantInFlight)
			if strings.Count(text, "share its request budget") != 1 || !strings.Contains(text, want) ||
				!strings.Contains(text, "jobs=\"["+strings.Join(jobNames(jobs), " ")+"]\"") || strings.Contains(text, "s3cret") {
				t.Errorf("logs %q, want one line with %s", text, want)
			}
		})
	}
}

func jobNames(jobs []Job) []string {
	var names []string
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	return names
}

// TestJobsOnOneTokenShareItsRateLimit runs two Nameshield jobs at once,
// each told the account allows 40 requests a second, against a simulator
// that allows each token exactly that. On one token, they must share the
// budget: no 429, and together they keep it busy. On two tokens, each has
// its own and neither slows the other.
func TestJobsOnOneTokenShareItsRateLimit(t *testing.T) {
	const (
		perSecond = 40
		// 61 pages of 10: about 1.5 s of the budget for one job, 3 s for
		// two. One read (drift.confirm off): a pause between two reads,
		// to finish the files, would be a gap that only another job on
		// the budget fills, and the control runs each job on its own.
		users = 600
	)
	for _, tc := range []struct {
		name         string
		tokens       [2]string
		wantAccounts int
	}{
		{"one token", [2]string{"ns-TOKEN-shared", "ns-TOKEN-shared"}, 1},
		{"two tokens", [2]string{"ns-TOKEN-first", "ns-TOKEN-second"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, err := simulator.Start("127.0.0.1:0", simulator.Options{
				Users: users, Seed: 5, RateLimit: httpsource.Rate{N: perSecond, Per: time.Second},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sim.Close() })
			var yml strings.Builder
			yml.WriteString("version: 1\nconcurrency: 2\noutput: {destination: \"{{out}}\", formats: [jsonl, parquet]}\njobs:\n")
			for i, token := range tc.tokens {
				fmt.Fprintf(&yml, "  - {name: ns-%d, provider: nameshield, base_url: %s, page_size: 10, max_in_flight: 4, rate_limit: %d/1s, drift: {confirm: false}, auth: {type: bearer, token: %s}}\n",
					i, sim.BaseURL("nameshield"), perSecond, token)
			}
			logs := &bytes.Buffer{}
			sum, err := Run(context.Background(), parseTestConfig(t, yml.String(), t.TempDir()), Options{
				RunID: "r1", Now: pinnedNow, Version: "test", Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range sum.Jobs {
				if j.Status != StatusSucceeded || j.Records != users {
					t.Errorf("%s: %s with %d records, want %d: %s", j.Job, j.Status, j.Records, users, j.Error)
				}
			}
			if shared := strings.Contains(logs.String(), "share its request budget"); shared != (tc.wantAccounts == 1) {
				t.Errorf("logged sharing %v, want %v:\n%s", shared, tc.wantAccounts == 1, logs)
			}
			accounts := sim.Stats().Accounts
			if len(accounts) != tc.wantAccounts {
				t.Fatalf("the simulator saw %d credentials, want %d: %+v", len(accounts), tc.wantAccounts, accounts)
			}
			for _, a := range accounts {
				// From the first request to the last as the simulator saw
				// them, so start-up and commits are left out.
				requests := a.Served + a.Limited
				wall := a.Last.Sub(a.First).Seconds()
				use := float64(requests) / (wall * perSecond)
				t.Logf("credential %s: %d requests (%d refused with 429) in %.2f s: %.1f%% of %d/s",
					a.Credential, requests, a.Limited, wall, 100*use, perSecond)
				if a.Limited != 0 {
					t.Errorf("credential %s: %d requests refused with 429, want none", a.Credential, a.Limited)
				}
				if use < 0.9 {
					t.Errorf("credential %s: %.1f%% of its budget used, want at least 90%%", a.Credential, 100*use)
				}
			}
		})
	}
}

// TestPlanEstimatesAtTheSharedRate plans two jobs on one token that say
// different rates: both are estimated at the stricter, which they share.
func TestPlanEstimatesAtTheSharedRate(t *testing.T) {
	sim, err := simulator.Start("127.0.0.1:0", simulator.Options{Users: 500, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	cfg := parseTestConfig(t, fmt.Sprintf(`
version: 1
output: {destination: "{{out}}"}
jobs:
  - {name: slow, provider: nameshield, base_url: %[1]s, page_size: 10, rate_limit: 10/1s, auth: {type: bearer, token: t}}
  - {name: fast, provider: nameshield, base_url: %[1]s, page_size: 10, rate_limit: 100/1s, auth: {type: bearer, token: t}}
`, sim.BaseURL("nameshield")), t.TempDir())
	plan, err := MakePlan(context.Background(), cfg, PlanOptions{Options: Options{RunID: "r1", Now: pinnedNow}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pj := range plan.Jobs {
		secs := -1.0
		if pj.SecondsEstimate != nil {
			secs = *pj.SecondsEstimate
		}
		// 50 pages, read twice: 99 intervals of 1/10 s.
		if pj.Error != "" || deref(pj.Requests) != 100 || secs != 9.9 {
			t.Errorf("%s: %d requests in %.2f s (%s), want 100 in 9.9 s at the shared 10/1s", pj.Job, deref(pj.Requests), secs, pj.Error)
		}
	}
}

// TestJobAdaptsToARateLimitBelowItsOwn runs a Nameshield job told the
// account allows 40 requests a second against a simulator that allows 20,
// in each of the simulator's ways of saying so. The job completes and
// reports the 429s it got and the rate it ended at, and keeps most of the
// API's budget busy.
//
// With Retry-After alone, the budget learns the rate from the 429s, which
// stop once it has: a few in some 200 requests (without adapting, one in
// every two or three requests is refused). With the limit advertised, it
// keeps to it from the first answer (RateLimit-Policy) or lowers its rate
// as the quota runs out (X-RateLimit-Remaining), without a 429.
func TestJobAdaptsToARateLimitBelowItsOwn(t *testing.T) {
	const limit = 20 // the simulator's, per second
	for _, tc := range []struct {
		name                   string
		headers                simulator.RateLimitHeaders
		minLimited, maxLimited int64
		// Bounds of the rate at the end: lowered below the configured 40
		// when learnt from 429s, at most the limit when advertised.
		minRate, maxRate float64
	}{
		{"retry-after only", simulator.NoRateLimitHeaders, 1, 5, limit / 4, 39},
		{"ietf draft headers", simulator.IETFRateLimitHeaders, 0, 0, limit, limit},
		{"x-ratelimit headers", simulator.XRateLimitHeaders, 0, 0, limit / 4, 39},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each against its own simulator, and bound by its rate
			const users = 2000
			sim, err := simulator.Start("127.0.0.1:0", simulator.Options{
				Users: users, Seed: 5, RateLimit: httpsource.Rate{N: limit, Per: time.Second}, RateLimitHeaders: tc.headers,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sim.Close() })
			yml := "version: 1\noutput: {destination: \"{{out}}\", formats: [jsonl]}\njobs:\n" +
				"  - {name: ns, provider: nameshield, base_url: " + sim.BaseURL("nameshield") +
				", page_size: 10, max_in_flight: 4, rate_limit: 40/1s, drift: {confirm: false}, auth: {type: bearer, token: ns-TOKEN}}\n"
			logs := &bytes.Buffer{}
			sum, err := Run(context.Background(), parseTestConfig(t, yml, t.TempDir()), Options{
				RunID: "r1", Now: pinnedNow, Version: "test", Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			j, acc := sum.Jobs[0], sim.Stats().Accounts[0]
			wall := acc.Last.Sub(acc.First).Seconds()
			use := float64(acc.Served+acc.Limited) / (wall * limit)
			final := -1.0
			if j.RateLimitFinal != nil {
				final = *j.RateLimitFinal
			}
			t.Logf("%d requests, %d refused with 429, in %.2f s: %.1f%% of %d/s; %.2f/s over the job's %.2f s, ended at %v/s",
				j.Requests, j.RateLimited, wall, 100*use, limit, j.RequestsPerSecond, j.Seconds, final)
			if j.Status != StatusSucceeded || j.Records != users {
				t.Fatalf("%s with %d records, want %d: %s", j.Status, j.Records, users, j.Error)
			}
			if j.RateLimited < tc.minLimited || j.RateLimited > tc.maxLimited {
				t.Errorf("%d 429s, want %d to %d", j.RateLimited, tc.minLimited, tc.maxLimited)
			}
			if uint64(j.RateLimited) != acc.Limited {
				t.Errorf("the job reports %d 429s, the simulator sent %d", j.RateLimited, acc.Limited)
			}
			if n := len(refusedAt(t, logs)); int64(n) != j.RateLimited {
				t.Errorf("%d retries after a 429 logged, want %d", n, j.RateLimited)
			}
			if final < tc.minRate || final > tc.maxRate {
				t.Errorf("rate at the end %v/s, want within [%v, %v]", final, tc.minRate, tc.maxRate)
			}
			// Each Retry-After (1 s, the simulator's whole seconds) or
			// exhausted quota holds the budget, and each decrease takes
			// recovery to win back: 60 % leaves room for both.
			if use < 0.6 {
				t.Errorf("%.1f%% of the budget used, want at least 60%%", 100*use)
			}
		})
	}
}

// refusedAt lists when the job logged a retry after a 429.
func refusedAt(t *testing.T, logs *bytes.Buffer) []time.Time {
	t.Helper()
	var out []time.Time
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec struct {
			Time   time.Time `json:"time"`
			Msg    string    `json:"msg"`
			Status int       `json:"status"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Msg == "retrying request" && rec.Status == 429 {
			out = append(out, rec.Time)
		}
	}
	return out
}
