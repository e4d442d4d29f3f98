package pipeline

import (
	"context"
	"fmt"
	"math"
	"path"
	"time"

	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/httpsource"
)

// maxProbeRequests is what a job's count probe may send, retries
// included: the contract's bound on what `export plan` costs an API.
const maxProbeRequests = 3

// PlanOptions are the settings of `export plan`.
type PlanOptions struct {
	Options
	// Offline makes no request at all: no count probe, so no pages,
	// requests or source total.
	Offline bool
	// Shards, when set, gives each job the shard (of that many) that runs
	// it; it selects nothing.
	Shards int
}

// Plan is what a run would do: `export plan --output json`.
type Plan struct {
	Jobs   []PlannedJob `json:"jobs"`
	Totals PlanTotals   `json:"totals"`
}

// PlannedJob is one job of a plan.
type PlannedJob struct {
	Job         string `json:"job"`
	Provider    string `json:"provider"`
	Request     string `json:"request"` // METHOD URL
	PageSize    int    `json:"page_size"`
	MaxInFlight int    `json:"max_in_flight"`
	RateLimit   string `json:"rate_limit"`
	Timeout     string `json:"timeout"`
	Attempts    int    `json:"max_attempts"`
	// SourceTotal is the users the count probe found (within the
	// incremental window where the API filters by it); null offline, or
	// where the API reports no count.
	SourceTotal *int64 `json:"source_total"`
	// Pages is what one read of the listing fetches; null offline.
	Pages *int `json:"pages"`
	// Reads is how often the listing is read: twice with drift.confirm.
	Reads int `json:"reads"`
	// Requests is the run's requests with no faults and no drift: reads ×
	// one read's requests; null offline. RequestsAtMost says it is an
	// upper bound (a listing sorted newest first stops early).
	Requests       *int `json:"requests"`
	RequestsAtMost bool `json:"requests_at_most"`
	// ProbeRequests is what the count probe sent, at most 3.
	ProbeRequests int64 `json:"probe_requests"`
	// SecondsEstimate is the run's wall time under the job's rate and
	// in-flight limits, at the latency the probe measured; null offline.
	SecondsEstimate *float64 `json:"seconds_estimate"`
	// Incremental is the window an incremental job's run would cover;
	// null for a job that is not incremental.
	Incremental *Window `json:"incremental"`
	// SinceUnknown says the window's start was not read: offline, from
	// state in S3, which is network.
	SinceUnknown bool     `json:"since_unknown,omitempty"`
	Output       string   `json:"output"` // the folder's URI; FORMAT stands for each of Formats when they have folders of their own
	Formats      []string `json:"formats"`
	Shard        *int     `json:"shard"` // under --shards N; else null
	Error        string   `json:"error,omitempty"`
}

// PlanTotals sums the jobs of a plan.
type PlanTotals struct {
	Jobs            int     `json:"jobs"`
	Requests        int     `json:"requests"` // of the jobs that have an estimate
	SecondsEstimate float64 `json:"seconds_estimate"`
	// Failed counts the jobs whose probe or state could not be read.
	Failed int `json:"failed"`
}

// MakePlan describes the selected jobs of a run pinned to opts' clock
// and run id. It writes nothing and takes no lease; unless offline, each
// job sends its provider's count probe (at most 3 requests). A job whose
// probe or state fails carries the error; the plan goes on.
func MakePlan(ctx context.Context, cfg *Config, opts PlanOptions) (*Plan, error) {
	jobs, err := SelectJobs(cfg, opts.Jobs, opts.Shard)
	if err != nil {
		return nil, err
	}
	r := newRunner(cfg, jobs, opts.Options)
	defer r.close()
	runID := opts.RunID
	if runID == "" {
		runID = "RUN_ID" // chosen when the run starts
	}
	plan := &Plan{Jobs: make([]PlannedJob, 0, len(jobs))}
	for _, j := range jobs {
		pj, err := r.planJob(ctx, j, runID, opts)
		if err != nil {
			pj.Error = err.Error()
			plan.Totals.Failed++
		}
		if opts.Shards > 0 {
			shard := ShardOf(j.Name, opts.Shards)
			pj.Shard = &shard
		}
		plan.Jobs = append(plan.Jobs, pj)
		plan.Totals.Jobs++
		if pj.Requests != nil {
			plan.Totals.Requests += *pj.Requests
		}
		if pj.SecondsEstimate != nil {
			plan.Totals.SecondsEstimate += *pj.SecondsEstimate
		}
	}
	plan.Totals.SecondsEstimate = roundSeconds(plan.Totals.SecondsEstimate)
	return plan, nil
}

func (r *runner) planJob(ctx context.Context, j Job, runID string, opts PlanOptions) (PlannedJob, error) {
	pj := PlannedJob{
		Job: j.Name, Provider: j.Provider,
		PageSize: j.PageSize, MaxInFlight: j.MaxInFlight, RateLimit: j.RateLimit.String(),
		Timeout: j.Timeout.String(), Attempts: j.Retry.MaxAttempts,
		Reads: 1, Formats: j.Output.Formats,
	}
	if j.Drift.Confirm {
		pj.Reads = 2
	}
	store, err := OpenStore(ctx, j.Output)
	if err != nil {
		return pj, fmt.Errorf("job %q: %w", j.Name, err)
	}
	format := "FORMAT" // each format has its folder, named as the FORMATS column says
	if len(j.Output.Formats) == 1 {
		format = j.Output.Formats[0]
	}
	pj.Output = store.URI(path.Clean(ExpandPath(j.Output.Path, j, r.extractedAt, runID, format)))
	p, ok := sources.Lookup(j.Provider)
	if !ok {
		return pj, fmt.Errorf("job %q: unknown provider %q", j.Name, j.Provider)
	}
	pj.Request = p.Method + " " + j.BaseURL + p.Endpoint
	var since *time.Time
	switch {
	case j.Incremental && opts.Offline && isS3Location(r.cfg.State.Dir):
		pj.Incremental, pj.SinceUnknown = &Window{Until: r.extractedAt}, true
	case j.Incremental:
		w, err := r.plannedWindow(ctx, j)
		if err != nil {
			return pj, fmt.Errorf("job %q: %w", j.Name, err)
		}
		pj.Incremental = &w
		since = w.Since
	}
	// Offline stops before connect, which would start the simulator.
	if opts.Offline {
		return pj, nil
	}
	if p.Probe == nil {
		return pj, fmt.Errorf("job %q: provider %s has no count probe", j.Name, p.Name)
	}
	_, sj, client, err := r.connect(j, since, maxProbeRequests)
	if err != nil {
		return pj, err
	}
	t0 := time.Now()
	est, err := p.Probe(ctx, sj, client)
	elapsed := time.Since(t0)
	pj.ProbeRequests = client.Stats().Requests
	if err != nil {
		return pj, fmt.Errorf("job %q: count probe: %w", j.Name, err)
	}
	if est.Total.Valid {
		pj.SourceTotal = &est.Total.V
	}
	// A read the confirming one follows leaves its rechecks to it.
	pages, requests := est.Pages, est.Requests+(pj.Reads-1)*est.Pages
	pj.Pages, pj.Requests, pj.RequestsAtMost = &pages, &requests, est.AtMost
	rate, inFlight := r.budgets.limits(j)
	pj.SecondsEstimate = estimateSeconds(rate, inFlight, requests, elapsed, pj.ProbeRequests)
	return pj, nil
}

// plannedWindow is the window a run of an incremental job would cover
// now: read from its state, without the lease, and changing nothing.
func (r *runner) plannedWindow(ctx context.Context, j Job) (Window, error) {
	w := Window{Until: r.extractedAt}
	if r.opts.Full {
		return w, nil
	}
	store, err := openStateStore(ctx, r.cfg.State)
	if err != nil {
		return w, err
	}
	st, _, err := store.load(ctx, j)
	if err != nil {
		return w, err
	}
	return (&incrementalRun{state: st, overlap: j.Overlap}).window(r.extractedAt), nil
}

// estimateSeconds is the longer of the rate limit's bound and the time
// the requests take at the probe's latency, inFlight at once. rate and
// inFlight are the job's account's when jobs share it: each job's estimate
// is of it alone on the shared budget, so that the totals, which add the
// jobs up, hold for jobs that split it.
func estimateSeconds(rate httpsource.Rate, inFlight, requests int, probeTime time.Duration, probeRequests int64) *float64 {
	var latency float64
	if probeRequests > 0 {
		latency = probeTime.Seconds() / float64(probeRequests)
	}
	secs := float64(requests) * latency / float64(max(inFlight, 1))
	if bound := rateBound(rate, requests); bound != nil {
		secs = max(secs, *bound)
	}
	secs = roundSeconds(secs)
	return &secs
}

// rateBound is the least time requests take under the rate limit (a
// bucket of one token): (requests − 1) / rate; null when unlimited.
func rateBound(rate httpsource.Rate, requests int) *float64 {
	if rate.N <= 0 || rate.Per <= 0 {
		return nil
	}
	secs := float64(max(requests-1, 0)) * rate.Per.Seconds() / float64(rate.N)
	return &secs
}

func roundSeconds(s float64) float64 { return math.Round(s*100) / 100 }
