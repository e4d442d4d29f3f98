package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/saas-export/export/internal/miniotest"
	"github.com/saas-export/export/internal/outputcheck"
	"github.com/saas-export/export/pipeline"
)

// killPoints is how many runs each store sees killed. A run may end
// before its kill comes; it is checked too, but does not count.
const killPoints = 20

// killUsers is how many users each job exports. Nameshield's come from
// a larger population: its users.jsonl, with raw records, is a multipart
// upload of two 5 MiB parts.
var killUsers = map[string]int{"kare": 1500, "medipim": 1500, "nameshield": 5000, "requestor": 1500}

// killJobNames are the jobs of killJobs, in order.
var killJobNames = []string{"kare", "medipim", "nameshield", "requestor"}

// killJobs is the jobs.yaml of the test: rotating files (maxRows varies
// between runs, so a rerun leaves stale files to remove), compressed and
// plain text, Parquet, and one large file. sim and bigSim are the base
// URLs of the simulators.
func killJobs(destination, s3Settings, sim, bigSim string, maxRows int) string {
	return fmt.Sprintf(`version: 1
concurrency: 4
output:
  destination: %s
  max_rows_per_file: %d%s
jobs:
  - {name: kare, provider: kare, base_url: %[4]s/kare, rate_limit: 100000/1s,
     auth: {type: bearer, token: t, headers: {x-session-token: s}}}
  - {name: medipim, provider: medipim, base_url: %[4]s/medipim, rate_limit: 100000/1s,
     auth: {type: basic, username: u, password: p}, output: {compression: {jsonl: gzip, csv: zstd}}}
  - {name: nameshield, provider: nameshield, base_url: %[5]s/nameshield, rate_limit: 100000/1s,
     auth: {type: bearer, token: t}, output: {formats: [jsonl], max_rows_per_file: 1000000, include_raw: true}}
  - {name: requestor, provider: requestor, base_url: %[4]s/requestor, rate_limit: 100000/1s,
     auth: {type: basic, username: u, password: p}, output: {formats: [parquet, csv]}}
`, destination, maxRows, s3Settings, sim, bigSim)
}

// killTarget is one store the test kills runs of: where a destination
// (a folder name of the test's) lives, and how to look at it.
type killTarget struct {
	s3Settings string // lines of jobs.yaml under output
	// destination is the jobs.yaml destination for folder.
	destination func(folder string) string
	// tree reads every file or object under folder.
	tree func(t *testing.T, folder string) outputcheck.Tree
	// names lists the names in one job folder, cheaply enough to poll
	// while a run goes on; an error reads as an empty folder.
	names func(folder, jobDir string) []string
	// read reads one file, nil if it cannot.
	read func(folder, key string) []byte
	// pending lists multipart uploads in progress under folder.
	pending func(t *testing.T, folder string) []string
}

func localTarget(t *testing.T) killTarget {
	root := t.TempDir()
	return killTarget{
		destination: func(folder string) string { return filepath.Join(root, folder) },
		tree: func(t *testing.T, folder string) outputcheck.Tree {
			tree, err := outputcheck.ReadDir(filepath.Join(root, folder))
			if err != nil {
				t.Fatal(err)
			}
			return tree
		},
		names: func(folder, jobDir string) []string {
			entries, _ := os.ReadDir(filepath.Join(root, folder, filepath.FromSlash(jobDir)))
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			return names
		},
		read: func(folder, key string) []byte {
			b, _ := os.ReadFile(filepath.Join(root, folder, filepath.FromSlash(key)))
			return b
		},
		pending: func(*testing.T, string) []string { return nil },
	}
}

func s3Target(t *testing.T, srv *miniotest.Server) killTarget {
	bucket := srv.NewBucket(t)
	client := srv.Client(t)
	return killTarget{
		s3Settings:  fmt.Sprintf("\n  s3: {endpoint: %q, force_path_style: true, part_size: 5MiB}", srv.Endpoint),
		destination: func(folder string) string { return "s3://" + bucket + "/" + folder },
		tree: func(t *testing.T, folder string) outputcheck.Tree {
			tree := outputcheck.Tree{}
			for _, key := range srv.Keys(t, bucket, folder+"/") {
				tree[strings.TrimPrefix(key, folder+"/")] = srv.Get(t, bucket, key)
			}
			return tree
		},
		names: func(folder, jobDir string) []string {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			prefix := folder + "/" + jobDir + "/"
			out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
			if err != nil {
				return nil
			}
			var names []string
			for _, o := range out.Contents {
				names = append(names, strings.TrimPrefix(aws.ToString(o.Key), prefix))
			}
			return names
		},
		read: func(folder, key string) []byte {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(folder + "/" + key)})
			if err != nil {
				return nil
			}
			defer obj.Body.Close()
			b, err := io.ReadAll(obj.Body)
			if err != nil {
				return nil
			}
			return b
		},
		pending: func(t *testing.T, folder string) []string {
			var keys []string
			for _, key := range srv.PendingUploads(t, bucket) {
				if strings.HasPrefix(key, folder+"/") {
					keys = append(keys, key)
				}
			}
			return keys
		},
	}
}

// TestRunSIGKILLLeavesNoBrokenOutput kills the real CLI with SIGKILL at
// random points of runs to a local directory and to MinIO: while pages
// are read and encoded, while data files are committed, between the data
// and the markers, and during reruns with the same --run-id over a
// committed run. After every kill, no file at a final name may be
// partial, no _SUCCESS may stand without a manifest, and no manifest may
// describe files other than those beside it. The next run with the same
// run id must then succeed and leave every folder complete, with no
// temporary file of the killed run left.
//
// The points are drawn from a seed, logged; EXPORT_KILL_SEED replays a
// sequence, though where exactly a kill lands depends on timing too.
func TestRunSIGKILLLeavesNoBrokenOutput(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	if testing.Short() {
		t.Skip("kills many runs; skipped with -short")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("EXPORT_KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("EXPORT_KILL_SEED: %v", err)
		}
	}
	t.Logf("kill seed %d (replay with EXPORT_KILL_SEED=%d)", seed, seed)

	cli := buildCLI(t)
	sim := startSimulator(t, cli, killUsers["kare"])
	bigSim := startSimulator(t, cli, killUsers["nameshield"])
	srv := miniotest.Start(t)
	srv.SetEnv(t) // the children inherit it; the subtests only read it

	for i, store := range []string{"local", "s3"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			target := localTarget(t)
			if store == "s3" {
				target = s3Target(t, srv)
			}
			k := &killer{t: t, cli: cli, sim: sim, bigSim: bigSim, target: target, rng: rand.New(rand.NewPCG(seed, uint64(i)))}
			k.run()
		})
	}
}

// buildCLI builds the CLI without the race detector, which would make
// every run several times slower; the test's own process keeps it.
func buildCLI(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go") // go test puts its own go first on PATH
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "export")
	t0 := time.Now()
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the CLI in %v", time.Since(t0).Round(time.Millisecond))
	return bin
}

// startSimulator runs `export simulate` in a process of its own, so that
// serving pages costs the test's process nothing, and returns its URL. A
// shell minds it: it stops the simulator once its stdin, a pipe from the
// test, closes, which happens too if the test's process dies.
func startSimulator(t *testing.T, cli string, users int) string {
	t.Helper()
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", `"$0" simulate --addr 127.0.0.1:0 --users "$1" </dev/null & read -r _; kill $!`, cli, strconv.Itoa(users))
	cmd.Stdin, cmd.Stdout = stdinR, stdoutW // files: Wait copies nothing
	err = cmd.Start()
	_, _ = stdinR.Close(), stdoutW.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdinW.Close()
		_ = cmd.Wait()
		_ = stdoutR.Close()
	})
	// The base URLs follow; the pipe holds them, and nothing else comes.
	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	m := regexp.MustCompile(`listening on (http://\S+) `).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("simulate printed %q (%v)", line, err)
	}
	return m[1]
}

// killer runs one store's sequence of killed runs and recoveries.
type killer struct {
	t           *testing.T
	cli         string
	sim, bigSim string
	target      killTarget
	rng         *rand.Rand
	check       outputcheck.Checker

	killed   int           // runs killed so far, which gives each its own clock
	duration time.Duration // of an unkilled run, as measured so far
}

// Every run has the same run id; a fresh run gets a destination folder of
// its own. Recoveries pin the clock to killDay, so that they write the
// same bytes every time and checking them again costs little; a killed
// run pins it a second later each time, so that what it commits differs
// from what it overwrites.
const killRunID = "r1"

var killDay = time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)

// killFormats are each job's formats in killJobs, in the order it
// commits them: the default path gives each its own folder.
var killFormats = map[string][]string{
	"kare": {"jsonl", "csv", "parquet"}, "medipim": {"jsonl", "csv", "parquet"},
	"nameshield": {"jsonl"}, "requestor": {"parquet", "csv"},
}

func killDir(job, format string) string {
	return job + "/" + format + "/dt=" + killDay.Format(time.DateOnly) + "/run=" + killRunID
}

// killDirs are every run folder of the jobs, in order.
func killDirs() []string {
	var dirs []string
	for _, job := range killJobNames {
		for _, format := range killFormats[job] {
			dirs = append(dirs, killDir(job, format))
		}
	}
	return dirs
}

func (k *killer) run() {
	t := k.t
	// A first, unkilled run measures how long one takes.
	folder := "p00"
	k.duration = k.recover(folder, "the first run")

	landed := map[string]int{} // jobs by the stage a kill found them in
	for point, kills := 1, 0; kills < killPoints; point++ {
		if point > 2*killPoints {
			t.Fatalf("only %d of %d runs were killed before they ended", kills, point-1)
		}
		overwrite := k.rng.IntN(2) == 0
		if !overwrite {
			folder = fmt.Sprintf("p%02d", point)
		}
		trigger := []string{"time", "commit", "markers"}[k.rng.IntN(3)]
		job := killJobNames[k.rng.IntN(len(killJobNames))]
		var delay time.Duration
		switch trigger {
		case "time": // anywhere in the run
			delay = time.Duration(k.rng.Int64N(int64(k.duration)))
		case "commit": // a little after the job's commit began
			delay = time.Duration(k.rng.Int64N(int64(3 * time.Millisecond))) // a local commit takes a few fsyncs
		}
		what := fmt.Sprintf("point %d (%s, kill on %s", point, folder, trigger)
		if trigger != "time" {
			what += " of " + job
		}
		what += fmt.Sprintf(" +%v", delay.Round(time.Microsecond))
		if overwrite {
			what += ", over the committed run"
		}
		what += ")"

		now, killed, elapsed := k.runKilled(folder, overwrite, trigger, job, delay)
		r := k.check.Check(k.target.tree(t, folder))
		stages := "the run had ended"
		if killed {
			kills++
			stages = killStages(r, now, landed)
		}
		t.Logf("%s: after %v, %s; temporary files: %d; uploads pending: %d",
			what, elapsed.Round(time.Millisecond), stages, len(r.Temps()), len(k.target.pending(t, folder)))
		if len(r.Problems) > 0 {
			t.Fatalf("%s left broken output:\n%s", what, strings.Join(r.Problems, "\n"))
		}
		k.duration = (k.duration + k.recover(folder, what)) / 2
	}
	t.Logf("where the kills found the jobs: %v; an unkilled run takes about %v", landed, k.duration.Round(time.Millisecond))
	if landed[stageCommit] == 0 {
		t.Errorf("no kill came while data files were committed: %v", landed)
	}
}

// runKilled starts a run and kills it when the trigger fires, or after
// delay from the start for "time". It returns the run's pinned clock,
// whether the kill came before the run ended, and when it came.
func (k *killer) runKilled(folder string, overwrite bool, trigger, job string, delay time.Duration) (now time.Time, killed bool, elapsed time.Duration) {
	t := k.t
	k.killed++
	now = killDay.Add(time.Duration(k.killed) * time.Second)
	cmd, out := k.start(folder, now)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t0 := time.Now()
	// The folder the job commits first: every later one follows it.
	first := killDir(job, killFormats[job][0])
	fired := func() bool {
		switch trigger {
		case "time":
			return time.Since(t0) >= delay
		case "commit": // fresh: a data file is at a final name; rerun: the old _SUCCESS is gone
			names := k.target.names(folder, first)
			if overwrite {
				return !slices.Contains(names, pipeline.SuccessName)
			}
			return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "users") })
		default: // markers: this run's manifest is there
			if !slices.Contains(k.target.names(folder, first), pipeline.ManifestName) {
				return false
			}
			var m pipeline.Manifest
			return json.Unmarshal(k.target.read(folder, first+"/"+pipeline.ManifestName), &m) == nil && m.StartedAt.Equal(now)
		}
	}
	var killAt time.Time
	for killAt.IsZero() || time.Now().Before(killAt) {
		select {
		case err := <-exited:
			if code := cmd.ProcessState.ExitCode(); code != exitOK {
				t.Fatalf("a run exited %d (%v) before the kill; output:\n%s", code, err, out)
			}
			return now, false, time.Since(t0)
		default:
		}
		if killAt.IsZero() && fired() {
			killAt = time.Now()
			if trigger != "time" {
				killAt = killAt.Add(delay)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	elapsed = time.Since(t0)
	<-exited
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return now, ws.Signaled(), elapsed
}

// start starts a run writing folder with its clock pinned to now and a
// random max_rows_per_file.
func (k *killer) start(folder string, now time.Time) (*exec.Cmd, *bytes.Buffer) {
	t := k.t
	maxRows := []int{400, 1000}[k.rng.IntN(2)]
	cfg := writeFile(t, t.TempDir(), "jobs.yaml", killJobs(k.target.destination(folder), k.target.s3Settings, k.sim, k.bigSim, maxRows))
	cmd := exec.Command(k.cli, "run", "-c", cfg, "--run-id", killRunID, "--now", now.Format(time.RFC3339))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// recover reruns unkilled: it must succeed and leave every job's folder
// complete, temporary files of earlier runs gone. It returns how long the
// run took.
func (k *killer) recover(folder, after string) time.Duration {
	t := k.t
	t0 := time.Now()
	cmd, out := k.start(folder, killDay)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the rerun after %s failed: %v; output:\n%s", after, err, out)
	}
	took := time.Since(t0)
	r := k.check.Check(k.target.tree(t, folder))
	problems := r.Problems
	for _, job := range killJobNames {
		for _, format := range killFormats[job] {
			dir := killDir(job, format)
			f := r.Folders[dir]
			if f == nil || f.State != outputcheck.Complete || !f.StartedAt.Equal(killDay) || f.Records != int64(killUsers[job]) {
				problems = append(problems, fmt.Sprintf("%s: %+v, want complete with the %d records of this rerun", dir, f, killUsers[job]))
			}
		}
	}
	if len(r.Folders) != len(killDirs()) {
		problems = append(problems, fmt.Sprintf("folders %s, want one per job and format", r.States()))
	}
	if temps := r.Temps(); len(temps) > 0 {
		problems = append(problems, fmt.Sprintf("temporary files left: %v", temps))
	}
	if len(problems) > 0 {
		t.Fatalf("after the rerun that followed %s:\n%s\nrerun output:\n%s", after, strings.Join(problems, "\n"), out)
	}
	return took
}

// The stages a kill can find a job in.
const (
	stagePaging   = "paging"          // nothing of this run committed yet
	stageCommit   = "committing"      // data files and no manifest
	stageOldMarks = "taking down"     // the previous run's manifest, no _SUCCESS
	stageMarkers  = "between markers" // this run's manifest, no _SUCCESS
	stageDone     = "committed"       // this run's manifest and _SUCCESS
)

// killStages counts the folders of a killed run by the stage the kill
// found them in, adds them to landed, and describes them.
func killStages(r outputcheck.Report, now time.Time, landed map[string]int) string {
	n := map[string]int{}
	for _, dir := range killDirs() {
		f := r.Folders[dir]
		stage := stagePaging
		switch {
		case f == nil, f.State == outputcheck.Empty:
		case f.State == outputcheck.Data:
			stage = stageCommit
		case !f.StartedAt.Equal(now):
			if f.State == outputcheck.Manifest {
				stage = stageOldMarks
			}
		case f.State == outputcheck.Manifest:
			stage = stageMarkers
		default:
			stage = stageDone
		}
		n[stage]++
		landed[stage]++
	}
	var parts []string
	for _, stage := range []string{stagePaging, stageCommit, stageOldMarks, stageMarkers, stageDone} {
		if n[stage] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", stage, n[stage]))
		}
	}
	return "folders " + strings.Join(parts, ", ")
}
