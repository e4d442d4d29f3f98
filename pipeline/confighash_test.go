package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func parseJob(t *testing.T, yml string) Job {
	t.Helper()
	cfg, err := Parse("jobs.yaml", []byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Jobs[0]
}

func TestEffectiveConfigLeavesSecretsOut(t *testing.T) {
	secrets := []string{"p4ssw0rd-secret", "h34der-secret", "k3y-0f-16-bytes-secret"}
	yml := oneJob(
		"base_url: https://api.example.com",
		"auth: {type: basic, username: u, password: p4ssw0rd-secret, headers: {x-extra: h34der-secret}}",
		"hash: [email]",
		"hash_key: k3y-0f-16-bytes-secret",
	)
	body, err := EffectiveConfig(parseJob(t, yml))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(body, []byte(s)) {
			t.Errorf("the effective config holds the secret %q: %s", s, body)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if hash := doc["output"].(map[string]any)["hash"]; doc["auth"] != "basic" || hash == nil {
		t.Errorf("auth %v, hash %v; want basic and [email]", doc["auth"], hash)
	}
}

// The document is what a re-encoding tool writes too: <, > and & as they
// are, not as \u003c escapes (jq -c prints them raw).
func TestEffectiveConfigKeepsHTMLCharacters(t *testing.T) {
	body, err := EffectiveConfig(parseJob(t, oneJob(`filter: {vatNr: "BE<1>&2"}`)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte(`"vatNr":"BE<1>&2"`)) || bytes.HasSuffix(body, []byte("\n")) {
		t.Errorf("the document escapes or ends in a newline: %s", body)
	}
}

// The hash tells configs apart by what they export, not by their secrets:
// a rotated password keeps it, any setting that changes the export moves it.
func TestConfigSHA256(t *testing.T) {
	sum := func(lines ...string) string {
		t.Helper()
		s, err := ConfigSHA256(parseJob(t, oneJob(lines...)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := sum("auth: {type: basic, username: u, password: one}", "page_size: 100")
	if again := sum("auth: {type: basic, username: u, password: one}", "page_size: 100"); again != base {
		t.Errorf("the same config hashed to %s and %s", base, again)
	}
	if rotated := sum("auth: {type: basic, username: u, password: two}", "page_size: 100"); rotated != base {
		t.Errorf("a rotated password changed the hash: %s, was %s", rotated, base)
	}
	// Where the export goes is not what it is: disk and S3 give one manifest.
	if moved := sum("auth: {type: basic, username: u, password: one}", "page_size: 100",
		"output: {destination: 's3://bucket/prefix', s3: {region: eu-west-1, sse: aws:kms}}"); moved != base {
		t.Errorf("another destination changed the hash: %s, was %s", moved, base)
	}
	for _, changed := range [][]string{
		{"auth: {type: basic, username: u, password: one}", "page_size: 250"},
		{"auth: {type: bearer, token: one}", "page_size: 100"},
		{"auth: {type: basic, username: u, password: one}", "page_size: 100", "columns: {drop: [phone]}"},
		{"auth: {type: basic, username: u, password: one}", "page_size: 100", "filter: {organization: 7}"},
		{"auth: {type: basic, username: u, password: one}", "page_size: 100", "output: {formats: [parquet]}"},
	} {
		if s := sum(changed...); s == base {
			t.Errorf("%q hashed like the base config", changed)
		}
	}
}

func TestManifestConfigSHA256(t *testing.T) {
	dir := t.TempDir()
	yml := "version: 1\noutput: {destination: '" + dir + "', formats: [jsonl]}\njobs:\n  - {name: a, provider: medipim, base_url: simulator, auth: {type: basic, username: demo, password: demo}}\n"
	cfg, err := Parse("jobs.yaml", []byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	want, err := EffectiveConfig(cfg.Jobs[0])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(want)
	log := slog.New(slog.NewTextHandler(&strings.Builder{}, nil))
	var got []string
	for _, run := range []string{"r1", "r2"} {
		res, err := Run(context.Background(), cfg, Options{RunID: run, Logger: log})
		if err != nil || res.Status != StatusSucceeded {
			t.Fatalf("run %s: %v %+v", run, err, res)
		}
		body, err := os.ReadFile(strings.TrimPrefix(res.Jobs[0].Manifest, "file://"))
		if err != nil {
			t.Fatal(err)
		}
		var m Manifest
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m.ConfigSHA256)
	}
	if got[0] != hex.EncodeToString(sum[:]) || got[1] != got[0] {
		t.Errorf("config_sha256 of two runs %q; want both %x", got, sum)
	}
}
