package pipeline_test

import (
	"context"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/internal/outputcheck"
	"github.com/saas-export/export/pipeline"
)

// An unchanged rerun of an incremental job is a committed export with no
// rows: every format's file decodes (the Parquet one through arrow-go,
// with the schema and no rows), the manifest says 0 records, and
// _SUCCESS stands beside it.
func TestAnUnchangedIncrementalRerunCommitsAnEmptyExport(t *testing.T) {
	out, state := t.TempDir(), t.TempDir()
	yml := fmt.Sprintf(`version: 1
output: {destination: %q, formats: [jsonl, csv, parquet]}
state: {dir: %q}
jobs:
  - {name: kare, provider: kare, base_url: simulator, incremental: true, auth: {type: bearer, token: t, headers: {x-session-token: s}}}
  - {name: medipim, provider: medipim, base_url: simulator, incremental: true}
`, out, state)
	cfg, err := pipeline.Parse("jobs.yaml", []byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	for _, runID := range []string{"first", "rerun"} {
		sum, err := pipeline.Run(context.Background(), cfg, pipeline.Options{RunID: runID, Now: now})
		if err != nil || sum.Status != pipeline.StatusSucceeded {
			t.Fatalf("run %s: %v %+v", runID, err, sum)
		}
		for _, j := range sum.Jobs {
			if want := map[string]int64{"first": 2000, "rerun": 0}[runID]; j.Records != want {
				t.Errorf("run %s, job %s: %d records, want %d", runID, j.Job, j.Records, want)
			}
		}
	}
	tree, err := outputcheck.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var check outputcheck.Checker
	rep := check.Check(tree)
	if len(rep.Problems) > 0 {
		t.Fatalf("broken output:\n%s", strings.Join(rep.Problems, "\n"))
	}
	for _, job := range []string{"kare", "medipim"} {
		for _, format := range []string{"jsonl", "csv", "parquet"} {
			dir := path.Join(job, format, "dt=2026-12-01", "run=rerun")
			f := rep.Folders[dir]
			if f == nil || f.State != outputcheck.Complete || f.Records != 0 || len(f.Data) != 1 {
				t.Fatalf("%s: %+v, want a complete folder with an empty data file", dir, f)
			}
			rows, err := outputcheck.Rows("users."+format, tree[path.Join(dir, "users."+format)])
			if err != nil || rows != 0 {
				t.Errorf("%s/users.%s: %d rows, %v; want a valid file with none", dir, format, rows, err)
			}
		}
	}
}
