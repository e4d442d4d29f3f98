package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/saas-export/export/pipeline"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/simulator"
)

func cmdPlan(ctx context.Context, args []string, e env) int {
	fs := newFlags("plan", e)
	var jobs multiFlag
	cfgFlag := fs.String("c", "", "config file (default $EXPORT_CONFIG, then ./jobs.yaml)")
	fs.Var(&jobs, "job", "plan only this job (repeatable)")
	output := fs.String("output", "text", "text or json")
	offline := fs.Bool("offline", false, "send no count probe: no network at all")
	shards := fs.Int("shards", 0, "show which of N shards runs each job")
	full := fs.Bool("full", false, "plan a run with --full: incremental jobs export everyone")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *output != "text" && *output != "json" {
		return usageError(e, fmt.Errorf("--output must be text or json, not %q", *output))
	}
	if *shards < 0 {
		return usageError(e, fmt.Errorf("--shards must be at least 1"))
	}
	cfg, code := loadConfig(*cfgFlag, e)
	if cfg == nil {
		return code
	}
	opts := pipeline.PlanOptions{
		Options: pipeline.Options{Jobs: jobs, Version: version(), Full: *full},
		Offline: *offline, Shards: *shards,
	}
	return printPlan(ctx, e, cfg, opts, *output)
}

// printPlan prints the plan; a job whose probe or state failed makes it
// exit 1, as a failed job makes a run.
func printPlan(ctx context.Context, e env, cfg *pipeline.Config, opts pipeline.PlanOptions, format string) int {
	plan, err := pipeline.MakePlan(ctx, cfg, opts)
	if err != nil {
		return usageError(e, err)
	}
	code := exitOK
	if plan.Totals.Failed > 0 {
		code = exitJobsFailed
	}
	if format == "json" {
		return max(writeJSON(e, plan), code)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tPROVIDER\tSHARD\tREQUEST\tPAGE SIZE\tIN FLIGHT\tRATE\tSOURCE TOTAL\tPAGES\tREQUESTS\tSECONDS\tSINCE\tFORMATS\tOUTPUT / ERROR")
	for _, p := range plan.Jobs {
		requests := orDash(p.Requests)
		if p.RequestsAtMost && p.Requests != nil {
			requests = "<= " + requests
		}
		seconds := "-"
		if p.SecondsEstimate != nil {
			seconds = fmt.Sprintf("%.1f", *p.SecondsEstimate)
		}
		detail := p.Output
		if p.Error != "" {
			detail = p.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Job, p.Provider, orDash(p.Shard),
			p.Request, p.PageSize, p.MaxInFlight, p.RateLimit, orDash(p.SourceTotal), orDash(p.Pages), requests, seconds,
			planSince(p), strings.Join(p.Formats, ","), detail)
	}
	fmt.Fprintf(tw, "total: %d jobs, %d requests, about %.1f s one after another\n",
		plan.Totals.Jobs, plan.Totals.Requests, plan.Totals.SecondsEstimate)
	_ = tw.Flush()
	return code
}

// sinceText writes an incremental window's start for the text tables:
// "-" for a job that is not incremental, "everyone" for a full read.
func sinceText(w *pipeline.Window) string {
	switch {
	case w == nil:
		return "-"
	case w.Since == nil:
		return "everyone"
	}
	return w.Since.UTC().Format(time.RFC3339)
}

// planSince is sinceText, or "?" where an offline plan did not read the
// window from state in S3.
func planSince(p pipeline.PlannedJob) string {
	if p.SinceUnknown {
		return "?"
	}
	return sinceText(p.Incremental)
}

// orDash writes a number that may be unknown.
func orDash[T int | int64](v *T) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

func writeJSON(e env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(e.stderr, "export:", err)
		return exitJobsFailed
	}
	return exitOK
}

// providerInfo is what `export providers` tells about one provider.
type providerInfo struct {
	Name            string                 `json:"name"`
	Request         string                 `json:"request"`
	DefaultBaseURL  string                 `json:"default_base_url"`
	DefaultRate     string                 `json:"default_rate_limit"`
	DefaultPageSize int                    `json:"default_page_size"`
	MaxPageSize     int                    `json:"max_page_size,omitempty"`
	PageSizes       []int                  `json:"page_sizes,omitempty"`
	AuthKinds       []string               `json:"auth"`
	Sort            string                 `json:"sort,omitempty"`
	Filters         []httpsource.FilterDoc `json:"filters"`
	// Incremental is how an incremental job narrows the listing: filter,
	// sorted, client, or "" (refused); the note says what it cannot see.
	Incremental     string `json:"incremental"`
	IncrementalNote string `json:"incremental_note"`
}

func cmdProviders(_ context.Context, args []string, e env) int {
	fs := newFlags("providers", e)
	output := fs.String("output", "text", "text or json")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	var infos []providerInfo
	for _, p := range sources.All() {
		infos = append(infos, providerInfo{
			Name: p.Name, Request: p.Method + " " + p.Endpoint, DefaultBaseURL: p.DefaultBaseURL,
			DefaultRate:     p.DefaultRate.String(),
			DefaultPageSize: p.PageSize.Default, MaxPageSize: p.PageSize.Max, PageSizes: p.PageSize.Allowed,
			AuthKinds: p.AuthKinds, Sort: p.Sort, Filters: p.Filters,
			Incremental: string(p.Incremental), IncrementalNote: p.IncrementalNote,
		})
	}
	if *output == "json" {
		return writeJSON(e, infos)
	}
	for _, p := range infos {
		printProvider(e.stdout, p)
	}
	return exitOK
}

func printProvider(w io.Writer, p providerInfo) {
	base := p.DefaultBaseURL
	if base == "" {
		base = "(none: set base_url)"
	}
	fmt.Fprintf(w, "%s\n  request:    %s\n  base_url:   %s\n  rate_limit: %s\n  page_size:  %d",
		p.Name, p.Request, base, p.DefaultRate, p.DefaultPageSize)
	switch {
	case len(p.PageSizes) > 0:
		fmt.Fprintf(w, " (one of %v)", p.PageSizes)
	case p.MaxPageSize > 0:
		fmt.Fprintf(w, " (at most %d)", p.MaxPageSize)
	}
	fmt.Fprintf(w, "\n  auth:       %s\n", strings.Join(p.AuthKinds, ", "))
	if p.Sort != "" {
		fmt.Fprintf(w, "  sort:       %s\n", p.Sort)
	}
	incremental := p.Incremental
	if incremental == "" {
		incremental = "no"
	}
	fmt.Fprintf(w, "  incremental: %s: %s\n", incremental, p.IncrementalNote)
	fmt.Fprintln(w, "  filter:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range p.Filters {
		fmt.Fprintf(tw, "    %s\t%s\t%s\n", f.Key, f.Type, f.Doc)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
}

func cmdSchema(_ context.Context, args []string, e env) int {
	fs := newFlags("schema", e)
	output := fs.String("output", "json", "json, arrow or athena")
	includeRaw := fs.Bool("include-raw", false, "include the raw column (jobs with include_raw: true)")
	table := fs.String("table", "users", "athena: the table name")
	location := fs.String("location", "s3://BUCKET/PREFIX/JOB/parquet/", "athena: the job's Parquet folder, which holds the dt= partitions")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	s := schema.V1(*includeRaw)
	switch *output {
	case "json":
		b, err := s.JSON()
		if err != nil {
			fmt.Fprintln(e.stderr, "export:", err)
			return exitJobsFailed
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
	case "arrow":
		fmt.Fprintln(e.stdout, s.Arrow().String())
	case "athena":
		// One statement per query, as Athena runs them: the table, then its views.
		fmt.Fprint(e.stdout, s.AthenaDDL(*table, *location)+"\n"+s.AthenaViews(*table))
	default:
		return usageError(e, fmt.Errorf("--output must be json, arrow or athena, not %q", *output))
	}
	return exitOK
}

func cmdSimulate(ctx context.Context, args []string, e env) int {
	fs := newFlags("simulate", e)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	users := fs.Int("users", simulator.DefaultUsers, "users per provider")
	seed := fs.Uint64("seed", 1, "data seed: same seed, same users")
	latency := fs.Duration("latency", 0, "how long every response takes, the simulator's own work included")
	faults := fs.String("faults", "", "inject failures and drift, comma-separated, each optionally PROVIDER/-scoped:\n"+
		"KIND:RATE (a share of requests), KIND@K (every request from the K-th on), drift:DEL/INS@K (after the K-th page,\n"+
		"delete DEL users and create INS); KIND is an HTTP status 400-599, 429-noretry, timeout, slow, reset, truncate,\n"+
		"truncate-nolength or malformed. E.g. 429:0.05,500:0.02,reset:0.01,nameshield/401@40,drift:5/5@2")
	rateLimit := fs.String("rate-limit", "", "each credential's request budget at each provider, N/PERIOD as rate_limit takes it (600/5m);\n"+
		"past it, 429 with Retry-After. Default: none")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *users < 0 {
		return usageError(e, fmt.Errorf("--users must not be negative"))
	}
	fl, err := simulator.ParseFaults(*faults)
	if err != nil {
		return usageError(e, err)
	}
	var limit httpsource.Rate
	if *rateLimit != "" {
		if limit, err = pipeline.ParseRate(*rateLimit); err != nil {
			return usageError(e, fmt.Errorf("--rate-limit: %w", err))
		}
	}
	srv, err := simulator.Start(*addr, simulator.Options{Users: *users, Seed: *seed, Latency: *latency, Faults: fl, RateLimit: limit})
	if err != nil {
		fmt.Fprintln(e.stderr, "export:", err)
		return exitJobsFailed
	}
	settings := fmt.Sprintf("%d users, seed %d", *users, *seed)
	if *rateLimit != "" {
		settings += fmt.Sprintf(", %s per credential", limit)
	}
	fmt.Fprintf(e.stdout, "simulator listening on %s (%s); base URLs:\n", srv.URL, settings)
	for _, p := range sources.All() {
		fmt.Fprintf(e.stdout, "  %-11s %s\n", p.Name, srv.BaseURL(p.Name))
	}
	<-ctx.Done() // serve until SIGINT or SIGTERM: stopping is how a simulator ends
	if err := srv.Close(); err != nil {
		fmt.Fprintln(e.stderr, "export:", err)
		return exitJobsFailed
	}
	return exitOK
}
