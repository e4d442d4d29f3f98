package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/saas-export/export/pipeline"
)

// cmdVerify re-checks a committed run folder: 0 when everything matches
// its manifest, 1 on any problem (a missing manifest included), 2 on bad
// usage.
func cmdVerify(ctx context.Context, args []string, e env) int {
	fs := newFlags("verify", e)
	output := fs.String("output", "text", "text or json")
	var s3 pipeline.S3
	// The endpoint may come from the SDK's own AWS_ENDPOINT_URL_S3; path
	// style has no variable, and MinIO needs it.
	fs.StringVar(&s3.Endpoint, "s3-endpoint", "", "S3-compatible endpoint URL (default: AWS, or $AWS_ENDPOINT_URL_S3)")
	fs.BoolVar(&s3.ForcePathStyle, "s3-path-style", false, "address buckets as paths, as MinIO needs")
	// The URI may come before or after the flags.
	var uris []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return exitOK
		} else if err != nil {
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		uris = append(uris, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(uris) != 1:
		fmt.Fprintf(e.stderr, "export verify: want one run folder URI, got %d\nusage: export verify URI [--output text|json] [--s3-endpoint URL] [--s3-path-style]\n", len(uris))
		return exitUsage
	case *output != "text" && *output != "json":
		fmt.Fprintf(e.stderr, "export verify: --output must be text or json, not %q\n", *output)
		return exitUsage
	}
	v, err := pipeline.Verify(ctx, uris[0], s3)
	if err != nil {
		fmt.Fprintf(e.stderr, "export verify: %v\n", err)
		return exitUsage
	}
	if *output == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(e.stderr, "export verify: %v\n", err)
			return exitJobsFailed
		}
	} else {
		printVerification(e.stdout, v)
	}
	if !v.OK {
		return exitJobsFailed
	}
	return exitOK
}

func printVerification(w io.Writer, v *pipeline.Verification) {
	if m := v.Manifest; m != nil {
		name := m.Name
		if m.Legacy {
			name += " (the name before " + pipeline.ManifestName + ": accepted)"
		}
		fmt.Fprintf(w, "%s: %s, job %s (%s), run %s, %d records, %d files\n", v.URI, name, m.Job, m.Provider, m.RunID, m.Records, m.Files)
	} else {
		fmt.Fprintf(w, "%s\n", v.URI)
	}
	ofFiles := map[string]bool{}
	var rows int64
	for _, f := range v.Files {
		for _, p := range f.Problems {
			ofFiles[p] = true
		}
		if f.OK {
			rows += f.Actual.Rows
			fmt.Fprintf(w, "OK        %s  %d rows, %d bytes, sha256 %s\n", f.Path, f.Actual.Rows, f.Actual.Bytes, f.Actual.SHA256)
			continue
		}
		fmt.Fprintf(w, "MISMATCH  %s  expected %s; actual %s\n", f.Path, facts(&f.Expected), facts(f.Actual))
		for _, p := range f.Problems {
			fmt.Fprintf(w, "          %s\n", p)
		}
	}
	for _, p := range v.Problems {
		if !ofFiles[p] {
			fmt.Fprintf(w, "PROBLEM   %s\n", p)
		}
	}
	if v.OK {
		fmt.Fprintf(w, "verified: %d files, %d rows\n", len(v.Files), rows)
		return
	}
	fmt.Fprintf(w, "FAILED: %d problems\n", len(v.Problems))
}

func facts(f *pipeline.FileFacts) string {
	if f == nil {
		return "unreadable"
	}
	rows := fmt.Sprint(f.Rows, " rows")
	if f.Rows < 0 {
		rows = "rows unknown (does not decode)"
	}
	return strings.Join([]string{rows, fmt.Sprint(f.Bytes, " bytes"), "sha256 " + f.SHA256}, ", ")
}
