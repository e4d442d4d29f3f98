// Package outputcheck checks a destination's job folders against the
// output contract, whatever state a run left them in: every data file at
// a final name is complete, a _SUCCESS has a manifest beside it, and a
// manifest describes exactly the data files beside it. It reads files
// with independent decoders (encoding/json, encoding/csv, arrow-go's
// Parquet reader), not with the code that wrote them. It is for tests.
package outputcheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/saas-export/export/pipeline"
	"github.com/saas-export/export/sinks"
)

// Tree is a destination's files: slash-separated paths relative to its
// root, to their content.
type Tree map[string][]byte

// tempName is the name LocalStore gives a file still being written:
// .users.parquet.tmp-1f2e3d4c5b6a. A SIGKILL can leave one behind.
var tempName = regexp.MustCompile(`^\..+\.tmp-[0-9a-f]+$`)

// ReadDir reads every file under root, hidden ones included.
func ReadDir(root string) (Tree, error) {
	tree := Tree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		tree[filepath.ToSlash(rel)] = b
		return err
	})
	if errors.Is(err, fs.ErrNotExist) && len(tree) == 0 {
		return tree, nil
	}
	return tree, err
}

// State is how far a job folder got.
type State string

const (
	Empty    State = "empty"    // temporary files only
	Data     State = "data"     // data files, no manifest
	Manifest State = "manifest" // a manifest, no _SUCCESS
	Complete State = "complete" // a manifest and _SUCCESS
)

// Folder is what Check found in one folder.
type Folder struct {
	State State
	Data  []string // data files at final names
	Temps []string // temporary files (not at a final name)
	// RunID, StartedAt and Records are the manifest's, if there is one.
	RunID     string
	StartedAt time.Time
	Records   int64
}

// Report is the result of Check.
type Report struct {
	Folders  map[string]*Folder // by folder path
	Problems []string           // contract violations, sorted
}

// Temps lists every temporary file, sorted.
func (r Report) Temps() []string {
	var out []string
	for dir, f := range r.Folders {
		for _, t := range f.Temps {
			out = append(out, path.Join(dir, t))
		}
	}
	slices.Sort(out)
	return out
}

// States counts folders by state, for logs: "complete=3 data=1".
func (r Report) States() string {
	n := map[State]int{}
	for _, f := range r.Folders {
		n[f.State]++
	}
	var parts []string
	for _, s := range []State{Empty, Data, Manifest, Complete} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", s, n[s]))
		}
	}
	return strings.Join(parts, " ")
}

// Checker checks trees. It remembers the files it decoded, by checksum,
// so that checking a destination again after a few files changed decodes
// only those.
type Checker struct {
	rows map[string]int64 // by sha256
}

// Check checks every folder of tree.
func (c *Checker) Check(tree Tree) Report {
	if c.rows == nil {
		c.rows = map[string]int64{}
	}
	byDir := map[string][]string{}
	for p := range tree {
		dir, name := path.Split(p)
		byDir[path.Clean(dir)] = append(byDir[path.Clean(dir)], name)
	}
	r := Report{Folders: map[string]*Folder{}}
	for _, dir := range slices.Sorted(maps.Keys(byDir)) {
		f, problems := c.checkFolder(tree, dir, byDir[dir])
		r.Folders[dir] = f
		for _, p := range problems {
			r.Problems = append(r.Problems, dir+": "+p)
		}
	}
	return r
}

func (c *Checker) checkFolder(tree Tree, dir string, names []string) (*Folder, []string) {
	f := &Folder{State: Empty}
	var problems []string
	var manifest, success bool
	rows, sums := map[string]int64{}, map[string]string{}
	for _, name := range names {
		body := tree[path.Join(dir, name)]
		switch {
		case name == pipeline.ManifestName:
			manifest = true
		case name == pipeline.SuccessName:
			success = true
			if len(body) != 0 {
				problems = append(problems, fmt.Sprintf("%s is not empty (%d bytes)", name, len(body)))
			}
		case tempName.MatchString(name):
			f.Temps = append(f.Temps, name)
		case strings.HasPrefix(name, "users"):
			f.Data = append(f.Data, name)
			sum := sha256.Sum256(body)
			sums[name] = hex.EncodeToString(sum[:])
			n, ok := c.rows[sums[name]]
			if !ok {
				var err error
				if n, err = Rows(name, body); err != nil {
					problems = append(problems, fmt.Sprintf("%s is not a complete file: %v", name, err))
				} else {
					c.rows[sums[name]] = n
				}
			}
			rows[name] = n
		default:
			problems = append(problems, "stray file "+name)
		}
	}
	slices.Sort(f.Data)
	slices.Sort(f.Temps)
	if len(f.Data) > 0 {
		f.State = Data
	}
	if success && !manifest {
		problems = append(problems, fmt.Sprintf("%s without %s", pipeline.SuccessName, pipeline.ManifestName))
	}
	if !manifest {
		return f, problems
	}
	f.State = Manifest
	if success {
		f.State = Complete
	}
	return f, append(problems, checkManifest(tree, dir, f, rows, sums)...)
}

// checkManifest checks that the manifest names exactly the data files
// beside it, each with its rows, bytes and checksum.
func checkManifest(tree Tree, dir string, f *Folder, rows map[string]int64, sums map[string]string) []string {
	var m pipeline.Manifest
	if err := json.Unmarshal(tree[path.Join(dir, pipeline.ManifestName)], &m); err != nil {
		return []string{fmt.Sprintf("%s: %v", pipeline.ManifestName, err)}
	}
	f.RunID, f.StartedAt, f.Records = m.RunID, m.StartedAt, m.Records
	var problems []string
	listed := map[string]bool{}
	perFormat := map[string]int64{}
	for _, fi := range m.Files {
		listed[fi.Path] = true
		perFormat[fi.Format] += fi.Rows
		sum, ok := sums[fi.Path]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s names %s, which is missing", pipeline.ManifestName, fi.Path))
			continue
		}
		if size := len(tree[path.Join(dir, fi.Path)]); sum != fi.SHA256 || int64(size) != fi.Bytes {
			problems = append(problems, fmt.Sprintf("%s: %d bytes, sha256 %s; %s says %d bytes, sha256 %s",
				fi.Path, size, sum, pipeline.ManifestName, fi.Bytes, fi.SHA256))
		}
		if rows[fi.Path] != fi.Rows {
			problems = append(problems, fmt.Sprintf("%s: %d rows; %s says %d", fi.Path, rows[fi.Path], pipeline.ManifestName, fi.Rows))
		}
		if format := sinks.FormatOf(fi.Path); format != fi.Format {
			problems = append(problems, fmt.Sprintf("%s: a %s file; %s says %s", fi.Path, format, pipeline.ManifestName, fi.Format))
		}
	}
	for _, name := range f.Data {
		if !listed[name] {
			problems = append(problems, fmt.Sprintf("%s is not in %s", name, pipeline.ManifestName))
		}
	}
	for format, n := range perFormat {
		if n != m.Records {
			problems = append(problems, fmt.Sprintf("the %s files hold %d rows; %s says %d records", format, n, pipeline.ManifestName, m.Records))
		}
	}
	return problems
}

// Rows reads a data file in full, by its name's extension, and returns
// how many rows it holds: sinks.CountRows, which export verify uses too.
func Rows(name string, body []byte) (int64, error) {
	return sinks.CountRows(context.Background(), name, bytes.NewReader(body))
}
