package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/saas-export/export/pipeline"
	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/simulator"
)

// rootJobs writes the root jobs.yaml, exporting into out, to a temporary
// file. With srv, each job reads from srv instead of its own built-in
// simulator, so srv counts what every command sends; rate, if set, is
// then each job's rate_limit (the providers' real limits otherwise).
func rootJobs(t *testing.T, out string, srv *simulator.Server, rate string) string {
	t.Helper()
	body, err := os.ReadFile("../../jobs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yml := strings.Replace(string(body), "  destination: ./out\n", fmt.Sprintf("  destination: %q\n", out), 1)
	if yml == string(body) {
		t.Fatal("../../jobs.yaml no longer has `  destination: ./out`")
	}
	if srv != nil {
		lines := strings.Split(yml, "\n")
		provider, moved := "", 0
		for i, line := range lines {
			field := strings.TrimSpace(line)
			if p, ok := strings.CutPrefix(field, "provider: "); ok {
				provider = p
			}
			if strings.HasPrefix(field, "base_url: simulator") {
				lines[i] = "    base_url: " + srv.BaseURL(provider)
				if rate != "" {
					lines[i] += "\n    rate_limit: " + rate
				}
				moved++
			}
		}
		if moved != len(sources.All()) {
			t.Fatalf("moved %d jobs of ../../jobs.yaml to the test's simulator, want one per provider", moved)
		}
		yml = strings.Join(lines, "\n")
	}
	return writeFile(t, t.TempDir(), "jobs.yaml", yml)
}

// planJSON runs `export plan ARGS --output json`, checks the object has
// every key of the contract, and decodes it.
func planJSON(t *testing.T, wantCode int, args ...string) pipeline.Plan {
	t.Helper()
	code, stdout, stderr := runCmd(t, nil, append(append([]string{"plan"}, args...), "--output", "json")...)
	if code != wantCode {
		t.Fatalf("plan %v: exit %d, want %d\n%s", args, code, wantCode, stderr)
	}
	var shape struct {
		Jobs   []map[string]json.RawMessage `json:"jobs"`
		Totals map[string]json.RawMessage   `json:"totals"`
	}
	if err := json.Unmarshal([]byte(stdout), &shape); err != nil {
		t.Fatalf("plan %v: stdout is not one JSON object: %v\n%s", args, err, stdout)
	}
	for _, j := range shape.Jobs {
		for _, key := range []string{"job", "provider", "request", "page_size", "max_in_flight", "rate_limit", "timeout",
			"max_attempts", "source_total", "pages", "requests", "requests_at_most", "reads", "seconds_estimate",
			"incremental", "output", "formats", "shard"} {
			if _, ok := j[key]; !ok {
				t.Errorf("plan %v: a job has no %q: %s", args, key, stdout)
			}
		}
	}
	for _, key := range []string{"jobs", "requests", "seconds_estimate"} {
		if _, ok := shape.Totals[key]; !ok {
			t.Errorf("plan %v: the totals have no %q: %s", args, key, stdout)
		}
	}
	var plan pipeline.Plan
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatal(err)
	}
	return plan
}

func assertAbsent(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the plan made %s (%v)", path, err)
	}
}

// `export plan --output json` on the root jobs.yaml predicts, exactly, the
// requests of the `export run` that follows, job by job, and writes
// nothing; at a simulator that counts, the plan sends 1 to 3 requests a
// job and the run sends what its summary and the plan say.
func TestPlanPredictsTheRunThroughTheCLI(t *testing.T) {
	for _, tc := range []struct {
		name    string
		counted bool
	}{
		{"built-in simulator", false},
		{"simulator counting requests", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			var srv *simulator.Server
			if tc.counted {
				var err error
				if srv, err = simulator.Start("127.0.0.1:0", simulator.Options{Users: simulator.DefaultUsers}); err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
			}
			cfg := rootJobs(t, out, srv, "50/1s")
			plan := planJSON(t, exitOK, "-c", cfg)
			assertAbsent(t, out)
			if len(plan.Jobs) != len(sources.All()) || plan.Totals.Jobs != len(plan.Jobs) {
				t.Fatalf("planned %d jobs (totals: %d), want one per provider", len(plan.Jobs), plan.Totals.Jobs)
			}
			var probed map[string]uint64
			if srv != nil {
				probed = srv.Stats().Requests
			}
			planned, sum := map[string]pipeline.PlannedJob{}, 0
			for _, pj := range plan.Jobs {
				if pj.Error != "" || pj.Requests == nil || pj.RequestsAtMost || pj.Reads != 2 || pj.Shard != nil {
					t.Fatalf("%s: %+v", pj.Job, pj)
				}
				if pj.ProbeRequests < 1 || pj.ProbeRequests > 3 {
					t.Errorf("%s: the probe sent %d requests, want 1 to 3", pj.Job, pj.ProbeRequests)
				}
				if srv != nil && probed[pj.Provider] != uint64(pj.ProbeRequests) {
					t.Errorf("%s: the simulator saw %d probe requests, the plan says %d", pj.Job, probed[pj.Provider], pj.ProbeRequests)
				}
				planned[pj.Job] = pj
				sum += *pj.Requests
			}
			if plan.Totals.Requests != sum {
				t.Errorf("totals: %d requests, the jobs add up to %d", plan.Totals.Requests, sum)
			}

			code, stdout, stderr := runCmd(t, nil, "run", "-c", cfg, "--output", "json", "--run-id", "r1")
			if code != exitOK {
				t.Fatalf("run: exit %d\n%s", code, stderr)
			}
			var run pipeline.Summary
			if err := json.Unmarshal([]byte(stdout), &run); err != nil {
				t.Fatal(err)
			}
			var made map[string]uint64
			if srv != nil {
				made = srv.Stats().Requests
			}
			for _, res := range run.Jobs {
				pj := planned[res.Job]
				if int64(*pj.Requests) != res.Requests {
					t.Errorf("%s: planned %d requests, the run made %d", res.Job, *pj.Requests, res.Requests)
				}
				if srv != nil {
					if got := made[res.Provider] - probed[res.Provider]; got != uint64(res.Requests) {
						t.Errorf("%s: the simulator saw %d requests of the run, its summary says %d", res.Job, got, res.Requests)
					}
					// Under the rate limit the estimate is a floor: a bucket
					// of one token lets no run go faster.
					if res.Seconds < *pj.SecondsEstimate-0.01 {
						t.Errorf("%s: the run took %.2f s, under the %.2f s its rate limit allows", res.Job, res.Seconds, *pj.SecondsEstimate)
					}
				}
				t.Logf("%-10s planned %3d requests in %5.2f s (probe: %d); the run made %3d in %5.2f s",
					res.Job, *pj.Requests, *pj.SecondsEstimate, pj.ProbeRequests, res.Requests, res.Seconds)
			}
		})
	}
}

// Offline the plan sends nothing and estimates nothing; online, against
// the providers' real rate limits, a job's seconds are what its limit
// allows ((requests − 1) / rate, the probe's latency on loopback being
// far below it), and the text table shows the numbers and shards the
// JSON does.
func TestPlanOfflineRateBoundAndText(t *testing.T) {
	srv, err := simulator.Start("127.0.0.1:0", simulator.Options{Users: simulator.DefaultUsers})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out")
	cfg := rootJobs(t, out, srv, "")
	total := func() (n uint64) {
		for _, v := range srv.Stats().Requests {
			n += v
		}
		return n
	}

	offline := planJSON(t, exitOK, "-c", cfg, "--offline", "--shards", "4")
	if n := total(); n != 0 {
		t.Errorf("an offline plan sent %d requests", n)
	}
	for _, pj := range offline.Jobs {
		if pj.Requests != nil || pj.Pages != nil || pj.SourceTotal != nil || pj.SecondsEstimate != nil || pj.ProbeRequests != 0 ||
			pj.Shard == nil || *pj.Shard != pipeline.ShardOf(pj.Job, 4) || pj.Error != "" {
			t.Errorf("offline %s: %+v", pj.Job, pj)
		}
	}
	if offline.Totals.Requests != 0 || offline.Totals.SecondsEstimate != 0 {
		t.Errorf("offline totals: %+v", offline.Totals)
	}

	plan := planJSON(t, exitOK, "-c", cfg)
	var seconds float64
	for _, pj := range plan.Jobs {
		p, _ := sources.Lookup(pj.Provider)
		rate := p.DefaultRate
		want := math.Round(float64(*pj.Requests-1)*rate.Per.Seconds()/float64(rate.N)*100) / 100
		if pj.RateLimit != rate.String() || pj.SecondsEstimate == nil || *pj.SecondsEstimate != want {
			t.Errorf("%s: %d requests at %s: %v s, want %.2f", pj.Job, *pj.Requests, pj.RateLimit, pj.SecondsEstimate, want)
		}
		seconds += want
	}
	if math.Abs(plan.Totals.SecondsEstimate-seconds) > 0.005 {
		t.Errorf("totals: %.2f s, the jobs add up to %.2f", plan.Totals.SecondsEstimate, seconds)
	}

	code, stdout, stderr := runCmd(t, nil, "plan", "-c", cfg, "--shards", "4")
	if code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != len(plan.Jobs)+2 || !strings.HasPrefix(lines[0], "JOB ") ||
		lines[len(lines)-1] != fmt.Sprintf("total: %d jobs, %d requests, about %.1f s one after another", len(plan.Jobs), plan.Totals.Requests, plan.Totals.SecondsEstimate) {
		t.Fatalf("plan: want a header, a line a job and the totals:\n%s", stdout)
	}
	for i, pj := range plan.Jobs {
		// JOB PROVIDER SHARD METHOD URL PAGE-SIZE IN-FLIGHT RATE TOTAL PAGES REQUESTS SECONDS ...
		f := strings.Fields(lines[i+1])
		if want := []string{pj.Job, pj.Provider, strconv.Itoa(pipeline.ShardOf(pj.Job, 4))}; !slices.Equal(f[:3], want) ||
			f[3]+" "+f[4] != pj.Request || f[7] != pj.RateLimit || f[9] != strconv.Itoa(*pj.Pages) || f[10] != strconv.Itoa(*pj.Requests) {
			t.Errorf("text line %q does not say what the JSON does: %+v", lines[i+1], pj)
		}
	}
	assertAbsent(t, out)
}

// A probe the API fails is that job's error, retried as a run would
// (each attempt one request) but never past 3 requests; the other jobs
// are planned, the plan exits 1, and nothing is written.
func TestPlanOfAFailingAPI(t *testing.T) {
	for _, attempts := range []int{1, 3, 6} {
		t.Run(fmt.Sprintf("max_attempts %d", attempts), func(t *testing.T) {
			var requests atomic.Int64
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				http.Error(w, "down for maintenance", http.StatusInternalServerError)
			}))
			defer api.Close()
			out := filepath.Join(t.TempDir(), "out")
			cfg := writeFile(t, t.TempDir(), "jobs.yaml", fmt.Sprintf(`version: 1
output: {destination: %q}
jobs:
  - {name: broken, provider: medipim, base_url: %q, rate_limit: 1000/1s, retry: {max_attempts: %d, max_backoff: 10ms}}
  - {name: fine, provider: nameshield, base_url: simulator}
`, out, api.URL, attempts))
			plan := planJSON(t, exitJobsFailed, "-c", cfg)
			broken, fine := plan.Jobs[0], plan.Jobs[1]
			if !strings.Contains(broken.Error, `job "broken": count probe`) || !strings.Contains(broken.Error, "500") ||
				broken.Requests != nil || broken.ProbeRequests != int64(min(attempts, 3)) || requests.Load() != int64(min(attempts, 3)) {
				t.Errorf("broken (the API saw %d requests): %+v", requests.Load(), broken)
			}
			if fine.Error != "" || fine.Requests == nil || plan.Totals.Failed != 1 || plan.Totals.Requests != *fine.Requests {
				t.Errorf("fine: %+v; totals %+v", fine, plan.Totals)
			}
			code, stdout, _ := runCmd(t, nil, "plan", "-c", cfg)
			if code != exitJobsFailed || !strings.Contains(stdout, `job "broken": count probe`) {
				t.Errorf("text plan: exit %d\n%s", code, stdout)
			}
			assertAbsent(t, out)
		})
	}
}
