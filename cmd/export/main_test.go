package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/saas-export/export/pipeline"
)

// runCmd runs the CLI in-process with its own environment.
func runCmd(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, env{
		stdout: &out, stderr: &errb,
		lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
	})
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateReportsEveryMistakeWithPositionAndExits2(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "jobs.yaml", `version: 1
concurrency: 4
output:
  formats: [jsonl, xml]
jobs:
  - name: medipim-be
    provider: medipim
    auth: {type: basic, username: "${MEDIPIM_ID}", password: "${MEDIPIM_SECRET}"}
    page_size: many
  - name: medipim-be
    provider: medipim
    colour: blue
`)
	code, stdout, stderr := runCmd(t, map[string]string{"MEDIPIM_SECRET": "hunter2-secret"}, "validate", "-c", cfg)
	if code != exitUsage {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout should be empty, got %q", stdout)
	}
	line := regexp.MustCompile(`^.*jobs\.yaml:\d+:\d+: \S+: .+$`)
	var problems []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if line.MatchString(l) {
			problems = append(problems, l)
		}
	}
	if len(problems) != 5 {
		t.Fatalf("want 5 positioned problems, got %d:\n%s", len(problems), stderr)
	}
	for _, want := range []string{"output.formats[1]", "MEDIPIM_ID", "jobs[0].page_size", "jobs[1].name", "jobs[1].colour"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("no problem mentions %s:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "hunter2") {
		t.Error("a secret value was printed")
	}
}

func TestRunDefaultJobsFileShapeAndExitCodes(t *testing.T) {
	out := t.TempDir()
	cfg := writeFile(t, t.TempDir(), "jobs.yaml", `version: 1
output: {destination: `+out+`}
jobs:
  - {name: medipim, provider: medipim, base_url: simulator, rate_limit: 1000/1s}
`)
	code, stdout, stderr := runCmd(t, nil, "run", "-c", cfg, "--output", "json", "--run-id", "r1", "--now", "2026-11-23T10:00:00Z")
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	var sum pipeline.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if sum.Status != "succeeded" || len(sum.Jobs) != 1 || sum.Jobs[0].Records == 0 || len(sum.Jobs[0].Files) != 3 {
		t.Errorf("summary: %+v", sum)
	}
	if _, err := os.Stat(filepath.Join(out, "medipim", "parquet", "dt=2026-11-23", "run=r1", "_SUCCESS")); err != nil {
		t.Error(err)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "jobs.yaml", "version: 1\njobs:\n  - {name: a, provider: medipim, base_url: simulator}\n")
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"run", "-c", cfg, "--job", "missing"},
		{"run", "-c", cfg, "--shard", "3/2"},
		{"run", "-c", cfg, "--now", "yesterday"},
		{"run", "-c", filepath.Join(t.TempDir(), "absent.yaml")},
		{"schema", "--output", "xml"},
	} {
		if code, _, _ := runCmd(t, nil, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestShardFromEnvironment(t *testing.T) {
	lookup := func(k string) (string, bool) {
		return map[string]string{"JOB_COMPLETION_INDEX": "2"}[k], k == "JOB_COMPLETION_INDEX"
	}
	s, err := shardFrom("", 3, lookup)
	if err != nil || s != (pipeline.Shard{Index: 2, Count: 3}) {
		t.Errorf("got %+v, %v", s, err)
	}
	if _, err := shardFrom("", 2, lookup); err == nil {
		t.Error("index 2 of 2 shards accepted")
	}
	if s, err := shardFrom("1/4", 0, lookup); err != nil || s != (pipeline.Shard{Index: 1, Count: 4}) {
		t.Errorf("--shard 1/4: %+v, %v", s, err)
	}
}

func TestSchemaAthenaNamesEveryColumn(t *testing.T) {
	code, stdout, _ := runCmd(t, nil, "schema", "--output", "athena")
	if code != exitOK {
		t.Fatal(code)
	}
	for _, want := range []string{"CREATE EXTERNAL TABLE", "`extracted_at` timestamp", "`phones` array<string>", "PARTITIONED BY (`dt` string)", "STORED AS PARQUET",
		"LOCATION 's3://BUCKET/PREFIX/JOB/parquet/'", `CREATE OR REPLACE VIEW "users_latest"`, `CREATE OR REPLACE VIEW "users_daily"`, `CREATE OR REPLACE VIEW "users_current"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("athena DDL lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runCmd(t, nil, "schema", "--output", "athena", "--table", "acme", "--location", "s3://lake/x/medipim/parquet")
	if code != exitOK || !strings.Contains(stdout, "'storage.location.template' = 's3://lake/x/medipim/parquet/dt=${dt}/'") || !strings.Contains(stdout, `FROM "acme"`) {
		t.Errorf("--table and --location: exit %d\n%s", code, stdout)
	}
}

// TestValidateCatchesProviderFilterMistakes: each provider's own rules are
// config errors with positions, before any request is sent.
func TestValidateCatchesProviderFilterMistakes(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "jobs.yaml", `version: 1
jobs:
  - name: m
    provider: mctime
    filter: {roles: [employee, janitor]}
  - name: k
    provider: kare
    filter: {whereColour: blue}
  - name: p
    provider: medipim
    page_size: 30
  - name: n
    provider: nameshield
    page_size: 501
`)
	code, _, stderr := runCmd(t, nil, "validate", "-c", cfg)
	if code != exitUsage {
		t.Fatalf("exit %d, want 2:\n%s", code, stderr)
	}
	for _, want := range []string{
		`jobs.yaml:5:32: jobs[0].filter.roles[1]: unknown role "janitor"`,
		`jobs.yaml:8:27: jobs[1].filter.whereColour: unknown filter`,
		`jobs.yaml:11:16: jobs[2].page_size: must be one of 10, 50, 100 or 250`,
		`jobs.yaml:14:16: jobs[3].page_size: must be between 1 and 500`,
		"4 problem(s)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// --shards N takes the index from Kubernetes' JOB_COMPLETION_INDEX or AWS
// Batch's AWS_BATCH_JOB_ARRAY_INDEX and picks the jobs --shard I/N does,
// which `export plan --shards N` shows; over the N shards every job of
// the root jobs.yaml runs once.
func TestShardsFromSchedulers(t *testing.T) {
	planned := func(vars map[string]string, args ...string) []string {
		t.Helper()
		code, stdout, stderr := runCmd(t, vars, append([]string{"run", "-c", "../../jobs.yaml", "--dry-run", "--output", "json"}, args...)...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		var plan pipeline.Plan
		if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
			t.Fatal(err)
		}
		var jobs []string
		for _, j := range plan.Jobs {
			jobs = append(jobs, j.Job)
		}
		return jobs
	}
	code, stdout, stderr := runCmd(t, nil, "plan", "-c", "../../jobs.yaml", "--offline", "--shards", "3", "--output", "json")
	if code != exitOK {
		t.Fatalf("plan --shards 3: exit %d\n%s", code, stderr)
	}
	var plan pipeline.Plan
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatal(err)
	}
	byShard := map[int][]string{}
	for _, j := range plan.Jobs {
		if j.Shard == nil {
			t.Fatalf("plan --shards 3: job %s has no shard", j.Job)
		}
		byShard[*j.Shard] = append(byShard[*j.Shard], j.Job)
	}
	var all []string
	for i := range 3 {
		want := planned(nil, "--shard", fmt.Sprintf("%d/3", i))
		for _, name := range []string{"JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"} {
			if got := planned(map[string]string{name: strconv.Itoa(i)}, "--shards", "3"); !slices.Equal(got, want) {
				t.Errorf("%s=%d --shards 3 runs %v, --shard %d/3 runs %v", name, i, got, i, want)
			}
		}
		if !slices.Equal(byShard[i], want) {
			t.Errorf("plan --shards 3 puts %v on shard %d, which runs %v", byShard[i], i, want)
		}
		all = append(all, want...)
	}
	slices.Sort(all)
	if want := []string{"kare", "mctime", "medipim", "nameshield", "requestor"}; !slices.Equal(all, want) {
		t.Errorf("over 3 shards the jobs run are %v, want each of %v once", all, want)
	}
}
