package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/saas-export/export/internal/miniotest"
)

// verifyJobs has a job with every format plain, in the default layout's
// folder per format, and one with compressed text formats rotated every 100
// rows, so 345 users give 4 files a format, all in one folder (a path
// without {format}).
const verifyJobs = `
version: 1
output:
  destination: %s
%s
jobs:
  - {name: plain, provider: medipim, base_url: simulator, page_size: 100, rate_limit: 1000/1s}
  - name: packed
    provider: nameshield
    base_url: simulator
    page_size: 100
    rate_limit: 1000/1s
    output: {compression: {jsonl: gzip, csv: zstd}, max_rows_per_file: 100, path: "{job}/dt={date}/run={run_id}"}
`

// runFolder is a committed run folder under test, with the means to
// damage it; remove does not mind a missing file.
type runFolder struct {
	uri    string
	s3     S3
	read   func(t *testing.T, name string) []byte
	write  func(t *testing.T, name string, body []byte)
	remove func(t *testing.T, name string)
}

// exportTo runs verifyJobs to a fresh destination of kind (local or
// minio) and returns three of its run folders: plain's Parquet and CSV
// ones, and packed's.
func exportTo(t *testing.T, kind string) (plainParquet, plainCSV, packed runFolder) {
	t.Helper()
	var dest, s3yaml string
	var folder func(rel string) runFolder
	switch kind {
	case "local":
		dest = t.TempDir()
		folder = func(rel string) runFolder {
			dir := filepath.Join(dest, rel)
			return runFolder{
				uri: dir,
				read: func(t *testing.T, name string) []byte {
					b, err := os.ReadFile(filepath.Join(dir, name))
					if err != nil {
						t.Fatal(err)
					}
					return b
				},
				write: func(t *testing.T, name string, body []byte) {
					if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
						t.Fatal(err)
					}
				},
				remove: func(t *testing.T, name string) {
					if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
						t.Fatal(err)
					}
				},
			}
		}
	case "minio":
		srv := miniotest.Start(t)
		srv.SetEnv(t)
		bucket := srv.NewBucket(t)
		client := srv.Client(t)
		dest = "s3://" + bucket + "/exports"
		s3yaml = fmt.Sprintf("  s3: {endpoint: %q, force_path_style: true}", srv.Endpoint)
		folder = func(rel string) runFolder {
			prefix := "exports/" + rel
			return runFolder{
				uri: "s3://" + bucket + "/" + prefix,
				s3:  S3{Endpoint: srv.Endpoint, ForcePathStyle: true},
				read: func(t *testing.T, name string) []byte {
					return srv.Get(t, bucket, prefix+name)
				},
				write: func(t *testing.T, name string, body []byte) {
					if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{
						Bucket: &bucket, Key: aws.String(prefix + name), Body: bytes.NewReader(body),
					}); err != nil {
						t.Fatal(err)
					}
				},
				remove: func(t *testing.T, name string) {
					if _, err := client.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String(prefix + name)}); err != nil {
						t.Fatal(err)
					}
				},
			}
		}
	}
	cfg := parseTestConfig(t, fmt.Sprintf(verifyJobs, dest, s3yaml), "")
	if sum := runPinned(t, context.Background(), cfg, 345); sum.Status != StatusSucceeded {
		t.Fatalf("run: %+v", sum.Jobs)
	}
	return folder(pinnedDir("plain", "parquet", "r1")), folder(pinnedDir("plain", "csv", "r1")),
		folder("packed/dt=2026-11-23/run=r1/")
}

func verify(t *testing.T, f runFolder) *Verification {
	t.Helper()
	v, err := Verify(context.Background(), f.uri, f.s3)
	if err != nil {
		t.Fatalf("Verify(%s): %v", f.uri, err)
	}
	return v
}

// TestVerify exports to local disk and to MinIO, checks that the clean
// folders pass, then damages them one way at a time and checks that each
// damage fails and is named.
func TestVerify(t *testing.T) {
	for _, kind := range []string{"local", "minio"} {
		t.Run(kind, func(t *testing.T) {
			plainParquet, plain, packed := exportTo(t, kind)
			for _, f := range []runFolder{plainParquet, plain, packed} {
				v := verify(t, f)
				if !v.OK || len(v.Problems) != 0 {
					t.Fatalf("%s: a clean folder fails: %v", f.uri, v.Problems)
				}
				if v.Manifest == nil || v.Manifest.Records != 345 || v.Manifest.Name != ManifestName || v.Manifest.Legacy {
					t.Errorf("%s: manifest summary %+v", f.uri, v.Manifest)
				}
				for _, fc := range v.Files {
					if !fc.OK || fc.Actual == nil || *fc.Actual != fc.Expected {
						t.Errorf("%s: %+v", fc.Path, fc)
					}
				}
			}
			if v := verify(t, packed); len(v.Files) != 12 || v.Files[0].Path != "users-00001.jsonl.gz" {
				t.Errorf("packed: want 4 files of each format, users-00001.jsonl.gz first; got %+v", v.Files)
			}

			cases := []struct {
				name   string
				folder runFolder
				damage func(t *testing.T, f runFolder)
				want   []string // in the problems, in order
			}{
				{"flipped byte in Parquet", plainParquet, func(t *testing.T, f runFolder) {
					b := f.read(t, "users.parquet")
					b[len(b)/2] ^= 0xff
					f.write(t, "users.parquet", b)
				}, []string{"users.parquet: sha256 "}},
				{"flipped byte in gzip JSONL", packed, func(t *testing.T, f runFolder) {
					b := f.read(t, "users-00002.jsonl.gz")
					b[len(b)/2] ^= 0x01
					f.write(t, "users-00002.jsonl.gz", b)
				}, []string{"users-00002.jsonl.gz: not a complete jsonl file", "users-00002.jsonl.gz: sha256 "}},
				{"truncated CSV", plain, func(t *testing.T, f runFolder) {
					b := f.read(t, "users.csv")
					f.write(t, "users.csv", b[:len(b)-10])
				}, []string{"users.csv: not a complete csv file: the last record has no line end", "users.csv: ", "bytes; _manifest.json says"}},
				{"truncated Parquet", packed, func(t *testing.T, f runFolder) {
					b := f.read(t, "users-00003.parquet")
					f.write(t, "users-00003.parquet", b[:len(b)-100])
				}, []string{"users-00003.parquet: not a complete parquet file"}},
				{"stray file", plain, func(t *testing.T, f runFolder) {
					f.write(t, "notes.txt", []byte("hi"))
				}, []string{"notes.txt: a stray file, not in _manifest.json"}},
				{"temporary file", plain, func(t *testing.T, f runFolder) {
					f.write(t, ".users.csv.tmp-1f2e3d4c", []byte("id\n"))
				}, []string{".users.csv.tmp-1f2e3d4c: a temporary file a killed write left"}},
				{"legacy manifest beside the new one", plain, func(t *testing.T, f runFolder) {
					f.write(t, LegacyManifestName, f.read(t, ManifestName))
				}, []string{"manifest.json: a legacy manifest beside _manifest.json"}},
				{"no _SUCCESS", packed, func(t *testing.T, f runFolder) {
					f.remove(t, SuccessName)
				}, []string{"_SUCCESS is missing"}},
				{"records edited", plain, func(t *testing.T, f runFolder) {
					editManifest(t, f, func(m *Manifest) { m.Records = 346 })
				}, []string{"_manifest.json: records is 346, but the csv files hold 345 rows"}},
				{"no manifest", packed, func(t *testing.T, f runFolder) {
					f.remove(t, ManifestName)
				}, []string{"no _manifest.json (nor a legacy manifest.json) in the folder"}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					saved := map[string][]byte{}
					for _, fc := range verify(t, c.folder).Files {
						saved[fc.Path] = c.folder.read(t, fc.Path)
					}
					saved[ManifestName] = c.folder.read(t, ManifestName)
					// Undo the damage for the next case, whatever this one found.
					defer func() {
						for _, name := range []string{"notes.txt", ".users.csv.tmp-1f2e3d4c", LegacyManifestName} {
							c.folder.remove(t, name)
						}
						for name, body := range saved {
							c.folder.write(t, name, body)
						}
						c.folder.write(t, SuccessName, nil)
						if v := verify(t, c.folder); !v.OK {
							t.Fatalf("the folder restored still fails: %v", v.Problems)
						}
					}()
					c.damage(t, c.folder)
					v := verify(t, c.folder)
					if v.OK {
						t.Fatalf("passes after the damage: %+v", v)
					}
					all := strings.Join(v.Problems, "\n")
					rest := all
					for _, w := range c.want {
						i := strings.Index(rest, w)
						if i < 0 {
							t.Fatalf("problems do not say %q (in order):\n%s", w, all)
						}
						rest = rest[i+len(w):]
					}
					t.Logf("%s:\n%s", c.name, all)
				})
			}
		})
	}
}

func editManifest(t *testing.T, f runFolder, edit func(*Manifest)) {
	t.Helper()
	var m Manifest
	if err := json.Unmarshal(f.read(t, ManifestName), &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	body, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	f.write(t, ManifestName, body)
}

// TestVerifyLegacyManifest accepts a folder of a version before
// _manifest.json, and says so.
func TestVerifyLegacyManifest(t *testing.T) {
	plain, _, _ := exportTo(t, "local")
	plain.write(t, LegacyManifestName, plain.read(t, ManifestName))
	plain.remove(t, ManifestName)
	v := verify(t, plain)
	if !v.OK || v.Manifest == nil || !v.Manifest.Legacy || v.Manifest.Name != LegacyManifestName {
		t.Fatalf("legacy folder: ok %v, manifest %+v, problems %v", v.OK, v.Manifest, v.Problems)
	}
}

// TestVerifyRefusesWhatIsNoFolder: errors, for exit 2, not problems.
func TestVerifyRefusesWhatIsNoFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{"s3://bucket", "s3://bucket/", "http://x/y", file} {
		if _, err := Verify(context.Background(), uri, S3{}); err == nil {
			t.Errorf("%s: no error", uri)
		}
	}
}
