package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/saas-export/export/internal/golden"
)

// TestConfigSchemaGolden: the committed jobs.schema.json, which the root
// jobs.yaml names for editors, is what `export config-schema` prints.
// Regenerate it with -update.
func TestConfigSchemaGolden(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"config-schema"}, env{stdout: &stdout, stderr: &stderr, lookup: func(string) (string, bool) { return "", false }})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	golden.Compare(t, filepath.Join("..", "..", "jobs.schema.json"), stdout.Bytes())
}

func TestConfigSchemaRefusesArguments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"config-schema", "extra"}, env{stdout: &stdout, stderr: &stderr}); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
}
