package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saas-export/export/sources/simulator"
)

// TestNoSecretInAnythingARunWrites runs the CLI as a user would, with
// credentials from the environment and from files, faults that make it
// retry, log and fail a job, debug logs, progress bars and the JSON
// summary, and fails on any credential in any byte it wrote.
func TestNoSecretInAnythingARunWrites(t *testing.T) {
	faults, err := simulator.ParseFaults("500:0.05,truncate:0.05,malformed:0.05,429:0.05,medipim/401@4")
	if err != nil {
		t.Fatal(err)
	}
	sim, err := simulator.Start("127.0.0.1:0", simulator.Options{Users: 300, Seed: 9, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	dir := t.TempDir()
	writeFile(t, dir, "requestor-password", "requestor-PASS-from-file-3c1d\n")
	vars := map[string]string{
		"TERM":              "xterm-256color",
		"KARE_TOKEN":        "kare-TOKEN-env-8a2b",
		"MCTIME_KEY":        "mctime-KEY-env-61f0",
		"MEDIPIM_SECRET":    "medipim-SECRET-env-d4e5",
		"NAMESHIELD_TOKEN":  "nameshield-TOKEN-env-97ab",
		"KARE_SESSION":      "kare-SESSION-env-0c0c",
		"NAMESHIELD_HEADER": "nameshield-HDR-env-5566",
	}
	secrets := []string{"requestor-PASS-from-file-3c1d", "medipim-ID-inline-7f7f"}
	for k, v := range vars {
		if k != "TERM" {
			secrets = append(secrets, v)
		}
	}
	secrets = append(secrets,
		base64.StdEncoding.EncodeToString([]byte("medipim-ID-inline-7f7f:medipim-SECRET-env-d4e5")),
		base64.StdEncoding.EncodeToString([]byte("requestor-user:requestor-PASS-from-file-3c1d")))
	retry := "timeout: 2s, retry: {max_attempts: 8, max_backoff: 10ms}, rate_limit: 100000/1s"
	cfg := writeFile(t, dir, "jobs.yaml", `
version: 1
output: {destination: `+filepath.Join(dir, "out")+`, formats: [jsonl, csv, parquet], include_raw: true}
jobs:
  - {name: kare, provider: kare, base_url: `+sim.BaseURL("kare")+`, `+retry+`,
     auth: {type: bearer, token: "${KARE_TOKEN}", headers: {x-session-token: "${KARE_SESSION}"}}}
  - {name: mctime, provider: mctime, base_url: `+sim.BaseURL("mctime")+`, `+retry+`,
     auth: {type: header, name: x-api-key, value: "${MCTIME_KEY}"}}
  - {name: medipim, provider: medipim, base_url: `+sim.BaseURL("medipim")+`, `+retry+`, page_size: 10,
     auth: {type: basic, username: medipim-ID-inline-7f7f, password: "${MEDIPIM_SECRET}"}}
  - {name: nameshield, provider: nameshield, base_url: `+sim.BaseURL("nameshield")+`, `+retry+`,
     auth: {type: bearer, token: "${NAMESHIELD_TOKEN}", headers: {x-trace: "${NAMESHIELD_HEADER}"}}}
  - {name: requestor, provider: requestor, base_url: `+sim.BaseURL("requestor")+`, `+retry+`, wire_format: xml,
     auth: {type: basic, username: requestor-user, password_file: requestor-password}}
`)
	for _, format := range []string{"text", "json"} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"run", "-c", cfg, "--log-level", "debug", "--log-format", format, "--output", format}, env{
			stdout: &stdout, stderr: &stderr, stderrIsTerminal: true,
			lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		})
		if code != exitJobsFailed {
			t.Fatalf("exit %d, want %d (the medipim job's token expires): %s", code, exitJobsFailed, stderr.String())
		}
		// The check only means something if the run wrote what it is about.
		for _, want := range []string{"request answered", "retrying request", "token expired", "job failed"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("--log-format %s: stderr has no %q: the scan would pass on nothing", format, want)
			}
		}
		written := map[string][]byte{"stdout": stdout.Bytes(), "stderr": stderr.Bytes()}
		err := filepath.WalkDir(filepath.Join(dir, "out"), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			written[p], err = os.ReadFile(p)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(written) < 2+4*5 {
			t.Errorf("%d outputs, want stdout, stderr and four jobs' files", len(written))
		}
		for name, body := range written {
			for _, s := range secrets {
				if bytes.Contains(body, []byte(s)) {
					t.Errorf("--log-format %s: %s holds the secret %q", format, name, s)
				}
			}
		}
	}
}
