package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saas-export/export/internal/miniotest"
	"github.com/saas-export/export/sinks"
	"github.com/saas-export/export/sources/simulator"
)

// stateRig is one Kare job with incremental state in a real store: a
// directory or a MinIO bucket, which the test also writes to directly.
type stateRig struct {
	*incrementalRig
	store sinks.Versioned
}

func newStateRig(t *testing.T, backend string, srv *miniotest.Server, latency time.Duration, stateExtra string) *stateRig {
	t.Helper()
	sim, err := simulator.Start("127.0.0.1:0", simulator.Options{Users: 300, Seed: 5, Latency: latency})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	state := localState(t)
	if backend == "minio" {
		state = minioState(t, srv)
	}
	state.yaml = strings.Replace(state.yaml, "state: {", "state: {"+stateExtra, 1)
	out := t.TempDir()
	cfg := parseTestConfig(t, fmt.Sprintf(`version: 1
output: {destination: "{{out}}", formats: [jsonl]}
%sjobs:
  - {name: kare, provider: kare, base_url: %s, incremental: true, rate_limit: 100000/1s, max_in_flight: 1, page_size: 50,
     auth: {type: bearer, token: t, headers: {x-session-token: s}}}
`, state.yaml, sim.BaseURL("kare")), out)
	store, err := OpenStore(context.Background(), Output{Destination: state.dir, S3: state.s3})
	if err != nil {
		t.Fatal(err)
	}
	return &stateRig{
		incrementalRig: &incrementalRig{t: t, sim: sim, out: out, cfg: cfg, state: state, job: "kare"},
		store:          store.(sinks.Versioned),
	}
}

// put writes a state-dir object as another process would: v as JSON,
// or as it is when it is []byte.
func (r *stateRig) put(key string, v any) {
	r.t.Helper()
	body, ok := v.([]byte)
	if !ok {
		var err error
		if body, err = json.Marshal(v); err != nil {
			r.t.Fatal(err)
		}
	}
	_, version, err := r.store.Get(context.Background(), key)
	if err != nil {
		version = ""
	}
	if _, err := r.store.Put(context.Background(), key, body, version); err != nil {
		r.t.Fatal(err)
	}
}

func forEachStateStore(t *testing.T, fn func(t *testing.T, backend string, srv *miniotest.Server)) {
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	for _, backend := range []string{"local", "minio"} {
		t.Run(backend, func(t *testing.T) { t.Parallel(); fn(t, backend, srv) })
	}
}

// Two runs of one job at once: the second fails at once, naming the job
// and the run that holds it, and the state is advanced once.
func TestConcurrentRunsOfAJobNeverBothAdvanceItsState(t *testing.T) {
	forEachStateStore(t, func(t *testing.T, backend string, srv *miniotest.Server) {
		rig := newStateRig(t, backend, srv, 30*time.Millisecond, "")
		var wg sync.WaitGroup
		results := map[string]JobResult{}
		var mu sync.Mutex
		start := make(chan struct{})
		for _, id := range []string{"a", "b"} {
			wg.Go(func() {
				<-start
				sum, err := Run(context.Background(), rig.cfg, Options{RunID: id, Now: pinnedNow})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				results[id] = sum.Jobs[0]
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		var won, lost []JobResult
		for _, res := range results {
			if res.Status == StatusSucceeded {
				won = append(won, res)
			} else {
				lost = append(lost, res)
			}
		}
		if len(won) != 1 || len(lost) != 1 {
			t.Fatalf("want one run to succeed and one to fail, got %+v", results)
		}
		winner := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(filepath.Dir(won[0].Manifest)), "run="), "/")
		msg := lost[0].Error
		for _, want := range []string{`job "kare"`, "another run of the job holds its state", "run " + winner, "pid"} {
			if !strings.Contains(msg, want) {
				t.Errorf("the refused run's error does not say %q: %s", want, msg)
			}
		}
		if lost[0].Requests != 0 {
			t.Errorf("the refused run sent %d requests; it should fail before any", lost[0].Requests)
		}
		if st := rig.readState(); st == nil || st.RunID != winner {
			t.Errorf("state written by %+v, want run %s", st, winner)
		}
	})
}

// A lease held by a live run elsewhere is waited for, up to lock_wait;
// an expired one, or one whose process on this host is gone, is taken
// over at once.
func TestLeases(t *testing.T) {
	host, _ := os.Hostname()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	cases := []struct {
		name      string
		lease     Lease
		lockWait  string
		releaseIn time.Duration // the test releases the lease after this; 0: never
		wantErr   string
	}{
		{name: "live elsewhere, no wait",
			lease:   Lease{Job: "kare", RunID: "other", Host: "batch-7", PID: 42, AcquiredAt: now, ExpiresAt: now.Add(time.Hour)},
			wantErr: "another run of the job holds its state: run other (host batch-7, pid 42)"},
		{name: "live elsewhere, released while waiting",
			lease:    Lease{Job: "kare", RunID: "other", Host: "batch-7", PID: 42, AcquiredAt: now, ExpiresAt: now.Add(time.Hour)},
			lockWait: "lock_wait: 20s, ", releaseIn: 500 * time.Millisecond},
		{name: "live elsewhere, not released in time",
			lease:    Lease{Job: "kare", RunID: "other", Host: "batch-7", PID: 42, AcquiredAt: now, ExpiresAt: now.Add(time.Hour)},
			lockWait: "lock_wait: 1500ms, ", wantErr: "state.lock_wait: 1.5s"},
		{name: "expired elsewhere",
			lease: Lease{Job: "kare", RunID: "other", Host: "batch-7", PID: 42, AcquiredAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}},
		{name: "its process on this host is gone",
			lease: Lease{Job: "kare", RunID: "killed", Host: host, PID: dead.Process.Pid, Process: "x", AcquiredAt: now, ExpiresAt: now.Add(time.Hour)}},
		{name: "this pid, an earlier process (a restarted container)",
			lease: Lease{Job: "kare", RunID: "killed", Host: host, PID: os.Getpid(), Process: "earlier", AcquiredAt: now, ExpiresAt: now.Add(time.Hour)}},
	}
	forEachStateStore(t, func(t *testing.T, backend string, srv *miniotest.Server) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				rig := newStateRig(t, backend, srv, 0, c.lockWait)
				rig.put(leaseKey("kare"), c.lease)
				if c.releaseIn > 0 {
					time.AfterFunc(c.releaseIn, func() {
						released := c.lease
						released.Released = true
						rig.put(leaseKey("kare"), released)
					})
				}
				res := rig.run("r1", Options{})
				if c.wantErr == "" {
					succeeded(t, res)
					var l Lease
					if err := json.Unmarshal(rig.state.read(t, leaseKey("kare")), &l); err != nil || !l.Released || l.RunID != "r1" {
						t.Errorf("after the run the lease is %+v (%v); want released by r1", l, err)
					}
					return
				}
				if res.Status != StatusFailed || !strings.Contains(res.Error, c.wantErr) {
					t.Fatalf("got %s %q, want a failure saying %q", res.Status, res.Error, c.wantErr)
				}
				if rig.readState() != nil {
					t.Error("a refused run wrote state")
				}
			})
		}
	})
}

// A lease another run takes over while this one goes on (it was not
// renewed in time, say) stops this run before it saves state.
func TestLostLeaseStopsTheRunBeforeItSavesState(t *testing.T) {
	forEachStateStore(t, func(t *testing.T, backend string, srv *miniotest.Server) {
		// Two reads of 7 pages (6 of 50 users, one of deleted users), one
		// at a time, 250ms each: 3.5s at least. Renewals come every second,
		// the takeover at 1.5s.
		rig := newStateRig(t, backend, srv, 250*time.Millisecond, "lease_ttl: 3s, ")
		time.AfterFunc(1500*time.Millisecond, func() {
			now := time.Now().UTC()
			rig.put(leaseKey("kare"), Lease{Job: "kare", RunID: "usurper", Host: "elsewhere", PID: 1, AcquiredAt: now, ExpiresAt: now.Add(time.Hour)})
		})
		res := rig.run("r1", Options{})
		if res.Status != StatusFailed || !strings.Contains(res.Error, "lost the lease") {
			t.Fatalf("got %s %q, want a failure saying the lease was lost", res.Status, res.Error)
		}
		if rig.readState() != nil {
			t.Error("a run that lost its lease saved state")
		}
	})
}

// State that cannot be read as this build's fails the job, naming the
// file, and exports nothing; --full replaces it.
func TestUnreadableStateIsAnErrorNotAFullExport(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"not JSON", `{"version": 1, "cursor": "2026-`, "is corrupt"},
		{"no version", `{"job": "kare"}`, "is corrupt (no version)"},
		{"unknown field", `{"version": 1, "job": "kare", "provider": "kare", "cursor": null, "boundary": [], "colour": 1}`, "is corrupt"},
		{"newer version", `{"version": 2, "job": "kare"}`, "has version 2, written by a newer export (this one reads version 1)"},
		{"another provider", `{"version": 1, "job": "kare", "provider": "medipim", "cursor": null, "boundary": []}`, "was written for provider medipim"},
	}
	forEachStateStore(t, func(t *testing.T, backend string, srv *miniotest.Server) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				rig := newStateRig(t, backend, srv, 0, "")
				rig.put(stateKey("kare"), []byte(c.body))
				res := rig.run("r1", Options{})
				if res.Status != StatusFailed || !strings.Contains(res.Error, c.want) || !strings.Contains(res.Error, "kare.state.json") {
					t.Fatalf("got %s %q, want a failure naming kare.state.json and saying %q", res.Status, res.Error, c.want)
				}
				if res.Requests != 0 {
					t.Errorf("the job sent %d requests with unreadable state", res.Requests)
				}
				if got := string(rig.state.read(t, stateKey("kare"))); got != c.body {
					t.Errorf("the state changed to %s", got)
				}
				succeeded(t, rig.run("r2", Options{Full: true}))
				if st := rig.readState(); st == nil || st.RunID != "r2" || st.Version != stateVersion {
					t.Errorf("--full left state %+v", st)
				}
			})
		}
	})
}
