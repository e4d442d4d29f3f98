package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/simulator"
)

var pinnedNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// parseTestConfig builds a config from YAML with {{out}} replaced by dir.
func parseTestConfig(t *testing.T, yml, dir string) *Config {
	t.Helper()
	yml = strings.ReplaceAll(yml, "{{out}}", dir)
	cfg, err := Parse("jobs.yaml", []byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func runPinned(t *testing.T, ctx context.Context, cfg *Config, users int) *Summary {
	t.Helper()
	sum, err := Run(ctx, cfg, Options{
		RunID: "r1", Now: pinnedNow, Version: "test",
		Simulator: simulator.Options{Users: users, Seed: 7},
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum
}

const simulatorJobs = `
version: 1
output:
  destination: {{out}}
jobs:
  - name: medipim-sim
    provider: medipim
    base_url: simulator
    page_size: 100
    rate_limit: 1000/1s
  - name: nameshield-sim
    provider: nameshield
    base_url: simulator
    page_size: 100
    rate_limit: 1000/1s
`

// pinnedDir is where the default path puts a job's files of one format
// on the pinned clock's day.
func pinnedDir(job, format, runID string) string {
	return job + "/" + format + "/dt=2026-11-23/run=" + runID + "/"
}

// listFiles returns every file under dir, relative, with its bytes.
func listFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

func TestRunWritesEveryFormatWithManifestAndSuccess(t *testing.T) {
	out := t.TempDir()
	sum := runPinned(t, context.Background(), parseTestConfig(t, simulatorJobs, out), 345)
	if sum.Status != StatusSucceeded {
		t.Fatalf("run status %q: %+v", sum.Status, sum.Jobs)
	}
	files := listFiles(t, out)
	if len(files) != 2*3*3 {
		t.Errorf("%d files, want 2 jobs × 3 formats × (data, manifest, _SUCCESS): %v", len(files), keys(files))
	}
	// Each format has its own folder (so a lake table over one reads no
	// other format), with a manifest of the files beside it.
	for _, job := range []string{"medipim-sim", "nameshield-sim"} {
		for _, format := range []string{"jsonl", "csv", "parquet"} {
			dir := pinnedDir(job, format, "r1")
			for _, name := range []string{"users." + format, ManifestName, SuccessName} {
				if _, ok := files[dir+name]; !ok {
					t.Errorf("missing %s%s; have %v", dir, name, keys(files))
				}
			}
			var m Manifest
			if err := json.Unmarshal(files[dir+ManifestName], &m); err != nil {
				t.Fatal(err)
			}
			if m.Records != 345 || m.SourceTotal == nil || *m.SourceTotal != 345 ||
				len(m.Files) != 1 || m.Files[0].Path != "users."+format || m.Files[0].Rows != 345 {
				t.Errorf("%s manifest: records %d, source_total %v, files %+v", dir, m.Records, m.SourceTotal, m.Files)
			}
			if len(files[dir+SuccessName]) != 0 {
				t.Errorf("%s: _SUCCESS is not empty", dir)
			}
		}
		if n := bytes.Count(files[pinnedDir(job, "jsonl", "r1")+"users.jsonl"], []byte("\n")); n != 345 {
			t.Errorf("%s: %d JSONL rows, want 345", job, n)
		}
	}
	for _, j := range sum.Jobs {
		if j.Records != 345 || len(j.Files) != 3 || len(j.Manifests) != 3 || j.Manifest != j.Manifests[0] ||
			!strings.HasSuffix(j.Manifests[2], "/"+pinnedDir(j.Job, "parquet", "r1")+ManifestName) {
			t.Errorf("summary for %s: %+v", j.Job, j)
		}
	}
}

func TestRunIsByteIdenticalWhenPinned(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	runPinned(t, context.Background(), parseTestConfig(t, simulatorJobs, a), 120)
	// Different concurrency must not change a byte.
	runPinned(t, context.Background(), parseTestConfig(t, strings.Replace(simulatorJobs, "version: 1", "version: 1\nconcurrency: 1", 1), b), 120)
	fa, fb := listFiles(t, a), listFiles(t, b)
	if !slices.Equal(keys(fa), keys(fb)) {
		t.Fatalf("file sets differ: %v vs %v", keys(fa), keys(fb))
	}
	for name, body := range fa {
		if !bytes.Equal(body, fb[name]) {
			t.Errorf("%s differs between two pinned runs", name)
		}
	}
}

// nameshieldLike serves a Nameshield page whose total disagrees with the
// results it returns.
func lyingTotal(total int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"message":"OK","data":{"total":%d,"limit":500,"offset":0,"results":[
			{"id":"a","firstname":"A","lastname":"B","email":null,"language":"fr","phone":null,"customer_id":1,
			 "expires_at":null,"last_login_at":null,"created_at":"2023-01-01T00:00:00+01:00","updated_at":"2023-01-01T00:00:00+01:00"}]}}`, total)
	})
}

func TestRunFailedJobLeavesNoOutputAndOthersFinish(t *testing.T) {
	lying := httptest.NewServer(lyingTotal(2))
	defer lying.Close()
	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"message":"invalid token"}`, http.StatusUnauthorized)
	}))
	defer denied.Close()

	out := t.TempDir()
	cfg := parseTestConfig(t, `
version: 1
output: {destination: {{out}}}
jobs:
  - {name: mismatch, provider: nameshield, base_url: `+lying.URL+`}
  - {name: denied, provider: nameshield, base_url: `+denied.URL+`}
  - {name: fine, provider: medipim, base_url: simulator, rate_limit: 1000/1s}
`, out)
	sum := runPinned(t, context.Background(), cfg, 30)
	if sum.Status != StatusFailed {
		t.Fatalf("run status %q, want failed", sum.Status)
	}
	byJob := map[string]JobResult{}
	for _, j := range sum.Jobs {
		byJob[j.Job] = j
	}
	if j := byJob["mismatch"]; j.Status != StatusFailed || !strings.Contains(j.Error, "wrote 1 records") || !strings.Contains(j.Error, "total of 2") {
		t.Errorf("mismatch job: %+v", j)
	}
	if j := byJob["denied"]; j.Status != StatusFailed || !strings.Contains(j.Error, `"denied"`) || !strings.Contains(j.Error, "401") {
		t.Errorf("denied job: %+v", j)
	}
	if j := byJob["fine"]; j.Status != StatusSucceeded || j.Records != 30 {
		t.Errorf("fine job: %+v", j)
	}
	for name := range listFiles(t, out) {
		if !strings.HasPrefix(name, "fine/") {
			t.Errorf("a failed job left %s", name)
		}
	}
}

func TestRunAllowCountMismatchCommitsBothNumbers(t *testing.T) {
	lying := httptest.NewServer(lyingTotal(5))
	defer lying.Close()
	out := t.TempDir()
	cfg := parseTestConfig(t, `
version: 1
output: {destination: {{out}}, formats: [jsonl]}
jobs:
  - {name: mismatch, provider: nameshield, base_url: `+lying.URL+`, allow_count_mismatch: true}
`, out)
	sum := runPinned(t, context.Background(), cfg, 0)
	if sum.Status != StatusSucceeded {
		t.Fatalf("status %q: %+v", sum.Status, sum.Jobs)
	}
	var m Manifest
	if err := json.Unmarshal(listFiles(t, out)[pinnedDir("mismatch", "jsonl", "r1")+ManifestName], &m); err != nil {
		t.Fatal(err)
	}
	if m.Records != 1 || m.SourceTotal == nil || *m.SourceTotal != 5 {
		t.Errorf("manifest records %d source_total %v, want 1 and 5", m.Records, m.SourceTotal)
	}
}

func TestRunRerunWithSameRunIDReplacesOutput(t *testing.T) {
	out := t.TempDir()
	cfg := parseTestConfig(t, simulatorJobs, out)
	runPinned(t, context.Background(), cfg, 40)
	// A stale file from an earlier layout of the same run must go, and
	// so must the manifest of a version before _manifest.json.
	dir := filepath.Join(out, pinnedDir("medipim-sim", "csv", "r1"))
	for _, name := range []string{"users-00002.csv", LegacyManifestName} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("stale"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum := runPinned(t, context.Background(), cfg, 25)
	if sum.Status != StatusSucceeded {
		t.Fatalf("status %q", sum.Status)
	}
	files := listFiles(t, out)
	for _, name := range []string{"users-00002.csv", LegacyManifestName} {
		if _, ok := files[pinnedDir("medipim-sim", "csv", "r1")+name]; ok {
			t.Errorf("stale %s survived the rerun", name)
		}
	}
	if _, ok := files[pinnedDir("medipim-sim", "csv", "r1")+ManifestName]; !ok {
		t.Errorf("no %s after the rerun", ManifestName)
	}
	if n := bytes.Count(files[pinnedDir("medipim-sim", "jsonl", "r1")+"users.jsonl"], []byte("\n")); n != 25 {
		t.Errorf("rerun wrote %d rows, want 25", n)
	}
}

func TestRunInterruptedLeavesNoOutput(t *testing.T) {
	out := t.TempDir()
	cfg := parseTestConfig(t, simulatorJobs, out)
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once the first request is under way: with latency every page is slow.
	time.AfterFunc(300*time.Millisecond, cancel)
	sum, err := Run(ctx, cfg, Options{
		RunID: "r1", Now: pinnedNow,
		Simulator: simulator.Options{Users: 500, Seed: 1, Latency: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusInterrupted {
		t.Fatalf("status %q, want interrupted", sum.Status)
	}
	if files := listFiles(t, out); len(files) != 0 {
		t.Errorf("an interrupted run left files: %v", keys(files))
	}
}

func TestShardOfIsStableAndSelectsDisjointSets(t *testing.T) {
	cfg := &Config{File: "jobs.yaml"}
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		cfg.Jobs = append(cfg.Jobs, Job{Name: n})
	}
	seen := map[string]int{}
	for i := range 3 {
		jobs, err := SelectJobs(cfg, nil, Shard{Index: i, Count: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			seen[j.Name]++
			if ShardOf(j.Name, 3) != i {
				t.Errorf("%s in shard %d, hash says %d", j.Name, i, ShardOf(j.Name, 3))
			}
		}
	}
	if len(seen) != 7 {
		t.Errorf("shards covered %d of 7 jobs", len(seen))
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("%s selected by %d shards", n, c)
		}
	}
	if _, err := SelectJobs(cfg, []string{"nope"}, Shard{}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown --job: %v", err)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestRunFailedCommitTakesBackCommittedFormats(t *testing.T) {
	out := t.TempDir()
	// A folder where users.parquet should go makes the last format's
	// commit (a rename) fail after JSONL and CSV were committed.
	blocker := filepath.Join(out, pinnedDir("medipim-sim", "parquet", "r1"), "users.parquet", "x")
	if err := os.MkdirAll(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := parseTestConfig(t, `
version: 1
output: {destination: {{out}}}
jobs:
  - {name: medipim-sim, provider: medipim, base_url: simulator, rate_limit: 1000/1s}
`, out)
	sum := runPinned(t, context.Background(), cfg, 20)
	if sum.Status != StatusFailed {
		t.Fatalf("status %q, want failed", sum.Status)
	}
	for name := range listFiles(t, out) {
		t.Errorf("a failed commit left %s", name)
	}
}

// TestRunRecoversFromInjectedFaults runs both providers against the
// simulator failing a share of requests with 429 (Retry-After), 500 and
// hung requests: retries must still deliver every user exactly once.
func TestRunRecoversFromInjectedFaults(t *testing.T) {
	faults, err := simulator.ParseFaults("429:0.15,500:0.1,timeout:0.05")
	if err != nil {
		t.Fatal(err)
	}
	sim, err := simulator.Start("127.0.0.1:0", simulator.Options{Users: 600, Seed: 3, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	out := t.TempDir()
	retry := `timeout: 300ms, retry: {max_attempts: 10, max_backoff: 20ms}, rate_limit: 1000/1s, max_in_flight: 3`
	cfg := parseTestConfig(t, `
version: 1
output: {destination: {{out}}, formats: [jsonl]}
jobs:
  - {name: m, provider: medipim, page_size: 50, base_url: `+sim.BaseURL("medipim")+`, `+retry+`}
  - {name: n, provider: nameshield, page_size: 40, base_url: `+sim.BaseURL("nameshield")+`, `+retry+`}
`, out)
	sum := runPinned(t, context.Background(), cfg, 0)
	if sum.Status != StatusSucceeded {
		t.Fatalf("status %q: %+v", sum.Status, sum.Jobs)
	}
	files := listFiles(t, out)
	for _, job := range []string{"m", "n"} {
		body := files[pinnedDir(job, "jsonl", "r1")+"users.jsonl"]
		ids := map[string]bool{}
		for _, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
			var row struct{ ID string }
			if err := json.Unmarshal(line, &row); err != nil {
				t.Fatal(err)
			}
			ids[row.ID] = true
		}
		if len(ids) != 600 {
			t.Errorf("job %s: %d distinct users, want 600", job, len(ids))
		}
	}
}

// recordingProgress keeps the last count each job reported.
type recordingProgress struct {
	mu       sync.Mutex
	started  []string
	last     map[string]int64
	total    map[string]int64
	finished map[string]error
}

func (p *recordingProgress) JobStarted(job string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started = append(p.started, job)
}

func (p *recordingProgress) Records(job string, n int64, total schema.Null[int64]) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n < p.last[job] {
		p.last[job] = -1 // counts must only grow
		return
	}
	p.last[job], p.total[job] = n, total.V
}

func (p *recordingProgress) JobFinished(job string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished[job] = err
}

func TestRunReportsProgressPerJob(t *testing.T) {
	p := &recordingProgress{last: map[string]int64{}, total: map[string]int64{}, finished: map[string]error{}}
	_, err := Run(context.Background(), parseTestConfig(t, simulatorJobs, t.TempDir()), Options{
		RunID: "r1", Now: pinnedNow, Progress: p, Simulator: simulator.Options{Users: 250, Seed: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(p.started)
	if !slices.Equal(p.started, []string{"medipim-sim", "nameshield-sim"}) {
		t.Errorf("started %v", p.started)
	}
	for _, job := range p.started {
		if p.last[job] != 250 || p.total[job] != 250 {
			t.Errorf("%s: last count %d of %d, want 250 of 250", job, p.last[job], p.total[job])
		}
		if err, ok := p.finished[job]; !ok || err != nil {
			t.Errorf("%s: finished %v, %v", job, ok, err)
		}
	}
}
