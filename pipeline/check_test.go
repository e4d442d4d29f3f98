package pipeline

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saas-export/export/internal/miniotest"
)

// checkJobs parses a jobs.yaml for the destination checks.
func checkJobs(t *testing.T, yml string) []Job {
	t.Helper()
	cfg, err := Parse("jobs.yaml", []byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg.Jobs
}

// s3CheckJobs is a config whose jobs a and b share an S3 destination and
// c writes to another prefix of the same bucket; d's settings differ from
// a's and b's only in the tags, which split it off as the run's storeFor
// does.
func s3CheckJobs(t *testing.T, endpoint, bucket string) []Job {
	return checkJobs(t, `version: 1
output:
  destination: s3://`+bucket+`/exports/team
  s3: {endpoint: "`+endpoint+`", force_path_style: true}
jobs:
  - {name: a, provider: medipim, base_url: simulator}
  - {name: c, provider: medipim, base_url: simulator, output: {destination: "s3://`+bucket+`/other"}}
  - {name: b, provider: nameshield, base_url: simulator}
  - {name: d, provider: kare, base_url: simulator, output: {s3: {tags: {team: x}}}}
`)
}

func TestCheckDestinationsLocalPassesAndLeavesNothing(t *testing.T) {
	one, two := t.TempDir(), filepath.Join(t.TempDir(), "not", "yet")
	jobs := checkJobs(t, `version: 1
output: {destination: `+one+`}
jobs:
  - {name: a, provider: medipim, base_url: simulator}
  - {name: b, provider: nameshield, base_url: simulator, output: {destination: "file://`+two+`"}}
  - {name: c, provider: kare, base_url: simulator}
`)
	checks := CheckDestinations(context.Background(), jobs)
	want := []DestinationCheck{
		{URI: "file://" + one, Jobs: []string{"a", "c"}},
		{URI: "file://" + two, Jobs: []string{"b"}},
	}
	if !slices.EqualFunc(checks, want, func(a, b DestinationCheck) bool {
		return a.URI == b.URI && slices.Equal(a.Jobs, b.Jobs) && a.Err == nil
	}) {
		t.Fatalf("checks: %+v\nwant %+v", checks, want)
	}
	for _, dir := range []string{one, two} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err) // the missing destination was created, as a run would
		}
		if len(entries) != 0 {
			t.Errorf("%s: left %v", dir, entries)
		}
	}
}

func TestCheckDestinationsLocalUnwritableFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("a regular file"), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(file, "out")
	checks := CheckDestinations(context.Background(), checkJobs(t, `version: 1
output: {destination: `+dest+`}
jobs:
  - {name: a, provider: medipim, base_url: simulator}
`))
	if len(checks) != 1 || checks[0].URI != "file://"+dest || checks[0].Err == nil {
		t.Fatalf("checks: %+v", checks)
	}
	if msg := checks[0].Err.Error(); !strings.Contains(msg, file) || !strings.Contains(msg, "not a directory") {
		t.Errorf("the error does not name the path in the way: %s", msg)
	}
	t.Logf("error: %v", checks[0].Err)
}

func TestCheckDestinationsS3PassesAndLeavesNothing(t *testing.T) {
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	bucket := srv.NewBucket(t)
	checks := CheckDestinations(context.Background(), s3CheckJobs(t, srv.Endpoint, bucket))
	want := []DestinationCheck{
		{URI: "s3://" + bucket + "/exports/team", Jobs: []string{"a", "b"}},
		{URI: "s3://" + bucket + "/other", Jobs: []string{"c"}},
		{URI: "s3://" + bucket + "/exports/team", Jobs: []string{"d"}},
	}
	if !slices.EqualFunc(checks, want, func(a, b DestinationCheck) bool {
		return a.URI == b.URI && slices.Equal(a.Jobs, b.Jobs) && a.Err == nil
	}) {
		t.Fatalf("checks: %+v\nwant %+v", checks, want)
	}
	if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
		t.Errorf("objects left: %v", keys)
	}
	if pending := srv.PendingUploads(t, bucket); len(pending) != 0 {
		t.Errorf("uploads pending: %v", pending)
	}
}

func TestCheckDestinationsS3MissingBucketFails(t *testing.T) {
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	const bucket = "no-such-bucket-here"
	checks := CheckDestinations(context.Background(), checkJobs(t, `version: 1
output:
  destination: s3://`+bucket+`/exports
  s3: {endpoint: "`+srv.Endpoint+`", force_path_style: true}
jobs:
  - {name: a, provider: medipim, base_url: simulator}
`))
	if len(checks) != 1 || checks[0].Err == nil {
		t.Fatalf("checks: %+v", checks)
	}
	if msg := checks[0].Err.Error(); !strings.Contains(msg, bucket) || !strings.Contains(msg, "NoSuchBucket") {
		t.Errorf("the error does not say the bucket is missing: %s", msg)
	}
	t.Logf("error: %v", checks[0].Err)
}

func TestCheckDestinationsS3WrongCredentialsFail(t *testing.T) {
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	bucket := srv.NewBucket(t)
	const wrong = "wrong-secret-0123456789abcdef"
	t.Setenv("AWS_SECRET_ACCESS_KEY", wrong)
	checks := CheckDestinations(context.Background(), s3CheckJobs(t, srv.Endpoint, bucket))
	if len(checks) != 3 {
		t.Fatalf("checks: %+v", checks)
	}
	for _, c := range checks {
		if c.Err == nil {
			t.Fatalf("%s passed with a wrong secret key", c.URI)
		}
		msg := c.Err.Error()
		if !strings.Contains(msg, "SignatureDoesNotMatch") {
			t.Errorf("%s: the error does not say the signature is wrong: %s", c.URI, msg)
		}
		for _, secret := range []string{wrong, srv.SecretKey} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s: the error shows a secret: %s", c.URI, msg)
			}
		}
	}
	t.Logf("error: %v", checks[0].Err)
	if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
		t.Errorf("objects left: %v", keys)
	}
}

// TestCheckDestinationsBlackHoleTimesOut: an endpoint that accepts
// connections and never answers fails the check at its timeout.
func TestCheckDestinationsBlackHoleTimesOut(t *testing.T) {
	srv := miniotest.Start(t) // only for SetEnv: credentials that need no network
	srv.SetEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	jobs := checkJobs(t, `version: 1
output:
  destination: s3://bucket/exports
  s3: {endpoint: "http://`+ln.Addr().String()+`", force_path_style: true}
jobs:
  - {name: a, provider: medipim, base_url: simulator}
`)
	const timeout = 500 * time.Millisecond
	t0 := time.Now()
	checks := checkDestinations(context.Background(), jobs, timeout)
	elapsed := time.Since(t0)
	if len(checks) != 1 || checks[0].Err == nil {
		t.Fatalf("checks: %+v", checks)
	}
	if !strings.Contains(checks[0].Err.Error(), "no response within 500ms") {
		t.Errorf("error: %v", checks[0].Err)
	}
	if elapsed > 10*timeout {
		t.Errorf("took %v with a timeout of %v", elapsed, timeout)
	}
	t.Logf("after %v: %v", elapsed, checks[0].Err)
}

// TestCheckDestinationsS3DeniedRemoveOrList: a destination where the
// probe can be written but not deleted, or where listing is denied, fails;
// a probe left behind is named so it can be deleted by hand.
func TestCheckDestinationsS3DeniedRemoveOrList(t *testing.T) {
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		deny func(*http.Request) bool
		want []string
		left bool
	}{
		{
			name: "remove",
			deny: func(r *http.Request) bool { return r.Method == http.MethodDelete },
			want: []string{"was written but not removed; delete it by hand", "AccessDenied"},
			left: true,
		},
		{
			name: "list",
			deny: func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Query().Has("list-type") },
			want: []string{"sinks: list s3://", "AccessDenied"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket := srv.NewBucket(t)
			proxy := httputil.NewSingleHostReverseProxy(target) // keeps Host, so signatures hold
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.deny(r) {
					w.Header().Set("Content-Type", "application/xml")
					w.WriteHeader(http.StatusForbidden)
					fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>`)
					return
				}
				proxy.ServeHTTP(w, r)
			}))
			defer front.Close()
			checks := CheckDestinations(context.Background(), checkJobs(t, `version: 1
output:
  destination: s3://`+bucket+`/exports
  s3: {endpoint: "`+front.URL+`", force_path_style: true}
jobs:
  - {name: a, provider: medipim, base_url: simulator}
`))
			if len(checks) != 1 || checks[0].Err == nil {
				t.Fatalf("checks: %+v", checks)
			}
			msg := checks[0].Err.Error()
			for _, want := range tc.want {
				if !strings.Contains(msg, want) {
					t.Errorf("the error lacks %q: %s", want, msg)
				}
			}
			keys := srv.Keys(t, bucket, "")
			if !tc.left {
				if len(keys) != 0 {
					t.Errorf("objects left: %v", keys)
				}
				return
			}
			if len(keys) != 1 || !strings.HasPrefix(keys[0], "exports/"+CheckObjectPrefix) {
				t.Fatalf("want the probe left behind, got %v", keys)
			}
			if uri := "s3://" + bucket + "/" + keys[0]; !strings.Contains(msg, uri) {
				t.Errorf("the error does not name the probe left, %s: %s", uri, msg)
			}
			t.Logf("error: %v", msg)
		})
	}
}
