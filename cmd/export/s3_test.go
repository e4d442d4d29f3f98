package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/saas-export/export/internal/miniotest"
	"github.com/saas-export/export/sources/simulator"
)

// s3Jobs is a jobs.yaml with one simulator job writing to destination on
// the MinIO at endpoint.
func s3Jobs(destination, endpoint string) string {
	return `version: 1
output:
  destination: ` + destination + `
  s3: {endpoint: "` + endpoint + `", force_path_style: true}
jobs:
  - {name: medipim, provider: medipim, base_url: simulator}
`
}

func TestValidateCheckDestinationS3(t *testing.T) {
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	bucket := srv.NewBucket(t)
	dir := t.TempDir()

	good := writeFile(t, dir, "good.yaml", s3Jobs("s3://"+bucket+"/exports", srv.Endpoint))
	code, stdout, stderr := runCmd(t, nil, "validate", "--check-destination", "-c", good)
	if code != exitOK {
		t.Fatalf("exit %d, want 0; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	want := good + ": valid, 1 job(s)\nok    s3://" + bucket + "/exports (jobs: medipim)\n"
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
		t.Errorf("objects left: %v", keys)
	}
	if pending := srv.PendingUploads(t, bucket); len(pending) != 0 {
		t.Errorf("uploads pending: %v", pending)
	}

	missing := writeFile(t, dir, "missing.yaml", s3Jobs("s3://no-such-bucket-here/exports", srv.Endpoint))
	code, stdout, stderr = runCmd(t, nil, "validate", "--check-destination", "-c", missing)
	if code != exitJobsFailed {
		t.Fatalf("missing bucket: exit %d, want 1; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	prefix := "FAIL  s3://no-such-bucket-here/exports (jobs: medipim): "
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], prefix) || !strings.Contains(lines[1], "NoSuchBucket") {
		t.Errorf("missing bucket: stdout:\n%s\nwant a second line starting %q and saying NoSuchBucket", stdout, prefix)
	}
	if !strings.Contains(stderr, "1 destination(s) failed the check") {
		t.Errorf("missing bucket: stderr:\n%s", stderr)
	}
	for _, secret := range []string{srv.SecretKey, srv.AccessKey} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("the output shows a credential:\n%s\n%s", stdout, stderr)
		}
	}

	// Without the flag validate stays offline: the missing bucket is not
	// noticed.
	code, stdout, stderr = runCmd(t, nil, "validate", "-c", missing)
	if code != exitOK || stdout != missing+": valid, 1 job(s)\n" {
		t.Errorf("offline validate: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestValidateCheckDestinationJobSelection: --job narrows the check to
// the destinations of the jobs named, and an unknown job is a usage error.
func TestValidateCheckDestinationJobSelection(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	cfg := writeFile(t, dir, "jobs.yaml", `version: 1
output: {destination: `+a+`}
jobs:
  - {name: one, provider: medipim, base_url: simulator}
  - {name: two, provider: nameshield, base_url: simulator, output: {destination: `+b+`}}
  - {name: three, provider: kare, base_url: simulator}
`)
	code, stdout, stderr := runCmd(t, nil, "validate", "-c", cfg, "--check-destination")
	want := cfg + ": valid, 3 job(s)\n" +
		"ok    file://" + a + " (jobs: one, three)\n" +
		"ok    file://" + b + " (jobs: two)\n"
	if code != exitOK || stdout != want {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", code, stdout, want, stderr)
	}
	code, stdout, stderr = runCmd(t, nil, "validate", "-c", cfg, "--check-destination", "--job", "two")
	want = cfg + ": valid, 3 job(s)\nok    file://" + b + " (jobs: two)\n"
	if code != exitOK || stdout != want {
		t.Errorf("--job two: exit %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", code, stdout, want, stderr)
	}
	if code, _, _ := runCmd(t, nil, "validate", "-c", cfg, "--check-destination", "--job", "four"); code != exitUsage {
		t.Errorf("--job four: exit %d, want 2", code)
	}
}

// isolateAWS keeps the user's AWS settings away from a test that opens an
// S3 store without a MinIO to point it at.
func isolateAWS(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			if err := os.Unsetenv(k); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// TestPlanShowsS3URIs: the plan names each job's output folder in S3 by
// its s3:// URI, placeholders filled. `plan` has no --now or --run-id, so
// the pinned case goes through `run --dry-run`, which prints the same plan.
func TestPlanShowsS3URIs(t *testing.T) {
	isolateAWS(t)
	cfg := writeFile(t, t.TempDir(), "jobs.yaml", `version: 1
output:
  destination: s3://bkt/pre
  path: "{job}/dt={date}/run={run_id}"
jobs:
  - {name: medipim-be, provider: medipim, base_url: simulator}
  - {name: ns, provider: nameshield, base_url: simulator, output: {destination: "s3://other/"}}
`)
	code, stdout, stderr := runCmd(t, nil, "run", "-c", cfg, "--dry-run", "--output", "json",
		"--now", "2026-11-23T23:59:59Z", "--run-id", "r1")
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		`"output": "s3://bkt/pre/medipim-be/dt=2026-11-23/run=r1"`,
		`"output": "s3://other/ns/dt=2026-11-23/run=r1"`,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry-run plan lacks %s:\n%s", want, stdout)
		}
	}

	before := time.Now().UTC().Format(time.DateOnly)
	code, stdout, stderr = runCmd(t, nil, "plan", "-c", cfg)
	after := time.Now().UTC().Format(time.DateOnly)
	if code != exitOK {
		t.Fatalf("plan: exit %d; stderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[3], "total: 2 jobs") {
		t.Fatalf("plan: want a header, 2 jobs and the totals:\n%s", stdout)
	}
	for i, folder := range []string{"s3://bkt/pre/medipim-be/dt=%s/run=RUN_ID", "s3://other/ns/dt=%s/run=RUN_ID"} {
		fields := strings.Fields(lines[i+1])
		got := fields[len(fields)-1]
		if got != fmt.Sprintf(folder, before) && got != fmt.Sprintf(folder, after) {
			t.Errorf("plan: job %d's output is %s, want %s:\n%s", i, got, fmt.Sprintf(folder, before), stdout)
		}
	}
}

// TestRunSIGTERMMidUploadExits130AndLeavesNothing is the acceptance test
// of an interrupted S3 run: the real CLI, in a child process, gets a real
// SIGTERM while its files are multipart uploads in progress. It must exit
// 130 and leave no object at all (no data file, no _manifest.json, no
// _SUCCESS) and no multipart upload pending.
func TestRunSIGTERMMidUploadExits130AndLeavesNothing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM to send on Windows")
	}
	srv := miniotest.Start(t)
	srv.SetEnv(t) // the child inherits the environment
	bucket := srv.NewBucket(t)

	// The in-process simulator of `base_url: simulator` serves 2000 users,
	// too few for a multipart upload: this one serves enough that users.jsonl
	// (about 400 bytes a row) spans some 15 parts of 5 MiB.
	const users = 200_000
	sim, err := simulator.Start("127.0.0.1:0", simulator.Options{Users: users, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	cfg := writeFile(t, t.TempDir(), "jobs.yaml", `version: 1
output:
  destination: s3://`+bucket+`/exports
  s3: {endpoint: "`+srv.Endpoint+`", force_path_style: true, part_size: 5MiB}
jobs:
  - name: nameshield-big
    provider: nameshield
    base_url: `+sim.BaseURL("nameshield")+`
    auth: {type: bearer, token: test-token}
    rate_limit: 100000/1s
`)

	// The deadline kills the child if it hangs; so does the end of the test.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "run", "-c", cfg)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waited := false // set once exited was received from
	t.Cleanup(func() {
		if !waited { // still running after a failure
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("child stdout:\n%s\nchild stderr:\n%s", stdout.String(), stderr.String())
		}
	})

	var pending []string
	for len(pending) == 0 {
		select {
		case err := <-exited:
			waited = true
			t.Fatalf("the run ended (%v) before any multipart upload was seen", err)
		case <-ctx.Done():
			t.Fatal("no multipart upload started within the deadline")
		case <-time.After(20 * time.Millisecond):
		}
		pending = srv.PendingUploads(t, bucket)
	}
	t.Logf("after %v, uploads in progress: %v; objects: %v", time.Since(t0).Round(time.Millisecond), pending, srv.Keys(t, bucket, ""))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	select {
	case waitErr = <-exited:
		waited = true
	case <-ctx.Done():
		t.Fatal("the run did not exit within the deadline after SIGTERM")
	}
	t.Logf("after %v, the run exited: %v", time.Since(t0).Round(time.Millisecond), cmd.ProcessState)
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		t.Fatalf("wait: %v", waitErr)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit code %d (%v), want %d", code, cmd.ProcessState, exitInterrupted)
	}
	if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
		t.Errorf("objects left after the interrupted run: %v", keys)
	}
	if pending := srv.PendingUploads(t, bucket); len(pending) != 0 {
		t.Errorf("multipart uploads left pending: %v", pending)
	}
	if strings.Contains(stdout.String()+stderr.String(), srv.SecretKey) {
		t.Error("the run printed the secret key")
	}
	if !strings.Contains(stdout.String(), "interrupted") {
		t.Errorf("the summary does not say the run was interrupted:\n%s", stdout.String())
	}
}
