package pipeline

import (
	"fmt"
	"slices"
	"testing"
)

// Over N shards every job runs exactly once, for N from 1 to 8, for the
// root jobs.yaml and for a fleet of 50 jobs.
func TestShardsRunEveryJobExactlyOnce(t *testing.T) {
	root := rootJobsTo(t, "  destination: "+t.TempDir()+"\n")
	fleet := &Config{File: "fleet.yaml"}
	for i := range 50 {
		fleet.Jobs = append(fleet.Jobs, Job{Name: fmt.Sprintf("tenant-%02d", i)})
	}
	for _, cfg := range []*Config{root, fleet} {
		for n := 1; n <= 8; n++ {
			runs := map[string]int{}
			for i := range n {
				jobs, err := SelectJobs(cfg, nil, Shard{Index: i, Count: n})
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range jobs {
					runs[j.Name]++
					if ShardOf(j.Name, n) != i {
						t.Errorf("%s: shard %d/%d ran %s, whose shard is %d", cfg.File, i, n, j.Name, ShardOf(j.Name, n))
					}
				}
			}
			for _, j := range cfg.Jobs {
				if runs[j.Name] != 1 {
					t.Errorf("%s over %d shards: job %s ran %d times", cfg.File, n, j.Name, runs[j.Name])
				}
			}
		}
	}
	// The hash is part of the contract: schedulers' assignments must not
	// move between versions.
	if got := []int{ShardOf("kare", 8), ShardOf("mctime", 8), ShardOf("medipim", 8), ShardOf("nameshield", 8), ShardOf("requestor", 8)}; !slices.Equal(got, []int{4, 0, 2, 3, 7}) {
		t.Errorf("the root jobs' shards of 8 moved: %v", got)
	}
}
