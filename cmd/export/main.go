// Command export pulls the user directories of SaaS providers, normalizes
// them into one schema and writes JSONL, CSV or Parquet files.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"golang.org/x/term"
)

// Exit codes, as the contract fixes them.
const (
	exitOK          = 0
	exitJobsFailed  = 1
	exitUsage       = 2
	exitInterrupted = 130
)

const usage = `export: export SaaS user directories to JSONL, CSV and Parquet.

Usage:
  export run       [-c FILE] [--job NAME]... [--run-id ID] [--now RFC3339] [--shard I/N | --shards N] [--full]
                   [--output text|json] [--log-format text|json] [--dry-run]
  export validate  [-c FILE] [--check-destination [--job NAME]...]
  export plan      [-c FILE] [--job NAME]... [--output text|json] [--offline] [--shards N] [--full]
  export verify    URI [--output text|json] [--s3-endpoint URL] [--s3-path-style]
  export config-schema
  export providers [--output text|json]
  export schema    [--output json|arrow|athena] [--include-raw]
  export simulate  [--addr HOST:PORT] [--users N] [--seed S] [--latency D] [--faults SPEC] [--rate-limit N/PERIOD]
  export version

-c defaults to $EXPORT_CONFIG, then ./jobs.yaml.
validate reads the config only, with no network; --check-destination then writes and
removes a small .export-check-* object at each output destination to prove write access.
Exit codes: 0 all jobs succeeded, 1 a job failed, 2 bad usage or config, 130 interrupted.
validate: 0 valid (and every destination checked ok), 1 a destination failed the check, 2 invalid.
verify re-checks a committed run folder (a path, file:// or s3://) against its manifest:
0 everything matches, 1 any mismatch or no manifest, 2 bad usage.
`

// env is the process environment, passed down rather than read globally so
// commands can be tested with their own.
type env struct {
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
	// stderrIsTerminal: stderr is a terminal, so a run may draw progress
	// bars on it. Only main can tell, from the real *os.File.
	stderrIsTerminal bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{
		stdout: os.Stdout, stderr: os.Stderr, lookup: os.LookupEnv,
		stderrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
	})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	cmds := map[string]func(context.Context, []string, env) int{
		"run":           cmdRun,
		"validate":      cmdValidate,
		"plan":          cmdPlan,
		"verify":        cmdVerify,
		"config-schema": cmdConfigSchema,
		"providers":     cmdProviders,
		"schema":        cmdSchema,
		"simulate":      cmdSimulate,
		"version": func(_ context.Context, _ []string, e env) int {
			fmt.Fprintln(e.stdout, "export", version())
			return exitOK
		},
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "export: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return cmd(ctx, args[1:], e)
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet("export "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parseFlags parses args and rejects stray positional arguments; it
// returns the exit code to use when parsing failed, or -1.
func parseFlags(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage
	}
	return -1
}

// configPath applies the -c default chain: the flag, $EXPORT_CONFIG, ./jobs.yaml.
func configPath(flagValue string, e env) string {
	if flagValue != "" {
		return flagValue
	}
	if v, ok := e.lookup("EXPORT_CONFIG"); ok && v != "" {
		return v
	}
	return "jobs.yaml"
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}

// version is the module version when built from a tagged module, else the
// VCS revision, else "dev".
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}
