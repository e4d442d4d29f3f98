package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/saas-export/export/internal/miniotest"
	"github.com/saas-export/export/internal/outputcheck"
	"github.com/saas-export/export/pipeline"
	"github.com/saas-export/export/sources/simulator"
)

// stateHold makes the CLI's next state write wait until the test lets it
// go or the CLI dies, so that a kill lands between the job's commit and
// its state write every time.
type stateHold struct {
	yaml    string // the jobs.yaml state: section
	hold    func(t *testing.T)
	release func()
	read    func(t *testing.T, key string) []byte
	waiting func() bool // a state write is held right now
}

// localHold holds the lock file the local state store takes around a
// compare-and-swap (gofrs/flock, as the store does).
func localHold(t *testing.T) stateHold {
	dir := t.TempDir()
	lock := flock.New(filepath.Join(dir, "kare.state.json.lock"))
	return stateHold{
		yaml: fmt.Sprintf("state: {dir: %q}\n", dir),
		hold: func(t *testing.T) {
			if err := lock.Lock(); err != nil {
				t.Fatal(err)
			}
		},
		release: func() { _ = lock.Unlock() },
		read: func(t *testing.T, key string) []byte {
			b, _ := os.ReadFile(filepath.Join(dir, key))
			return b
		},
		// The store creates the state's temporary file only once it has
		// the lock: while it waits, there is nothing to see but the lock.
		waiting: func() bool { return true },
	}
}

// s3Hold puts a proxy in front of MinIO that delays PUTs of state
// objects, and forwards none whose client has gone.
func s3Hold(t *testing.T, srv *miniotest.Server) stateHold {
	bucket := srv.NewBucket(t)
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var held, waiting atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0) // the killed client's requests end in errors
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, ".state.json") {
			waiting.Store(true)
			for held.Load() {
				select {
				case <-r.Context().Done():
					return // the client died: its write never reaches the store
				case <-time.After(10 * time.Millisecond):
				}
			}
			waiting.Store(false)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return stateHold{
		yaml:    fmt.Sprintf("state: {dir: s3://%s/state, s3: {endpoint: %q, force_path_style: true}}\n", bucket, front.URL),
		hold:    func(*testing.T) { held.Store(true) },
		release: func() { held.Store(false) },
		read: func(t *testing.T, key string) []byte {
			if !slices.Contains(srv.Keys(t, bucket, "state/"), "state/"+key) {
				return nil
			}
			return srv.Get(t, bucket, "state/"+key)
		},
		waiting: waiting.Load,
	}
}

// TestSIGKILLBetweenCommitAndStateWrite kills the real CLI after an
// incremental job committed its export (_SUCCESS is there) but before its
// state was written, on local disk and on MinIO. The state must be as it
// was, the committed folder whole, and the next run must take over the
// dead run's lease at once and export the same changes again: twice,
// never lost.
func TestSIGKILLBetweenCommitAndStateWrite(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	cli := buildCLI(t)
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	for _, store := range []string{"local", "minio"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			hold := localHold(t)
			if store == "minio" {
				hold = s3Hold(t, srv)
			}
			sim, err := simulator.Start("127.0.0.1:0", simulator.Options{Users: 400, Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sim.Close() })
			out := t.TempDir()
			cfgPath := filepath.Join(t.TempDir(), "jobs.yaml")
			cfg := fmt.Sprintf(`version: 1
output: {destination: %q, formats: [jsonl, parquet]}
%sjobs:
  - {name: kare, provider: kare, base_url: %s, incremental: true, rate_limit: 100000/1s,
     auth: {type: bearer, token: t, headers: {x-session-token: s}}}
`, out, hold.yaml, sim.BaseURL("kare"))
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			run := func(runID string) *exec.Cmd {
				cmd := exec.Command(cli, "run", "-c", cfgPath, "--run-id", runID, "--now", "2026-03-04T05:00:00Z", "--output", "json")
				cmd.Stderr = &bytes.Buffer{}
				cmd.Stdout = &bytes.Buffer{}
				return cmd
			}
			summary := func(cmd *exec.Cmd) pipeline.JobResult {
				var sum pipeline.Summary
				if err := json.Unmarshal(cmd.Stdout.(*bytes.Buffer).Bytes(), &sum); err != nil || len(sum.Jobs) != 1 {
					t.Fatalf("summary: %v\nstdout %s\nstderr %s", err, cmd.Stdout, cmd.Stderr)
				}
				return sum.Jobs[0]
			}
			// The JSONL folder: the state is saved after it and the Parquet one are committed.
			folder := func(runID string) string { return filepath.Join(out, "kare", "jsonl", "dt=2026-03-04", "run="+runID) }

			first := run("r1")
			if err := first.Run(); err != nil {
				t.Fatalf("first run: %v\n%s", err, first.Stderr)
			}
			before := hold.read(t, "kare.state.json")
			if before == nil {
				t.Fatal("the first run saved no state")
			}
			touched := sim.Touch("kare", 3)
			slices.Sort(touched)
			time.Sleep(1100 * time.Millisecond) // see incrementalRig.touch in pipeline

			hold.hold(t)
			killed := run("r2")
			if err := killed.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := os.Stat(filepath.Join(folder("r2"), pipeline.SuccessName)); err == nil && hold.waiting() {
					break
				}
				if time.Now().After(deadline) {
					_ = killed.Process.Kill()
					t.Fatalf("the run never reached its state write\n%s", killed.Stderr)
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // well inside the held write
			if err := killed.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = killed.Wait()
			hold.release()

			if after := hold.read(t, "kare.state.json"); !bytes.Equal(after, before) {
				t.Fatalf("the killed run changed the state:\nbefore %s\nafter  %s", before, after)
			}
			tree, err := outputcheck.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			var check outputcheck.Checker
			if r := check.Check(tree); len(r.Problems) > 0 {
				t.Fatalf("broken output after the kill:\n%s", strings.Join(r.Problems, "\n"))
			}
			if ids := jsonlIDs(t, filepath.Join(folder("r2"), "users.jsonl")); !slices.Equal(ids, touched) {
				t.Fatalf("the killed run committed %v, want the touched %v", ids, touched)
			}

			rerun := run("r3")
			t0 := time.Now()
			if err := rerun.Run(); err != nil {
				t.Fatalf("the run after the kill: %v\n%s", err, rerun.Stderr)
			}
			if res := summary(rerun); res.Status != pipeline.StatusSucceeded || res.Records != 3 {
				t.Fatalf("the run after the kill: %+v", res)
			}
			if ids := jsonlIDs(t, filepath.Join(folder("r3"), "users.jsonl")); !slices.Equal(ids, touched) {
				t.Fatalf("the run after the kill exported %v, want the same %v again", ids, touched)
			}
			t.Logf("the run after the kill took the dead run's lease and finished in %v", time.Since(t0).Round(time.Millisecond))
			var st pipeline.JobState
			if err := json.Unmarshal(hold.read(t, "kare.state.json"), &st); err != nil || st.RunID != "r3" {
				t.Fatalf("state after the rerun: %+v %v", st, err)
			}
		})
	}
}

func jsonlIDs(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for line := range bytes.Lines(data) {
		var u struct{ ID string }
		if err := json.Unmarshal(line, &u); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	return ids
}
