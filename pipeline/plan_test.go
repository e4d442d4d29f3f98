package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// planThenRun plans cfg, checks the plan changed nothing under dirs, runs
// cfg and returns both, by job.
func planThenRun(t *testing.T, cfg *Config, opts PlanOptions, dirs ...string) (map[string]PlannedJob, map[string]JobResult) {
	t.Helper()
	before := make([]map[string]string, len(dirs))
	for i, dir := range dirs {
		before[i] = tree(t, dir)
	}
	plan, err := MakePlan(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, dir := range dirs {
		if after := tree(t, dir); !maps.Equal(after, before[i]) {
			t.Fatalf("the plan changed %s: %v, then %v", dir, slices.Sorted(maps.Keys(before[i])), slices.Sorted(maps.Keys(after)))
		}
	}
	planned := map[string]PlannedJob{}
	for _, pj := range plan.Jobs {
		if pj.Error != "" {
			t.Fatalf("plan of %s: %s", pj.Job, pj.Error)
		}
		if pj.ProbeRequests < 1 || pj.ProbeRequests > 3 {
			t.Errorf("%s: the probe sent %d requests, want 1 to 3", pj.Job, pj.ProbeRequests)
		}
		planned[pj.Job] = pj
	}
	sum, err := Run(context.Background(), cfg, opts.Options)
	if err != nil {
		t.Fatal(err)
	}
	ran := map[string]JobResult{}
	for _, res := range sum.Jobs {
		if res.Status != StatusSucceeded {
			t.Fatalf("run of %s: %s", res.Job, res.Error)
		}
		ran[res.Job] = res
	}
	return planned, ran
}

// The plan of the root jobs.yaml predicts, exactly, the requests the run
// that follows makes (the built-in simulator, no faults), and so does the
// plan of the same jobs made incremental, before their first run and
// after it (Nameshield's early stop makes its estimate an upper bound).
func TestPlanPredictsTheRunsRequests(t *testing.T) {
	out, state := t.TempDir(), t.TempDir()
	cfg := rootJobsTo(t, fmt.Sprintf("  destination: %s\n", out))
	planned, ran := planThenRun(t, cfg, PlanOptions{Options: Options{RunID: "r1", Now: pinnedNow}}, out)
	if len(planned) != 5 {
		t.Fatalf("planned %d jobs, want the root jobs.yaml's 5", len(planned))
	}
	for job, pj := range planned {
		res := ran[job]
		if pj.Requests == nil || int64(*pj.Requests) != res.Requests || pj.RequestsAtMost {
			t.Errorf("%s: planned %v requests (at most: %v), the run made %d", job, deref(pj.Requests), pj.RequestsAtMost, res.Requests)
		}
		if pj.SourceTotal != nil && res.SourceTotal != nil && *pj.SourceTotal != *res.SourceTotal {
			t.Errorf("%s: planned a total of %d, the run found %d", job, *pj.SourceTotal, *res.SourceTotal)
		}
		t.Logf("%-10s planned %4d requests, run made %4d (probe: %d)", job, deref(pj.Requests), res.Requests, pj.ProbeRequests)
		// The planned folder, FORMAT filled in, is each format's.
		for i, format := range pj.Formats {
			want := strings.ReplaceAll(pj.Output, "FORMAT", format) + "/" + ManifestName
			if i >= len(res.Manifests) || res.Manifests[i] != want {
				t.Errorf("%s: planned %s, the run wrote %v", job, want, res.Manifests)
			}
		}
	}

	// The same jobs, incremental (McTime cannot be).
	body, err := os.ReadFile("../jobs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yml := strings.Replace(string(body), "  destination: ./out\n", fmt.Sprintf("  destination: %s\n", out), 1)
	yml = strings.Replace(yml, "\njobs:\n", fmt.Sprintf("\nstate: {dir: %q}\njobs:\n", state), 1)
	for _, name := range []string{"kare", "medipim", "nameshield", "requestor"} {
		yml = strings.Replace(yml, "provider: "+name+"\n", "provider: "+name+"\n    incremental: true\n", 1)
	}
	inc, err := Parse(filepath.Join(t.TempDir(), "jobs.yaml"), []byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	for _, runID := range []string{"i1", "i2"} {
		planned, ran := planThenRun(t, inc, PlanOptions{Options: Options{RunID: runID, Now: pinnedNow}}, out, state)
		for job, pj := range planned {
			res := ran[job]
			if (pj.Incremental == nil) != (job == "mctime") {
				t.Errorf("%s %s: planned window %+v", runID, job, pj.Incremental)
			}
			if pj.Incremental != nil && res.Incremental != nil && !equalTimes(pj.Incremental.Since, res.Incremental.Since) {
				t.Errorf("%s %s: planned since %v, the run read since %v", runID, job, pj.Incremental.Since, res.Incremental.Since)
			}
			switch {
			case pj.Requests == nil:
				t.Errorf("%s %s: no request estimate", runID, job)
			case pj.RequestsAtMost && res.Requests > int64(*pj.Requests):
				t.Errorf("%s %s: planned at most %d requests, the run made %d", runID, job, *pj.Requests, res.Requests)
			case !pj.RequestsAtMost && int64(*pj.Requests) != res.Requests:
				t.Errorf("%s %s: planned %d requests, the run made %d", runID, job, *pj.Requests, res.Requests)
			}
			t.Logf("%s %-10s planned %4d requests (at most: %v), run made %4d, exported %d", runID, job, deref(pj.Requests), pj.RequestsAtMost, res.Requests, res.Records)
		}
		if runID == "i2" && !planned["nameshield"].RequestsAtMost {
			t.Error("an incremental Nameshield plan with a window should be an upper bound")
		}
	}
}

func deref(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

// Offline, the plan sends nothing and starts no simulator (a job whose
// base_url is unreachable plans all the same), and leaves the estimates
// null; a failed probe is the job's error, not the plan's. Neither
// creates the destination.
func TestPlanOfflineAndFailedProbes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	cfg := parseTestConfig(t, `version: 1
output: {destination: "{{out}}"}
jobs:
  - {name: dead, provider: medipim, base_url: "http://127.0.0.1:1", retry: {max_attempts: 1}}
  - {name: ok, provider: medipim, base_url: simulator}
`, out)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	const started = "started the built-in simulator"
	plan, err := MakePlan(context.Background(), cfg, PlanOptions{Options: Options{Logger: logger}, Offline: true, Shards: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, pj := range plan.Jobs {
		if pj.Error != "" || pj.Requests != nil || pj.SourceTotal != nil || pj.ProbeRequests != 0 || pj.SecondsEstimate != nil || pj.Shard == nil || *pj.Shard != ShardOf(pj.Job, 3) {
			t.Errorf("offline %s: %+v", pj.Job, pj)
		}
	}
	if strings.Contains(logs.String(), started) {
		t.Errorf("an offline plan started the simulator:\n%s", logs.String())
	}
	plan, err = MakePlan(context.Background(), cfg, PlanOptions{Options: Options{Logger: logger}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), started) {
		t.Errorf("the probe of a simulator job did not start it:\n%s", logs.String())
	}
	if dead := plan.Jobs[0]; !strings.Contains(dead.Error, `job "dead": count probe`) || dead.ProbeRequests != 1 || plan.Totals.Failed != 1 || plan.Jobs[1].Error != "" {
		t.Errorf("a dead API: %+v, totals %+v", dead, plan.Totals)
	}
	if ok := plan.Jobs[1]; ok.Requests == nil || plan.Totals.Requests != *ok.Requests {
		t.Errorf("totals %+v do not add up the job that planned", plan.Totals)
	}
	if _, err := os.Lstat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the plans made the destination %s: %v", out, err)
	}
}

// tree maps every file under dir to its content and every folder to "/";
// nil when dir does not exist.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	var files map[string]string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if files == nil {
			files = map[string]string{}
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			files[rel] = "/"
			return nil
		}
		b, err := os.ReadFile(p)
		files[rel] = string(b)
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return files
}

func equalTimes(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// An offline plan (and so run --dry-run) of an incremental job whose
// state is in S3 does not read it: that would be network. It says the
// window's start is unknown instead.
func TestOfflinePlanReadsNoStateFromS3(t *testing.T) {
	cfg := parseTestConfig(t, `version: 1
output: {destination: "{{out}}"}
state: {dir: s3://no-such-bucket/state, s3: {endpoint: "http://127.0.0.1:1", force_path_style: true}}
jobs:
  - {name: k, provider: kare, base_url: simulator, incremental: true}
`, t.TempDir())
	plan, err := MakePlan(context.Background(), cfg, PlanOptions{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if pj := plan.Jobs[0]; pj.Error != "" || !pj.SinceUnknown || pj.Incremental == nil || pj.Incremental.Since != nil {
		t.Errorf("offline plan with S3 state: %+v", pj)
	}
	plan, err = MakePlan(context.Background(), cfg, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pj := plan.Jobs[0]; pj.Error == "" || pj.SinceUnknown {
		t.Errorf("an online plan must read the state, and fail on an endpoint that does not answer: %+v", pj)
	}
}
