package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/simulator"
)

// TestRootJobsFileExportsEveryProvider runs the repository's own jobs.yaml
// (what `go run ./cmd/export run` does on a fresh clone) into a temporary
// folder: every provider is exported in every format, each with exactly the
// simulator's users, inactive and deleted ones included.
func TestRootJobsFileExportsEveryProvider(t *testing.T) {
	cfg, err := Load("../jobs.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	providers := map[string]bool{}
	for i := range cfg.Jobs {
		cfg.Jobs[i].Output.Destination = out
		providers[cfg.Jobs[i].Provider] = true
	}
	for _, p := range sources.All() {
		if !providers[p.Name] {
			t.Errorf("jobs.yaml has no job for provider %s", p.Name)
		}
	}
	const users = 150
	sum, err := Run(context.Background(), cfg, Options{RunID: "r1", Now: pinnedNow, Simulator: simulator.Options{Users: users, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusSucceeded {
		t.Fatalf("status %q: %+v", sum.Status, sum.Jobs)
	}
	files := listFiles(t, out)
	for _, j := range sum.Jobs {
		if j.Records != users || len(j.Files) != 3 {
			t.Errorf("%s: %d records in %d files, want %d in 3", j.Job, j.Records, len(j.Files), users)
		}
		inactive := 0
		body := files[pinnedDir(j.Job, "jsonl", "r1")+"users.jsonl"]
		for _, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
			var row struct{ Active *bool }
			if err := json.Unmarshal(line, &row); err != nil {
				t.Fatalf("%s: %v", j.Job, err)
			}
			if row.Active != nil && !*row.Active {
				inactive++
			}
		}
		// Providers that say whether a user is active must export the
		// inactive (McTime) and deleted (Kare) users the APIs hide by default.
		if j.Provider != "medipim" && inactive == 0 {
			t.Errorf("%s: no inactive users exported", j.Job)
		}
	}
}
