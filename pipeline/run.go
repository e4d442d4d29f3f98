package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sinks"
	"github.com/saas-export/export/sources/simulator"
)

// Job and run statuses, as the run summary reports them.
const (
	StatusSucceeded   = "succeeded"
	StatusFailed      = "failed"
	StatusSkipped     = "skipped"
	StatusInterrupted = "interrupted"
)

// Options are the per-run settings that come from the command line.
type Options struct {
	RunID string    // "": a new id from the clock and random bits
	Now   time.Time // zero: the wall clock; set, it pins every clock read
	Jobs  []string  // names to run; empty: all
	Shard Shard
	// Full makes incremental jobs export everyone, ignoring their state,
	// and start it again.
	Full      bool
	Version   string // the tool's version, sent in the User-Agent
	Logger    *slog.Logger
	Simulator simulator.Options // for jobs with base_url: simulator
	Progress  Progress          // nil: report nothing
}

// Progress hears how far each job has come; the CLI draws progress bars
// with it on a terminal. Calls for different jobs come concurrently.
type Progress interface {
	JobStarted(job string)
	// Records is called after every page with the running count and the
	// provider's total, when it reports one.
	Records(job string, written int64, total schema.Null[int64])
	JobFinished(job string, err error)
}

// noProgress is the Progress of a run that reports none.
type noProgress struct{}

func (noProgress) JobStarted(string)                         {}
func (noProgress) Records(string, int64, schema.Null[int64]) {}
func (noProgress) JobFinished(string, error)                 {}

// Shard selects a stable subset of jobs: those whose name hashes to Index
// modulo Count. Count 0 selects every job.
type Shard struct{ Index, Count int }

// Summary is the run summary printed on stdout.
type Summary struct {
	RunID  string      `json:"run_id"`
	Status string      `json:"status"`
	Jobs   []JobResult `json:"jobs"`
}

// JobResult is one job's line in the summary.
type JobResult struct {
	Job         string `json:"job"`
	Provider    string `json:"provider"`
	Status      string `json:"status"`
	Records     int64  `json:"records"`
	SourceTotal *int64 `json:"source_total"`
	// Manifest is the first of Manifests: one per output folder, so one
	// per format when the path has {format}.
	Manifest    string       `json:"manifest,omitempty"`
	Manifests   []string     `json:"manifests,omitempty"`
	Files       []FileResult `json:"files"`
	Error       string       `json:"error,omitempty"`
	DriftEvents int          `json:"drift_events"` // reads thrown away because the listing changed under them
	// Incremental is the window of changes an incremental job's run
	// covered; nil for a full export.
	Incremental *Window `json:"incremental"`
	Requests    int64   `json:"requests"` // HTTP requests sent to the provider, retries included
	Retries     int64   `json:"retries"`
	RateLimited int64   `json:"rate_limited"` // answers of 429 Too Many Requests among them
	// RequestsPerSecond is the effective request rate: requests over the
	// job's wall time.
	RequestsPerSecond float64 `json:"requests_per_second"`
	// RateLimitFinal is the request rate, per second, that the job's
	// budget allowed when it ended: its rate_limit (its account's, when
	// shared), lowered to a stricter rate the API advertised or after
	// 429s. Null without a limit, or when the job sent no request.
	RateLimitFinal *float64 `json:"rate_limit_final"`
	Seconds        float64  `json:"seconds"` // wall time, to the millisecond
}

// FileResult is one committed data file in the summary.
type FileResult struct {
	URI    string `json:"uri"`
	Format string `json:"format"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// SelectJobs returns the jobs a run covers, in file order, and an error
// naming any --job that the config does not have.
func SelectJobs(cfg *Config, names []string, shard Shard) ([]Job, error) {
	known := map[string]bool{}
	for _, j := range cfg.Jobs {
		known[j.Name] = true
	}
	for _, n := range names {
		if !known[n] {
			return nil, fmt.Errorf("no job named %q in %s", n, cfg.File)
		}
	}
	var out []Job
	for _, j := range cfg.Jobs {
		if len(names) > 0 && !slices.Contains(names, j.Name) {
			continue
		}
		if shard.Count > 0 && ShardOf(j.Name, shard.Count) != shard.Index {
			continue
		}
		out = append(out, j)
	}
	return out, nil
}

// ShardOf is the stable shard of a job name: FNV-1a of the name modulo n.
func ShardOf(name string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32() % uint32(n))
}

// Run exports every selected job, at most cfg.Concurrency at once. A
// failing job does not stop the others; cancelling ctx interrupts the run
// and aborts in-flight writes.
func Run(ctx context.Context, cfg *Config, opts Options) (*Summary, error) {
	jobs, err := SelectJobs(cfg, opts.Jobs, opts.Shard)
	if err != nil {
		return nil, err
	}
	r := newRunner(cfg, jobs, opts)
	defer r.close()

	results := make([]JobResult, len(jobs))
	var g errgroup.Group
	g.SetLimit(cfg.Concurrency)
	for i, job := range jobs {
		results[i] = JobResult{Job: job.Name, Provider: job.Provider, Status: StatusSkipped, Files: []FileResult{}}
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil // interrupted before this job started: it stays skipped
			}
			results[i] = r.runJob(ctx, job)
			return nil // a job's failure is in its result, never the group's
		})
	}
	_ = g.Wait()

	sum := &Summary{RunID: r.runID, Status: StatusSucceeded, Jobs: results}
	for _, res := range results {
		if res.Status == StatusFailed {
			sum.Status = StatusFailed
		}
	}
	if ctx.Err() != nil {
		sum.Status = StatusInterrupted
	}
	return sum, nil
}

// runner holds what the jobs of one run share.
type runner struct {
	cfg         *Config
	opts        Options
	log         *slog.Logger
	runID       string
	clock       func() time.Time
	extractedAt time.Time

	simOnce sync.Once
	sim     *simulator.Server
	simErr  error

	storesMu sync.Mutex
	stores   map[string]sinks.Store // by destination and settings

	budgets *accountBudgets // of the jobs that share an account
}

// newRunner prepares a run of jobs, the selected ones of cfg.
func newRunner(cfg *Config, jobs []Job, opts Options) *runner {
	// Microseconds: the precision every output format keeps.
	clock := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	if !opts.Now.IsZero() {
		pinned := opts.Now.UTC().Truncate(time.Microsecond)
		clock = func() time.Time { return pinned }
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Progress == nil {
		opts.Progress = noProgress{}
	}
	r := &runner{cfg: cfg, opts: opts, log: log, clock: clock, stores: map[string]sinks.Store{}, budgets: newAccountBudgets(jobs, log)}
	r.extractedAt = clock()
	r.runID = opts.RunID
	if r.runID == "" {
		r.runID = NewRunID(r.extractedAt)
	}
	return r
}

// NewRunID returns a sortable, unique run id such as 20261123T120756Z-3f9a1c.
func NewRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// simulatorURL starts the built-in simulator on first use and returns the
// base URL for provider.
func (r *runner) simulatorURL(provider string) (string, error) {
	r.simOnce.Do(func() {
		opts := r.opts.Simulator
		if opts.Users == 0 {
			opts.Users = simulator.DefaultUsers
		}
		r.sim, r.simErr = simulator.Start("127.0.0.1:0", opts)
		if r.simErr == nil {
			r.log.Info("started the built-in simulator", "url", r.sim.URL, "users", opts.Users)
		}
	})
	if r.simErr != nil {
		return "", r.simErr
	}
	return r.sim.BaseURL(provider), nil
}

func (r *runner) close() {
	if r.sim != nil {
		if err := r.sim.Close(); err != nil {
			r.log.Warn("stopping the built-in simulator", "err", err)
		}
	}
}

// isInterrupted tells a cancelled run apart from a job's own failure.
func isInterrupted(ctx context.Context, err error) bool {
	return ctx.Err() != nil && errors.Is(err, context.Canceled)
}
