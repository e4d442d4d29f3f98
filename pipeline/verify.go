package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/saas-export/export/sinks"
)

// Verification is what export verify found in one run folder.
type Verification struct {
	URI      string           `json:"uri"`
	OK       bool             `json:"ok"`
	Manifest *ManifestSummary `json:"manifest"` // nil when there is none to read
	Files    []FileCheck      `json:"files"`
	// Problems is every problem found, the files' included, each naming
	// the file it is about.
	Problems []string `json:"problems"`
}

// ManifestSummary is the manifest's fields an auditor reads first.
type ManifestSummary struct {
	Name        string    `json:"name"`   // _manifest.json, or manifest.json in an older folder
	Legacy      bool      `json:"legacy"` // the name of versions before _manifest.json
	Job         string    `json:"job"`
	Provider    string    `json:"provider"`
	RunID       string    `json:"run_id"`
	FinishedAt  time.Time `json:"finished_at"`
	Records     int64     `json:"records"`
	SourceTotal *int64    `json:"source_total"`
	Files       int       `json:"files"`
}

// FileCheck is one listed data file: what the manifest says, what the
// file holds.
type FileCheck struct {
	Path     string     `json:"path"`
	Format   string     `json:"format"`
	OK       bool       `json:"ok"`
	Expected FileFacts  `json:"expected"`
	Actual   *FileFacts `json:"actual"` // nil when the file could not be read
	Problems []string   `json:"problems"`
}

// FileFacts are the facts of a data file the manifest records. Rows is
// -1 when the file does not decode.
type FileFacts struct {
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// verifyConcurrency is how many files are read at once: enough to keep
// a few S3 downloads busy, each streamed, so memory stays small.
const verifyConcurrency = 4

// Verify re-checks the committed run folder at uri (a directory,
// file:///abs/dir or s3://bucket/prefix/.../run=ID) against its manifest:
// every listed file's sha256, size and rows, the records, _SUCCESS, and
// that nothing else is in the folder. s3 configures an s3:// uri. An
// error is a uri that names no folder; whatever the folder holds, a
// missing manifest included, is a problem in the Verification.
func Verify(ctx context.Context, uri string, s3 S3) (*Verification, error) {
	store, dir, err := openRunFolder(ctx, uri, s3)
	if err != nil {
		return nil, err
	}
	v := &Verification{URI: store.URI(dir), Files: []FileCheck{}, Problems: []string{}}
	v.check(ctx, store, dir)
	v.OK = len(v.Problems) == 0
	return v, nil
}

// openRunFolder returns a store rooted at the folder's parent and the
// folder's name in it, so that URIs name the folder's files in full.
func openRunFolder(ctx context.Context, uri string, s3 S3) (sinks.Store, string, error) {
	var parent, dir string
	switch {
	case isS3Location(uri):
		bucket, prefix, err := ParseS3URL(uri)
		if err != nil {
			return nil, "", err
		}
		if prefix == "" {
			return nil, "", fmt.Errorf("%s names a bucket, not a run folder", uri)
		}
		p, d := path.Split(prefix)
		parent, dir = "s3://"+bucket+"/"+p, d
	case strings.HasPrefix(uri, "file://"):
		u, err := url.Parse(uri)
		if err != nil {
			return nil, "", fmt.Errorf("%q: %w", uri, err)
		}
		parent, dir = filepath.Split(filepath.Clean(u.Path))
	case strings.Contains(uri, "://"):
		return nil, "", fmt.Errorf("%q: unsupported scheme (want a path, file:// or s3://)", uri)
	default:
		abs, err := filepath.Abs(uri)
		if err != nil {
			return nil, "", fmt.Errorf("%q: %w", uri, err)
		}
		if info, err := os.Stat(abs); err == nil && !info.IsDir() {
			return nil, "", fmt.Errorf("%s is a file, not a run folder", abs)
		}
		parent, dir = filepath.Split(abs)
	}
	if dir == "" {
		return nil, "", fmt.Errorf("%q names no run folder", uri)
	}
	store, err := OpenStore(ctx, Output{Destination: parent, S3: s3})
	if err != nil {
		return nil, "", err
	}
	if _, ok := store.(sinks.Reader); !ok {
		return nil, "", fmt.Errorf("%s: the store cannot be read back", uri)
	}
	return store, dir, nil
}

func (v *Verification) problem(format string, args ...any) {
	v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
}

func (v *Verification) check(ctx context.Context, store sinks.Store, dir string) {
	rd := store.(sinks.Reader)
	names, err := rd.ListAll(ctx, dir)
	if err != nil {
		v.problem("list the folder: %v", err)
		return
	}
	present := map[string]bool{}
	for _, n := range names {
		present[n] = true
	}
	manifestName := ManifestName
	if !present[ManifestName] && present[LegacyManifestName] {
		manifestName = LegacyManifestName
	}
	if !present[manifestName] {
		v.problem("no %s (nor a legacy %s) in the folder: not a committed run folder", ManifestName, LegacyManifestName)
		return
	}
	m, err := readManifest(ctx, rd, path.Join(dir, manifestName))
	if err != nil {
		v.problem("%s: %v", manifestName, err)
		return
	}
	v.Manifest = &ManifestSummary{
		Name: manifestName, Legacy: manifestName == LegacyManifestName,
		Job: m.Job, Provider: m.Provider, RunID: m.RunID, FinishedAt: m.FinishedAt,
		Records: m.Records, SourceTotal: m.SourceTotal, Files: len(m.Files),
	}

	v.checkFiles(ctx, rd, dir, manifestName, m.Files)
	// A format with a file that did not decode has no row count; that
	// file's problem says so.
	perFormat, unknown := map[string]int64{}, map[string]bool{}
	listed := map[string]bool{manifestName: true, SuccessName: true}
	for _, f := range v.Files {
		listed[f.Path] = true
		if f.Actual != nil && f.Actual.Rows >= 0 {
			perFormat[f.Format] += f.Actual.Rows
		} else {
			unknown[f.Format] = true
		}
		v.Problems = append(v.Problems, f.Problems...)
	}
	for _, format := range slices.Sorted(maps.Keys(perFormat)) {
		if n := perFormat[format]; n != m.Records && !unknown[format] {
			v.problem("%s: records is %d, but the %s files hold %d rows", manifestName, m.Records, format, n)
		}
	}
	v.checkSuccess(ctx, rd, dir, present[SuccessName])
	for _, name := range names {
		switch {
		case listed[name]:
		case name == LegacyManifestName:
			v.problem("%s: a legacy manifest beside %s", name, ManifestName)
		case strings.HasSuffix(name, "/"):
			v.problem("%s: a stray folder, not in %s", name, manifestName)
		case strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-"):
			v.problem("%s: a temporary file a killed write left, not in %s", name, manifestName)
		default:
			v.problem("%s: a stray file, not in %s", name, manifestName)
		}
	}
}

// maxManifestBytes bounds the manifest read into memory: it lists files,
// and even a million of them is well under this.
const maxManifestBytes = 256 << 20

func readManifest(ctx context.Context, rd sinks.Reader, key string) (*Manifest, error) {
	rc, err := rd.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(&ctxReader{ctx: ctx, r: rc}, maxManifestBytes+1))
	switch {
	case err != nil:
		return nil, err
	case len(body) > maxManifestBytes:
		return nil, fmt.Errorf("larger than %d bytes", maxManifestBytes)
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("not a manifest: %w", err)
	}
	return &m, nil
}

func (v *Verification) checkSuccess(ctx context.Context, rd sinks.Reader, dir string, present bool) {
	if !present {
		v.problem("%s is missing: the run never finished committing", SuccessName)
		return
	}
	rc, err := rd.Open(ctx, path.Join(dir, SuccessName))
	if err != nil {
		v.problem("%s: %v", SuccessName, err)
		return
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, &ctxReader{ctx: ctx, r: rc})
	switch {
	case err != nil:
		v.problem("%s: %v", SuccessName, err)
	case n != 0:
		v.problem("%s is not empty (%d bytes)", SuccessName, n)
	}
}

func (v *Verification) checkFiles(ctx context.Context, rd sinks.Reader, dir, manifestName string, files []sinks.FileInfo) {
	v.Files = make([]FileCheck, len(files))
	seen := map[string]bool{}
	var g errgroup.Group
	g.SetLimit(verifyConcurrency)
	for i, fi := range files {
		fc := &v.Files[i]
		*fc = FileCheck{Path: fi.Path, Format: fi.Format, Expected: FileFacts{Rows: fi.Rows, Bytes: fi.Bytes, SHA256: fi.SHA256}, Problems: []string{}}
		switch {
		case fi.Path == "" || path.Base(fi.Path) != fi.Path || strings.HasPrefix(fi.Path, "."):
			fc.Problems = append(fc.Problems, fmt.Sprintf("%q: %s lists a path that is no file of this folder", fi.Path, manifestName))
			continue
		case seen[fi.Path]:
			fc.Problems = append(fc.Problems, fmt.Sprintf("%s: listed twice in %s", fi.Path, manifestName))
			continue
		}
		seen[fi.Path] = true
		if f := sinks.FormatOf(fi.Path); f != fi.Format {
			fc.Problems = append(fc.Problems, fmt.Sprintf("%s: a %s file by its name; %s says %s", fi.Path, f, manifestName, fi.Format))
		}
		g.Go(func() error {
			actual, problems := checkFile(ctx, rd, path.Join(dir, fi.Path), fi.Path)
			fc.Actual = actual
			fc.Problems = append(fc.Problems, problems...)
			if actual != nil {
				fc.Problems = append(fc.Problems, compareFacts(fi.Path, manifestName, fc.Expected, *actual)...)
			}
			return nil // a file's failure is in its check, never the group's
		})
	}
	_ = g.Wait()
	for i := range v.Files {
		v.Files[i].OK = len(v.Files[i].Problems) == 0
	}
}

func compareFacts(name, manifestName string, want, got FileFacts) []string {
	var problems []string
	if got.Bytes != want.Bytes {
		problems = append(problems, fmt.Sprintf("%s: %d bytes; %s says %d", name, got.Bytes, manifestName, want.Bytes))
	}
	if got.SHA256 != want.SHA256 {
		problems = append(problems, fmt.Sprintf("%s: sha256 %s; %s says %s", name, got.SHA256, manifestName, want.SHA256))
	}
	if got.Rows >= 0 && got.Rows != want.Rows {
		problems = append(problems, fmt.Sprintf("%s: %d rows; %s says %d", name, got.Rows, manifestName, want.Rows))
	}
	return problems
}

// checkFile reads one data file once: its bytes are hashed and counted
// on their way to the row counter. Parquet needs random access: a local
// file is read in place (a second pass, from the page cache), anything
// else (an S3 object) is spooled to a temporary file while it is hashed,
// one GET, rather than many ranged GETs that would still have to fetch
// every byte for the checksum.
func checkFile(ctx context.Context, rd sinks.Reader, key, name string) (*FileFacts, []string) {
	rc, err := rd.Open(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, []string{fmt.Sprintf("%s: listed in the manifest, but missing", name)}
	}
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", name, err)}
	}
	defer rc.Close()
	in := &ctxReader{ctx: ctx, r: rc, sum: sha256.New()}
	rows, countErr := countFile(ctx, name, rc, in)
	if in.err != nil {
		return nil, []string{fmt.Sprintf("%s: read: %v", name, in.err)}
	}
	facts := &FileFacts{Rows: rows, Bytes: in.n, SHA256: hex.EncodeToString(in.sum.Sum(nil))}
	if countErr != nil {
		facts.Rows = -1
		return facts, []string{fmt.Sprintf("%s: not a complete %s file: %v", name, sinks.FormatOf(name), countErr)}
	}
	return facts, nil
}

type randomAccess interface {
	io.Reader
	io.ReaderAt
	io.Seeker
}

// countFile counts name's rows and reads all of in (which hashes), raw
// being what in reads.
func countFile(ctx context.Context, name string, raw io.Reader, in io.Reader) (int64, error) {
	if sinks.FormatOf(name) != sinks.FormatParquet {
		n, err := sinks.CountRows(ctx, name, in)
		// What a failed decode left unread is hashed too, for the report.
		_, _ = io.Copy(io.Discard, in) // a read error is in's own
		return n, err
	}
	if f, ok := raw.(randomAccess); ok {
		// Hash first, through in; then rewind for the reader.
		if _, err := io.Copy(io.Discard, in); err != nil {
			return 0, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		return sinks.CountRows(ctx, name, f)
	}
	tmp, err := os.CreateTemp("", "export-verify-*.parquet")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, in); err != nil {
		return 0, err
	}
	return sinks.CountRows(ctx, name, tmp)
}

// ctxReader stops reading when ctx is done, and hashes and counts what
// it reads when sum is set. err is the first read error, apart from EOF:
// the file could not be read, which is not the file's fault.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	sum hash.Hash
	n   int64
	err error
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.sum != nil {
		c.sum.Write(p[:n])
	}
	if err != nil && !errors.Is(err, io.EOF) && c.err == nil {
		c.err = err
	}
	return n, err
}
