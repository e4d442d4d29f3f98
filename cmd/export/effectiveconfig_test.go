package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/saas-export/export/pipeline"
)

// An auditor recomputes a manifest's config_sha256 from what
// validate --effective-config prints, and finds no secret in it.
func TestEffectiveConfigMatchesTheManifest(t *testing.T) {
	out := t.TempDir()
	cfg := writeFile(t, t.TempDir(), "jobs.yaml", `version: 1
output: {destination: `+out+`, formats: [jsonl]}
jobs:
  - {name: medipim, provider: medipim, base_url: simulator, auth: {type: basic, username: demo, password: "${PW}"}, filter: {vatNr: "BE<1>&2"}}
  - {name: kare, provider: kare, base_url: simulator, auth: {type: bearer, token: t0ken-s3cret, headers: {x-session-token: s3ssion-s3cret}}}
`)
	vars := map[string]string{"PW": "passw0rd-s3cret"}
	code, stdout, stderr := runCmd(t, vars, "validate", "-c", cfg, "--effective-config", "--job", "kare")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var printed struct {
		Job          string          `json:"job"`
		ConfigSHA256 string          `json:"config_sha256"`
		Config       json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal([]byte(stdout), &printed); err != nil || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("want one JSON line for kare, got %q (%v)", stdout, err)
	}
	sum := sha256.Sum256(printed.Config)
	if printed.Job != "kare" || hex.EncodeToString(sum[:]) != printed.ConfigSHA256 {
		t.Errorf("job %q, config_sha256 %s; sha256 of the printed config is %x", printed.Job, printed.ConfigSHA256, sum)
	}
	for _, secret := range []string{"t0ken-s3cret", "s3ssion-s3cret"} {
		if strings.Contains(stdout, secret) {
			t.Errorf("--effective-config printed the secret %q", secret)
		}
	}

	kare := printed.ConfigSHA256
	// <, > and & are printed as they are hashed, so the printed config is
	// the hashed bytes.
	code, stdout, _ = runCmd(t, vars, "validate", "-c", cfg, "--effective-config", "--job", "medipim")
	if err := json.Unmarshal([]byte(stdout), &printed); err != nil || code != exitOK {
		t.Fatalf("medipim: exit %d, %v: %s", code, err, stdout)
	}
	if sum := sha256.Sum256(printed.Config); hex.EncodeToString(sum[:]) != printed.ConfigSHA256 || !strings.Contains(stdout, "BE<1>&2") {
		t.Errorf("medipim: config_sha256 %s, sha256 of the printed config %x:\n%s", printed.ConfigSHA256, sum, stdout)
	}

	code, stdout, stderr = runCmd(t, vars, "run", "-c", cfg, "--output", "json", "--job", "kare")
	if code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	var run pipeline.Summary
	if err := json.Unmarshal([]byte(stdout), &run); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(strings.TrimPrefix(run.Jobs[0].Manifest, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	var m pipeline.Manifest
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.ConfigSHA256 != kare {
		t.Errorf("manifest config_sha256 %s, validate --effective-config said %s", m.ConfigSHA256, kare)
	}
}
