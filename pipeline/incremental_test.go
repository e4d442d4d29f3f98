package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/miniotest"
	"github.com/saas-export/export/sources/simulator"
)

// incrementalJobs are the providers an incremental job can read, each in
// the way its API allows: a server-side filter (kare, requestor), newest
// first with an early stop (nameshield), or the whole listing filtered
// here (medipim).
var incrementalJobs = []struct{ name, provider, extra string }{
	{"kare", "kare", `auth: {type: bearer, token: t, headers: {x-session-token: s}}`},
	{"medipim", "medipim", `auth: {type: basic, username: u, password: p}`},
	{"nameshield", "nameshield", `auth: {type: bearer, token: t}, max_in_flight: 3, page_size: 100`},
	{"requestor-json", "requestor", `auth: {type: basic, username: u, password: p}, wire_format: json`},
	{"requestor-xml", "requestor", `auth: {type: basic, username: u, password: p}, wire_format: xml`},
}

// stateBackend is where a test keeps its incremental state.
type stateBackend struct {
	dir  string
	s3   S3
	yaml string                                // the state: section
	read func(t *testing.T, key string) []byte // nil when absent
}

func localState(t *testing.T) stateBackend {
	dir := t.TempDir()
	return stateBackend{
		dir:  dir,
		yaml: fmt.Sprintf("state: {dir: %q}\n", dir),
		read: func(t *testing.T, key string) []byte {
			b, err := os.ReadFile(filepath.Join(dir, key))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			return b
		},
	}
}

func minioState(t *testing.T, srv *miniotest.Server) stateBackend {
	bucket := srv.NewBucket(t)
	return stateBackend{
		dir:  "s3://" + bucket + "/state",
		s3:   S3{Endpoint: srv.Endpoint, ForcePathStyle: true, PartSize: 5 << 20, UploadConcurrency: 1},
		yaml: fmt.Sprintf("state: {dir: s3://%s/state, s3: {endpoint: %q, force_path_style: true}}\n", bucket, srv.Endpoint),
		read: func(t *testing.T, key string) []byte {
			if !slices.Contains(srv.Keys(t, bucket, "state/"), "state/"+key) {
				return nil
			}
			return srv.Get(t, bucket, "state/"+key)
		},
	}
}

// incrementalRig is one job's simulator, state and output, and the runs
// made against them.
type incrementalRig struct {
	t     *testing.T
	sim   *simulator.Server
	out   string
	cfg   *Config
	state stateBackend
	job   string
}

func newIncrementalRig(t *testing.T, state stateBackend, name, provider, extra string, users int) *incrementalRig {
	sim, err := simulator.Start("127.0.0.1:0", simulator.Options{Users: users, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	out := t.TempDir()
	cfg := parseTestConfig(t, fmt.Sprintf(`version: 1
output: {destination: "{{out}}", formats: [jsonl, parquet]}
%sjobs:
  - {name: %s, provider: %s, base_url: %s, incremental: true, rate_limit: 100000/1s,
     retry: {max_attempts: 2, max_backoff: 10ms}, %s}
`, state.yaml, name, provider, sim.BaseURL(provider), extra), out)
	return &incrementalRig{t: t, sim: sim, out: out, cfg: cfg, state: state, job: name}
}

// run runs the job as run id and returns its result.
func (r *incrementalRig) run(runID string, opts Options) JobResult {
	r.t.Helper()
	opts.RunID, opts.Now = runID, pinnedNow
	sum, err := Run(context.Background(), r.cfg, opts)
	if err != nil {
		r.t.Fatal(err)
	}
	return sum.Jobs[0]
}

// exported returns the ids a committed run wrote, sorted, and its manifest.
func (r *incrementalRig) exported(runID string) ([]string, Manifest) {
	r.t.Helper()
	dir := filepath.Join(r.out, pinnedDir(r.job, "jsonl", runID))
	var m Manifest
	body, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		r.t.Fatalf("run %s: %v", runID, err)
	}
	if err := json.Unmarshal(body, &m); err != nil {
		r.t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, SuccessName)); err != nil {
		r.t.Fatalf("run %s: no %s: %v", runID, SuccessName, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "users.jsonl"))
	if err != nil {
		r.t.Fatal(err)
	}
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var u struct{ ID string }
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
			r.t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	return ids, m
}

func (r *incrementalRig) readState() *JobState {
	r.t.Helper()
	body := r.state.read(r.t, stateKey(r.job))
	if body == nil {
		return nil
	}
	var st JobState
	if err := json.Unmarshal(body, &st); err != nil {
		r.t.Fatalf("state: %v\n%s", err, body)
	}
	return &st
}

// touch changes k users and waits until their update time is a second
// behind: a run that began in the same second could not tell a later
// change in it (see window), and would export them again next time.
func (r *incrementalRig) touch(provider string, k int) []string {
	ids := r.sim.Touch(provider, k)
	time.Sleep(1100 * time.Millisecond)
	return slices.Sorted(slices.Values(ids))
}

func succeeded(t *testing.T, res JobResult) {
	t.Helper()
	if res.Status != StatusSucceeded {
		t.Fatalf("%s: %s: %s", res.Job, res.Status, res.Error)
	}
}

// TestIncrementalRuns walks every incremental provider through the life
// of a nightly job, with its state on local disk and in MinIO: a first run
// exports everyone, an unchanged rerun no one (and still commits), a
// change of 3 users exactly those 3, a failed run leaves the state as it
// was, and --full exports everyone again.
func TestIncrementalRuns(t *testing.T) {
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	for _, store := range []string{"local", "minio"} {
		for _, j := range incrementalJobs {
			t.Run(store+"/"+j.name, func(t *testing.T) {
				t.Parallel()
				state := localState(t)
				if store == "minio" {
					state = minioState(t, srv)
				}
				rig := newIncrementalRig(t, state, j.name, j.provider, j.extra, 700)
				everyone := slices.Sorted(slices.Values(rig.sim.IDs(j.provider)))

				res := rig.run("r1", Options{})
				succeeded(t, res)
				ids, m := rig.exported("r1")
				if !slices.Equal(ids, everyone) || m.Incremental.Since != nil {
					t.Fatalf("first run: %d users (want %d), since %v (want null)", len(ids), len(everyone), m.Incremental.Since)
				}
				if res.Incremental == nil || res.Incremental.Since != nil {
					t.Errorf("first run's summary: incremental %+v, want {since: null}", res.Incremental)
				}
				st1 := rig.readState()
				if st1 == nil || st1.Cursor == nil || st1.RunID != "r1" || !strings.HasSuffix(st1.Manifest, "/run=r1/"+ManifestName) {
					t.Fatalf("state after the first run: %+v", st1)
				}

				res = rig.run("r2", Options{})
				succeeded(t, res)
				ids, m = rig.exported("r2")
				wantSince := st1.Cursor.Add(-5 * time.Minute)
				if len(ids) != 0 || res.Records != 0 || m.Records != 0 || m.Incremental.Since == nil || !m.Incremental.Since.Equal(wantSince) {
					t.Fatalf("unchanged rerun: %d users, manifest records %d, since %v; want 0 users since %v", len(ids), m.Records, m.Incremental.Since, wantSince)
				}
				st2 := rig.readState()
				if st2.RunID != "r2" || !st2.Cursor.Equal(*st1.Cursor) {
					t.Errorf("state after the unchanged rerun: run %s cursor %v; want r2, cursor unchanged %v", st2.RunID, st2.Cursor, st1.Cursor)
				}

				touched := rig.touch(j.provider, 3)
				succeeded(t, rig.run("r3", Options{}))
				if ids, _ = rig.exported("r3"); !slices.Equal(ids, touched) {
					t.Fatalf("after touching %v, the run exported %v", touched, ids)
				}

				touched = rig.touch(j.provider, 2)
				before := rig.state.read(t, stateKey(j.name))
				broken := *rig.cfg
				broken.Jobs = slices.Clone(rig.cfg.Jobs)
				broken.Jobs[0].BaseURL = "http://127.0.0.1:1" // nothing listens there
				sum, err := Run(context.Background(), &broken, Options{RunID: "r4", Now: pinnedNow})
				if err != nil || sum.Jobs[0].Status != StatusFailed {
					t.Fatalf("a run against a dead API: %v %+v", err, sum)
				}
				if after := rig.state.read(t, stateKey(j.name)); !bytes.Equal(before, after) {
					t.Fatalf("a failed run changed the state:\nbefore %s\nafter  %s", before, after)
				}
				succeeded(t, rig.run("r5", Options{}))
				if ids, _ = rig.exported("r5"); !slices.Equal(ids, touched) {
					t.Fatalf("after a failed run and touching %v, the run exported %v", touched, ids)
				}

				succeeded(t, rig.run("r6", Options{Full: true}))
				ids, m = rig.exported("r6")
				if !slices.Equal(ids, everyone) || m.Incremental.Since != nil {
					t.Fatalf("--full: %d users (want %d), since %v (want null)", len(ids), len(everyone), m.Incremental.Since)
				}
				if st := rig.readState(); st.RunID != "r6" {
					t.Errorf("--full did not reset the state: run %s", st.RunID)
				}
			})
		}
	}
}
