package pipeline

import (
	"bytes"
	"context"
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
