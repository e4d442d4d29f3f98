package main

import (
	"context"
	"fmt"

	"github.com/saas-export/export/pipeline"
)

// cmdConfigSchema prints the JSON Schema of jobs.yaml, for editors; the
// repository commits it as jobs.schema.json, which jobs.yaml names.
func cmdConfigSchema(_ context.Context, args []string, e env) int {
	fs := newFlags("config-schema", e)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	b, err := pipeline.ConfigSchema()
	if err != nil {
		fmt.Fprintln(e.stderr, "export config-schema:", err)
		return exitJobsFailed
	}
	if _, err := e.stdout.Write(b); err != nil {
		fmt.Fprintln(e.stderr, "export config-schema:", err)
		return exitJobsFailed
	}
	return exitOK
}
