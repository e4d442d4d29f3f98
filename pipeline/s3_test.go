package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/saas-export/export/internal/miniotest"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/simulator"
)

// rootJobsTo returns the repository's jobs.yaml with its destination
// replaced by the given output lines.
func rootJobsTo(t *testing.T, output string) *Config {
	t.Helper()
	body, err := os.ReadFile("../jobs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yml := strings.Replace(string(body), "  destination: ./out\n", output, 1)
	if yml == string(body) {
		t.Fatal("../jobs.yaml no longer has `  destination: ./out`")
	}
	cfg, err := Parse("jobs.yaml", []byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func s3Output(srv *miniotest.Server, bucket string) string {
	return fmt.Sprintf("  destination: s3://%s/exports/v1\n  s3: {endpoint: %q, force_path_style: true, part_size: 5MiB, upload_concurrency: 2}\n", bucket, srv.Endpoint)
}

// TestS3ExportMatchesLocalExport runs every provider's simulator job to a
// local folder and to a bucket with the same run id and clock: each object
// must hold the same bytes as the file of the same path, manifests
// included (they name files relative to their folder), and the summary
// must name the objects by their s3:// URIs.
func TestS3ExportMatchesLocalExport(t *testing.T) {
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	bucket := srv.NewBucket(t)
	// Enough users that JSONL and CSV files take more than one 5 MiB part.
	opts := Options{RunID: "r1", Now: pinnedNow, Simulator: simulator.Options{Users: 16_000, Seed: 3}}

	local := t.TempDir()
	localSum, err := Run(context.Background(), rootJobsTo(t, "  destination: "+local+"\n"), opts)
	if err != nil || localSum.Status != StatusSucceeded {
		t.Fatalf("local run: %v %+v", err, localSum)
	}
	s3Sum, err := Run(context.Background(), rootJobsTo(t, s3Output(srv, bucket)), opts)
	if err != nil || s3Sum.Status != StatusSucceeded {
		t.Fatalf("s3 run: %v %+v", err, s3Sum)
	}

	files := listFiles(t, local)
	keys := srv.Keys(t, bucket, "")
	var want []string
	for name := range files {
		want = append(want, "exports/v1/"+name)
	}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("objects %v\nwant    %v", keys, want)
	}
	big := 0
	for name, body := range files {
		if got := srv.Get(t, bucket, "exports/v1/"+name); !bytes.Equal(got, body) {
			t.Errorf("%s: the object (%d bytes) differs from the local file (%d bytes)", name, len(got), len(body))
		}
		if len(body) > 5<<20 {
			big++
		}
	}
	if big == 0 {
		t.Error("no file took more than one part: the test no longer covers multipart uploads")
	}
	if pending := srv.PendingUploads(t, bucket); len(pending) != 0 {
		t.Errorf("uploads left pending: %v", pending)
	}

	for i, j := range s3Sum.Jobs {
		lj := localSum.Jobs[i]
		wantManifest := "s3://" + bucket + "/exports/v1/" + strings.TrimPrefix(lj.Manifest, "file://"+local+"/")
		if j.Manifest != wantManifest {
			t.Errorf("%s: manifest URI %s, want %s", j.Job, j.Manifest, wantManifest)
		}
		for k, f := range j.Files {
			lf := lj.Files[k]
			if f.SHA256 != lf.SHA256 || f.Bytes != lf.Bytes || !strings.HasPrefix(f.URI, "s3://"+bucket+"/exports/v1/"+j.Job+"/") {
				t.Errorf("%s: file %+v, local %+v", j.Job, f, lf)
			}
		}
	}
}

// stopAt is a Progress that calls fn once, when a job has written at
// least n records.
type stopAt struct {
	noProgress
	n    int64
	fn   func()
	once sync.Once
}

func (s *stopAt) Records(_ string, written int64, _ schema.Null[int64]) {
	if written >= s.n {
		s.once.Do(s.fn)
	}
}

// TestS3FailureMidUploadLeavesNothing stops the run while multipart
// uploads are in progress, by losing the server or by cancelling the run:
// the job fails saying why, and no object appears at a final key. When
// the run is cancelled every upload is aborted; when the server is gone it
// cannot be, and the error says what clears them.
func TestS3FailureMidUploadLeavesNothing(t *testing.T) {
	for _, how := range []string{"server stops", "run cancelled"} {
		t.Run(how, func(t *testing.T) {
			srv := miniotest.Start(t)
			srv.SetEnv(t)
			bucket := srv.NewBucket(t)
			cfg := parseTestConfig(t, fmt.Sprintf(`
version: 1
output:
  destination: s3://%s/exports
  s3: {endpoint: %q, force_path_style: true, part_size: 5MiB}
jobs:
  - name: nameshield-sim
    provider: nameshield
    base_url: simulator
    page_size: 500
`, bucket, srv.Endpoint), "")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stop := func() {
				// Every format has had some rows by now, and JSONL
				// more than a part: uploads are under way.
				if pending := srv.PendingUploads(t, bucket); len(pending) == 0 {
					t.Error("no multipart upload in progress when the run was stopped")
				}
				if how == "server stops" {
					srv.Stop()
				} else {
					cancel()
				}
			}
			sum, err := Run(ctx, cfg, Options{
				RunID: "r1", Now: pinnedNow, Simulator: simulator.Options{Users: 40_000, Seed: 1},
				Progress: &stopAt{n: 20_000, fn: stop},
			})
			if err != nil {
				t.Fatal(err)
			}
			if how == "server stops" {
				srv.Restart(t)
			}
			job := sum.Jobs[0]
			switch {
			case job.Status != StatusFailed || !strings.Contains(job.Error, `job "nameshield-sim"`):
				t.Errorf("job %s: %s; want a failure naming the job", job.Status, job.Error)
			case how == "server stops" && !strings.Contains(job.Error, "s3://"+bucket+"/exports/nameshield-sim/"):
				t.Errorf("error %q does not name the object being uploaded", job.Error)
			case how == "run cancelled" && !strings.HasPrefix(job.Error, "interrupted: "):
				t.Errorf("error %q does not say the run was interrupted", job.Error)
			}
			if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
				t.Errorf("objects left at final keys: %v", keys)
			}
			pending := srv.PendingUploads(t, bucket)
			switch {
			case how == "run cancelled" && len(pending) != 0:
				t.Errorf("uploads left pending after a cancelled run: %v", pending)
			case how == "server stops" && len(pending) != 0 && !strings.Contains(job.Error, "AbortIncompleteMultipartUpload"):
				t.Errorf("uploads %v left pending and the error does not say what clears them: %s", pending, job.Error)
			}
			t.Logf("%s: %s", how, job.Error)
		})
	}
}
