package outputcheck

import (
	"context"
	"maps"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/pipeline"
	"github.com/saas-export/export/sources/simulator"
)

// export runs one real job into a temporary directory and returns what
// it wrote (120 users in files of at most 50 rows, in every format) and
// the run folder of each format.
func export(t *testing.T) (Tree, map[string]string) {
	t.Helper()
	out := t.TempDir()
	cfg, err := pipeline.Parse("jobs.yaml", []byte(`version: 1
output:
  destination: `+out+`
  max_rows_per_file: 50
  compression: {jsonl: gzip, csv: none}
jobs:
  - {name: ns, provider: nameshield, base_url: simulator, auth: {type: bearer, token: t}}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	sum, err := pipeline.Run(context.Background(), cfg, pipeline.Options{
		RunID: "r1", Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Simulator: simulator.Options{Users: 120, Seed: 1},
	})
	if err != nil || sum.Status != pipeline.StatusSucceeded {
		t.Fatalf("run: %v, %+v", err, sum)
	}
	tree, err := ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{}
	for _, format := range []string{"jsonl", "csv", "parquet"} {
		dirs[format] = "ns/" + format + "/dt=2026-01-02/run=r1"
	}
	return tree, dirs
}

func TestCheckPassesACompleteRun(t *testing.T) {
	tree, dirs := export(t)
	r := new(Checker).Check(tree)
	if len(r.Problems) != 0 {
		t.Fatalf("problems: %v", r.Problems)
	}
	if len(r.Folders) != len(dirs) {
		t.Errorf("%d folders, want one per format: %v", len(r.Folders), r.States())
	}
	for _, dir := range dirs {
		f := r.Folders[dir]
		if f == nil || f.State != Complete || len(f.Data) != 3 || f.Records != 120 || f.RunID != "r1" {
			t.Errorf("folder %s: %+v; all: %v", dir, f, r.States())
		}
	}
}

// TestCheckFindsEveryKindOfBreakage: each mutation of a complete run is
// one a crash or a wrong commit order could leave; Check must name it.
func TestCheckFindsEveryKindOfBreakage(t *testing.T) {
	tree, dirs := export(t)
	// A data file's folder is its format's; the markers are the Parquet one's.
	at := func(name string) string {
		for format, dir := range dirs {
			if strings.Contains(name, "."+format) {
				return path.Join(dir, name)
			}
		}
		return path.Join(dirs["parquet"], name)
	}
	// One checker throughout: what it remembers of the intact files must
	// not hide a change to them.
	c := new(Checker)
	if r := c.Check(tree); len(r.Problems) != 0 {
		t.Fatal(r.Problems)
	}
	for _, tc := range []struct {
		name   string
		mutate func(Tree)
		want   string
	}{
		{"truncated parquet", func(tr Tree) { tr[at("users-00001.parquet")] = tr[at("users-00001.parquet")][:200] }, "users-00001.parquet is not a complete file"},
		{"truncated gzip", func(tr Tree) { b := tr[at("users-00002.jsonl.gz")]; tr[at("users-00002.jsonl.gz")] = b[:len(b)-9] }, "users-00002.jsonl.gz is not a complete file"},
		{"csv cut mid-record", func(tr Tree) { b := tr[at("users-00003.csv")]; tr[at("users-00003.csv")] = b[:len(b)-5] }, "users-00003.csv is not a complete file"},
		{"csv cut at a line end", func(tr Tree) { cutLastLine(tr, at("users-00003.csv")) }, "users-00003.csv: 19 rows; " + pipeline.ManifestName + " says 20"},
		{"another run's file", func(tr Tree) { tr[at("users-00001.csv")] = tr[at("users-00002.csv")] }, "users-00001.csv: "},
		{"a listed file missing", func(tr Tree) { delete(tr, at("users-00003.parquet")) }, "names users-00003.parquet, which is missing"},
		{"an unlisted file", func(tr Tree) { tr[at("users-00004.parquet")] = tr[at("users-00003.parquet")] }, "users-00004.parquet is not in " + pipeline.ManifestName},
		{"_SUCCESS alone", func(tr Tree) { delete(tr, at(pipeline.ManifestName)) }, pipeline.SuccessName + " without " + pipeline.ManifestName},
		{"a stray file", func(tr Tree) { tr[at("notes.txt")] = nil }, "stray file notes.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := maps.Clone(tree)
			tc.mutate(tr)
			r := c.Check(tr)
			if !strings.Contains(strings.Join(r.Problems, "\n"), tc.want) {
				t.Errorf("problems %q lack %q", r.Problems, tc.want)
			}
		})
	}

	tr := maps.Clone(tree)
	tr[at(".users.csv.tmp-0a1b2c3d4e5f")] = []byte("provider,jo")
	r := c.Check(tr)
	if len(r.Problems) != 0 {
		t.Errorf("a temporary file is no problem, got %v", r.Problems)
	}
	if temps := r.Temps(); len(temps) != 1 || temps[0] != at(".users.csv.tmp-0a1b2c3d4e5f") {
		t.Errorf("temps = %v", temps)
	}
}

func cutLastLine(tr Tree, key string) {
	b := tr[key]
	i := strings.LastIndexByte(string(b[:len(b)-1]), '\n')
	tr[key] = b[:i+1]
}
