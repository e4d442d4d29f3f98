package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/saas-export/export/pipeline"
)

// multiFlag collects a repeated string flag such as --job.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdRun(ctx context.Context, args []string, e env) int {
	fs := newFlags("run", e)
	var jobs multiFlag
	cfgFlag := fs.String("c", "", "config file (default $EXPORT_CONFIG, then ./jobs.yaml)")
	fs.Var(&jobs, "job", "run only this job (repeatable)")
	runID := fs.String("run-id", "", "pin the run id; a rerun overwrites the same output paths")
	now := fs.String("now", "", "pin the run's clock (RFC 3339)")
	shardFlag := fs.String("shard", "", "run only shard I of N (I/N, 0-based)")
	shards := fs.Int("shards", 0, "shard count, with the index from $JOB_COMPLETION_INDEX or $AWS_BATCH_JOB_ARRAY_INDEX")
	output := fs.String("output", "text", "summary format: text or json")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	logLevel := fs.String("log-level", "info", "least severe log records shown: debug, info, warn or error")
	dryRun := fs.Bool("dry-run", false, "validate and print the plan; fetch and write nothing")
	full := fs.Bool("full", false, "incremental jobs export everyone, ignoring their state, and start it again")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	logs := &logWriter{w: e.stderr} // above the progress bars while they are drawn
	log, err := newLogger(logs, *logFormat, *logLevel)
	if err != nil {
		return usageError(e, err)
	}
	if *output != "text" && *output != "json" {
		return usageError(e, fmt.Errorf("--output must be text or json, not %q", *output))
	}
	opts := pipeline.Options{RunID: *runID, Jobs: jobs, Version: version(), Logger: log, Full: *full}
	if *now != "" {
		if opts.Now, err = time.Parse(time.RFC3339Nano, *now); err != nil {
			return usageError(e, fmt.Errorf("--now: %w", err))
		}
	}
	if opts.Shard, err = shardFrom(*shardFlag, *shards, e.lookup); err != nil {
		return usageError(e, err)
	}
	cfg, code := loadConfig(*cfgFlag, e)
	if cfg == nil {
		return code
	}
	if *dryRun {
		return printPlan(ctx, e, cfg, pipeline.PlanOptions{Options: opts, Offline: true}, *output)
	}
	var progress *bars
	if wantBars(e) {
		progress = newBars(e.stderr, logs, wantColor(e))
		opts.Progress = progress
	}
	sum, err := pipeline.Run(ctx, cfg, opts)
	if progress != nil {
		progress.Close() // the bars are done before anything else is printed
	}
	if err != nil {
		return usageError(e, err)
	}
	if err := printSummary(e.stdout, sum, *output); err != nil {
		fmt.Fprintln(e.stderr, "export:", err)
	}
	switch sum.Status {
	case pipeline.StatusInterrupted:
		return exitInterrupted
	case pipeline.StatusFailed:
		return exitJobsFailed
	}
	return exitOK
}

func usageError(e env, err error) int {
	fmt.Fprintln(e.stderr, "export:", err)
	return exitUsage
}

// shardFrom reads --shard I/N, or --shards N with the index from the
// environment of Kubernetes Indexed Jobs or AWS Batch array jobs.
func shardFrom(flagValue string, count int, lookup func(string) (string, bool)) (pipeline.Shard, error) {
	if flagValue != "" {
		i, n, ok := strings.Cut(flagValue, "/")
		idx, err1 := strconv.Atoi(i)
		cnt, err2 := strconv.Atoi(n)
		if !ok || err1 != nil || err2 != nil || cnt < 1 || idx < 0 || idx >= cnt {
			return pipeline.Shard{}, fmt.Errorf("--shard %q: want I/N with 0 <= I < N", flagValue)
		}
		return pipeline.Shard{Index: idx, Count: cnt}, nil
	}
	if count == 0 {
		return pipeline.Shard{}, nil
	}
	if count < 0 {
		return pipeline.Shard{}, fmt.Errorf("--shards must be at least 1")
	}
	for _, name := range []string{"JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"} {
		if v, ok := lookup(name); ok && v != "" {
			idx, err := strconv.Atoi(v)
			if err != nil || idx < 0 || idx >= count {
				return pipeline.Shard{}, fmt.Errorf("$%s=%q: want an index from 0 to %d", name, v, count-1)
			}
			return pipeline.Shard{Index: idx, Count: count}, nil
		}
	}
	return pipeline.Shard{}, errors.New("--shards needs $JOB_COMPLETION_INDEX or $AWS_BATCH_JOB_ARRAY_INDEX (or use --shard I/N)")
}

// loadConfig loads and validates the config; on failure it prints every
// problem to stderr and returns the exit code.
func loadConfig(flagValue string, e env) (*pipeline.Config, int) {
	cfg, err := pipeline.Load(configPath(flagValue, e), e.lookup)
	if err != nil {
		var errs pipeline.ConfigErrors
		if errors.As(err, &errs) {
			for _, ce := range errs {
				fmt.Fprintln(e.stderr, ce.Error())
			}
			fmt.Fprintf(e.stderr, "export: %d problem(s) in the config; nothing ran\n", len(errs))
		} else {
			fmt.Fprintln(e.stderr, "export:", err)
		}
		return nil, exitUsage
	}
	return cfg, exitOK
}

func cmdValidate(ctx context.Context, args []string, e env) int {
	fs := newFlags("validate", e)
	cfgFlag := fs.String("c", "", "config file (default $EXPORT_CONFIG, then ./jobs.yaml)")
	check := fs.Bool("check-destination", false,
		"after validating, prove write access to each output destination: write, commit and remove a small "+
			pipeline.CheckObjectPrefix+"* object at its root (needs the network and credentials; "+
			"without this flag validate is offline)")
	effective := fs.Bool("effective-config", false,
		"print each job's effective config without its secrets, one JSON object a line with its sha256: "+
			"the config_sha256 its manifests carry")
	var jobs multiFlag
	fs.Var(&jobs, "job", "with --check-destination or --effective-config, only this job (repeatable)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	cfg, code := loadConfig(*cfgFlag, e)
	if cfg == nil {
		return code
	}
	selected, err := pipeline.SelectJobs(cfg, jobs, pipeline.Shard{})
	if err != nil {
		return usageError(e, err)
	}
	if *effective {
		return printEffectiveConfigs(e, selected)
	}
	fmt.Fprintf(e.stdout, "%s: valid, %d job(s)\n", cfg.File, len(cfg.Jobs))
	if !*check {
		return exitOK
	}
	return checkDestinations(ctx, e, selected)
}

// printEffectiveConfigs prints, for an auditor to recompute a manifest's
// config_sha256, each job's document and its hash.
func printEffectiveConfigs(e env, jobs []pipeline.Job) int {
	for _, job := range jobs {
		doc, err := pipeline.EffectiveConfig(job)
		if err != nil {
			fmt.Fprintln(e.stderr, "export:", err)
			return exitJobsFailed
		}
		sum, err := pipeline.ConfigSHA256(job)
		if err != nil {
			fmt.Fprintln(e.stderr, "export:", err)
			return exitJobsFailed
		}
		// Unescaped, as the hashed document is: config is its bytes.
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(struct {
			Job          string          `json:"job"`
			ConfigSHA256 string          `json:"config_sha256"`
			Config       json.RawMessage `json:"config"`
		}{job.Name, sum, doc}); err != nil {
			fmt.Fprintln(e.stderr, "export:", err)
			return exitJobsFailed
		}
	}
	return exitOK
}

// checkDestinations prints one line per destination of jobs, ok or FAIL
// with the reason, and returns the exit code: 0 when every one passed, 1
// when any failed, 130 when interrupted.
func checkDestinations(ctx context.Context, e env, jobs []pipeline.Job) int {
	failed := 0
	for _, c := range pipeline.CheckDestinations(ctx, jobs) {
		line := fmt.Sprintf("%-4s  %s (jobs: %s)", "ok", c.URI, strings.Join(c.Jobs, ", "))
		if c.Err != nil {
			failed++
			// One line per destination, whatever the error joins.
			reason := strings.ReplaceAll(c.Err.Error(), "\n", "; ")
			line = fmt.Sprintf("%-4s  %s (jobs: %s): %s", "FAIL", c.URI, strings.Join(c.Jobs, ", "), reason)
		}
		fmt.Fprintln(e.stdout, line)
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(e.stderr, "export: interrupted")
		return exitInterrupted
	case failed > 0:
		fmt.Fprintf(e.stderr, "export: %d destination(s) failed the check\n", failed)
		return exitJobsFailed
	}
	return exitOK
}

// braced writes URIs that differ in one part as one, the part in braces:
// .../kare/{jsonl,csv,parquet}/dt=.../_manifest.json, the folder of each
// format in the default layout.
func braced(uris []string) string {
	if len(uris) < 2 {
		return strings.Join(uris, "")
	}
	prefix, suffix := uris[0], uris[0]
	for _, u := range uris[1:] {
		for !strings.HasPrefix(u, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
		for !strings.HasSuffix(u, suffix) {
			suffix = suffix[1:]
		}
	}
	// Whole path segments only, and never overlapping.
	prefix = prefix[:strings.LastIndexByte(prefix, '/')+1]
	if i := strings.IndexByte(suffix, '/'); i >= 0 {
		suffix = suffix[i:]
	} else {
		suffix = ""
	}
	parts := make([]string, len(uris))
	for i, u := range uris {
		if len(prefix)+len(suffix) > len(u) {
			return strings.Join(uris, " ")
		}
		parts[i] = u[len(prefix) : len(u)-len(suffix)]
	}
	return prefix + "{" + strings.Join(parts, ",") + "}" + suffix
}

func printSummary(w io.Writer, sum *pipeline.Summary, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "run %s: %s\n", sum.RunID, sum.Status)
	// 429 and the rates show what the API's rate limit did to the job: the
	// requests per second it sent, and the budget's rate when it ended.
	fmt.Fprintln(tw, "JOB\tPROVIDER\tSTATUS\tRECORDS\tSOURCE TOTAL\tSINCE\tREQUESTS\tRETRIES\t429\tREQ/S\tLIMIT/S\tDRIFT\tFILES\tSECONDS\tOUTPUT / ERROR")
	for _, j := range sum.Jobs {
		total := "-"
		if j.SourceTotal != nil {
			total = strconv.FormatInt(*j.SourceTotal, 10)
		}
		limit := "-"
		if j.RateLimitFinal != nil {
			limit = strconv.FormatFloat(*j.RateLimitFinal, 'f', -1, 64)
		}
		detail := braced(j.Manifests)
		if j.Error != "" {
			detail = j.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%.1f\t%s\t%d\t%d\t%.1f\t%s\n", j.Job, j.Provider, j.Status, j.Records, total,
			sinceText(j.Incremental), j.Requests, j.Retries, j.RateLimited, j.RequestsPerSecond, limit, j.DriftEvents, len(j.Files), j.Seconds, detail)
	}
	return tw.Flush()
}
