package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/saas-export/export/internal/miniotest"
	"github.com/saas-export/export/pipeline"
)

// verifyFolder is a run folder the real CLI exported, and how to reach
// and damage it.
type verifyFolder struct {
	uri   string
	flags []string // verify's S3 flags
	write func(t *testing.T, name string, body []byte)
	read  func(t *testing.T, name string) []byte
	rm    func(t *testing.T, name string)
}

// exportForVerify runs one simulator job (2000 users) with every format,
// gzip JSONL and files rotated every 700 rows, to local disk or MinIO, all
// in one folder (a path without {format}), so that one verify sees 9 files.
func exportForVerify(t *testing.T, kind string) verifyFolder {
	t.Helper()
	dir := t.TempDir()
	var dest, s3yaml string
	var f verifyFolder
	switch kind {
	case "local":
		dest = filepath.Join(dir, "out")
		run := filepath.Join(dest, "sim", "dt=2026-11-23", "run=r1")
		f = verifyFolder{
			uri: run,
			write: func(t *testing.T, name string, body []byte) {
				if err := os.WriteFile(filepath.Join(run, name), body, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			read: func(t *testing.T, name string) []byte {
				b, err := os.ReadFile(filepath.Join(run, name))
				if err != nil {
					t.Fatal(err)
				}
				return b
			},
			rm: func(t *testing.T, name string) {
				if err := os.Remove(filepath.Join(run, name)); err != nil {
					t.Fatal(err)
				}
			},
		}
	case "minio":
		srv := miniotest.Start(t)
		srv.SetEnv(t)
		bucket := srv.NewBucket(t)
		client := srv.Client(t)
		dest = "s3://" + bucket + "/exports"
		s3yaml = fmt.Sprintf("  s3: {endpoint: %q, force_path_style: true}\n", srv.Endpoint)
		prefix := "exports/sim/dt=2026-11-23/run=r1/"
		f = verifyFolder{
			uri:   "s3://" + bucket + "/" + prefix,
			flags: []string{"--s3-endpoint", srv.Endpoint, "--s3-path-style"},
			write: func(t *testing.T, name string, body []byte) {
				if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(prefix + name), Body: bytes.NewReader(body)}); err != nil {
					t.Fatal(err)
				}
			},
			read: func(t *testing.T, name string) []byte { return srv.Get(t, bucket, prefix+name) },
			rm: func(t *testing.T, name string) {
				if _, err := client.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String(prefix + name)}); err != nil {
					t.Fatal(err)
				}
			},
		}
	}
	cfg := writeFile(t, dir, "jobs.yaml", `version: 1
output:
  destination: `+dest+`
  compression: {jsonl: gzip}
  max_rows_per_file: 700
  path: "{job}/dt={date}/run={run_id}"
`+s3yaml+`jobs:
  - {name: sim, provider: medipim, base_url: simulator, rate_limit: 1000/1s}
`)
	if code, stdout, stderr := runCmd(t, nil, "run", "-c", cfg, "--run-id", "r1", "--now", "2026-11-23T12:00:00Z"); code != exitOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	return f
}

func runVerify(t *testing.T, f verifyFolder, args ...string) (int, string, string) {
	t.Helper()
	return runCmd(t, nil, append(append([]string{"verify", f.uri}, f.flags...), args...)...)
}

var okLine = regexp.MustCompile(`^OK        users-0000[1-3]\.(jsonl\.gz|csv|parquet)  \d+ rows, \d+ bytes, sha256 [0-9a-f]{64}$`)

func TestVerifyCommand(t *testing.T) {
	for _, kind := range []string{"local", "minio"} {
		t.Run(kind, func(t *testing.T) {
			f := exportForVerify(t, kind)

			code, stdout, stderr := runVerify(t, f)
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			if code != exitOK || len(lines) != 11 {
				t.Fatalf("clean folder: exit %d, want 0 and 11 lines; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if want := ": _manifest.json, job sim (medipim), run r1, 2000 records, 9 files"; !strings.HasSuffix(lines[0], want) {
				t.Errorf("header %q, want it to end %q", lines[0], want)
			}
			for _, l := range lines[1:10] {
				if !okLine.MatchString(l) {
					t.Errorf("line %q is not an OK line", l)
				}
			}
			if lines[10] != "verified: 9 files, 6000 rows" {
				t.Errorf("last line %q", lines[10])
			}

			code, stdout, _ = runVerify(t, f, "--output", "json")
			var v pipeline.Verification
			if err := json.Unmarshal([]byte(stdout), &v); err != nil || code != exitOK {
				t.Fatalf("json: exit %d, %v:\n%s", code, err, stdout)
			}
			if !v.OK || v.Manifest.Records != 2000 || len(v.Files) != 9 || len(v.Problems) != 0 || v.Files[0].Path != "users-00001.jsonl.gz" {
				t.Errorf("json verdict: %+v", v)
			}
			for _, fc := range v.Files {
				if !fc.OK || fc.Actual == nil || *fc.Actual != fc.Expected {
					t.Errorf("json file %+v", fc)
				}
			}

			cases := []struct {
				name   string
				damage func(t *testing.T)
				undo   func(t *testing.T)
				want   string // a line of the text verdict
			}{
				{"flipped byte", func(t *testing.T) {
					b := f.read(t, "users-00002.parquet")
					b[len(b)/3] ^= 0x20
					f.write(t, "users-00002.parquet", b)
				}, nil, "MISMATCH  users-00002.parquet  expected 700 rows, "},
				{"truncated", func(t *testing.T) {
					b := f.read(t, "users-00003.csv")
					f.write(t, "users-00003.csv", b[:len(b)/2])
				}, nil, "          users-00003.csv: not a complete csv file: "},
				{"stray file", func(t *testing.T) { f.write(t, "users-extra.csv", []byte("id\n")) },
					func(t *testing.T) { f.rm(t, "users-extra.csv") },
					"PROBLEM   users-extra.csv: a stray file, not in _manifest.json"},
				{"no _SUCCESS", func(t *testing.T) { f.rm(t, pipeline.SuccessName) },
					func(t *testing.T) { f.write(t, pipeline.SuccessName, nil) },
					"PROBLEM   _SUCCESS is missing: the run never finished committing"},
				{"records edited", func(t *testing.T) {
					f.write(t, pipeline.ManifestName, bytes.Replace(f.read(t, pipeline.ManifestName), []byte(`"records": 2000`), []byte(`"records": 1999`), 1))
				}, nil, "PROBLEM   _manifest.json: records is 1999, but the csv files hold 2000 rows"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					saved := map[string][]byte{}
					for _, fc := range v.Files {
						saved[fc.Path] = f.read(t, fc.Path)
					}
					saved[pipeline.ManifestName] = f.read(t, pipeline.ManifestName)
					defer func() {
						if c.undo != nil {
							c.undo(t)
						}
						for name, body := range saved {
							f.write(t, name, body)
						}
					}()
					c.damage(t)
					code, stdout, stderr := runVerify(t, f)
					if code != exitJobsFailed || !strings.Contains(stdout, "\n"+c.want) || !regexp.MustCompile(`\nFAILED: \d+ problems\n$`).MatchString(stdout) {
						t.Fatalf("exit %d, want 1 and a line %q and FAILED last; stdout:\n%s\nstderr:\n%s", code, c.want, stdout, stderr)
					}
					code, stdout, _ = runVerify(t, f, "--output", "json")
					var bad pipeline.Verification
					if err := json.Unmarshal([]byte(stdout), &bad); err != nil || code != exitJobsFailed || bad.OK || len(bad.Problems) == 0 {
						t.Fatalf("json: exit %d, %v:\n%s", code, err, stdout)
					}
				})
			}
		})
	}
}

// TestVerifyCommandS3EndpointFromEnvironment: without --s3-endpoint the
// SDK's AWS_ENDPOINT_URL_S3 is honoured.
func TestVerifyCommandS3EndpointFromEnvironment(t *testing.T) {
	f := exportForVerify(t, "minio")
	t.Setenv("AWS_ENDPOINT_URL_S3", f.flags[1])
	code, stdout, stderr := runCmd(t, nil, "verify", "--s3-path-style", f.uri)
	if code != exitOK || !strings.HasSuffix(stdout, "verified: 9 files, 6000 rows\n") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func TestVerifyCommandUsageAndMissingManifest(t *testing.T) {
	empty := t.TempDir()
	for _, args := range [][]string{{"verify"}, {"verify", empty, empty}, {"verify", empty, "--output", "xml"}, {"verify", "ftp://x/y"}} {
		if code, _, stderr := runCmd(t, nil, args...); code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d, want 2 with a message; stderr %q", args, code, stderr)
		}
	}
	code, stdout, _ := runCmd(t, nil, "verify", empty)
	if code != exitJobsFailed || !strings.Contains(stdout, "PROBLEM   no _manifest.json (nor a legacy manifest.json) in the folder: not a committed run folder\nFAILED: 1 problems\n") {
		t.Errorf("no manifest: exit %d, stdout:\n%s", code, stdout)
	}
}
