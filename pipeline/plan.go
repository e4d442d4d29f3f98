package pipeline

import (
	"context"
	"fmt"
	"path"
	"time"

	"github.com/saas-export/export/sources"
)

// PlannedJob is what a run would do for one job, without any network.
type PlannedJob struct {
	Job         string   `json:"job"`
	Provider    string   `json:"provider"`
	Request     string   `json:"request"` // METHOD URL
	PageSize    int      `json:"page_size"`
	MaxInFlight int      `json:"max_in_flight"`
	RateLimit   string   `json:"rate_limit"`
	Timeout     string   `json:"timeout"`
	Attempts    int      `json:"max_attempts"`
	Output      string   `json:"output"` // the folder's URI
	Formats     []string `json:"formats"`
}

// Plan describes the selected jobs of a run pinned to now and runID.
func Plan(cfg *Config, opts Options) ([]PlannedJob, error) {
	jobs, err := SelectJobs(cfg, opts.Jobs, opts.Shard)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	runID := opts.RunID
	if runID == "" {
		runID = "RUN_ID" // chosen when the run starts
	}
	out := make([]PlannedJob, 0, len(jobs))
	for _, j := range jobs {
		p, _ := sources.Lookup(j.Provider) // validated at load
		store, err := OpenStore(context.Background(), j.Output)
		if err != nil {
			return nil, fmt.Errorf("job %q: %w", j.Name, err)
		}
		out = append(out, PlannedJob{
			Job: j.Name, Provider: j.Provider,
			Request:  p.Method + " " + j.BaseURL + p.Endpoint,
			PageSize: j.PageSize, MaxInFlight: j.MaxInFlight, RateLimit: j.RateLimit.String(),
			Timeout: j.Timeout.String(), Attempts: j.Retry.MaxAttempts,
			Output:  store.URI(path.Clean(ExpandPath(j.Output.Path, j, now, runID))),
			Formats: j.Output.Formats,
		})
	}
	return out, nil
}
