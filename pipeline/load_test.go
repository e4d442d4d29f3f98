package pipeline

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/sources/httpsource"
)

// fixture is where the config fixtures live, at the repository root.
func fixture(name string) string { return filepath.Join("..", "testdata", "config", name) }

// envOf returns an env lookup holding the given NAME, VALUE pairs.
func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// problems parses yml as jobs.yaml and returns the error lines, nil when
// the config is valid.
func problems(t *testing.T, yml string, env func(string) (string, bool)) []string {
	t.Helper()
	_, err := Parse("jobs.yaml", []byte(yml), env)
	return errorLines(t, err)
}

func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs ConfigErrors
	if !errors.As(err, &errs) {
		t.Fatalf("error is a %T, want ConfigErrors: %v", err, err)
	}
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return lines
}

func mustParse(t *testing.T, yml string, env func(string) (string, bool)) *Config {
	t.Helper()
	cfg, err := Parse("jobs.yaml", []byte(yml), env)
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return cfg
}

func TestLoadFullConfig(t *testing.T) {
	file := fixture("full.yaml")
	cfg, err := Load(file, envOf("MEDIPIM_KEY_SECRET", "s3cr3t", "TIMEOUT", "", "NS_CUSTOMER", "4711"))
	if err != nil {
		t.Fatalf("Load:\n%v", err)
	}
	top := Output{
		Destination:       "file:///var/exports",
		Formats:           []string{"parquet", "jsonl"},
		Path:              "{provider}/{job}/dt={date}/run={run_id}",
		Compression:       Compression{Parquet: "snappy", JSONL: "gzip", CSV: "zstd"},
		MaxRowsPerFile:    500_000,
		IncludeRaw:        true,
		CSVEscapeFormulas: true,
		S3: S3{
			Region: "eu-central-1", Endpoint: "http://minio.internal:9000", ForcePathStyle: true,
			SSE: "aws:kms", KMSKeyID: "alias/export", PartSize: 64 << 20, UploadConcurrency: 4,
		},
	}
	medipimOut := top
	medipimOut.Formats = []string{"csv"}
	medipimOut.Compression.CSV = "gzip"
	medipimOut.S3.PartSize = 8 << 20
	localOut := top
	localOut.IncludeRaw = false
	defaultRetry := httpsource.Retry{MaxAttempts: 6, MaxBackoff: time.Minute}
	defaultDrift := Drift{MaxRestarts: 3, Confirm: true}

	want := &Config{
		File:        file,
		Version:     1,
		Concurrency: 2,
		Output:      top,
		State:       State{Dir: "/var/lib/export/state", S3: top.S3, LeaseTTL: defaultLeaseTTL},
		Jobs: []Job{
			{
				Name:     "medipim-be",
				Provider: "medipim",
				BaseURL:  "https://api.medipim.be",
				Auth:     httpsource.Auth{Type: "basic", Username: "key-id-42", Password: "s3cr3t"},
				Filter: map[string]any{"and": []any{
					map[string]any{"organization": 12},
					map[string]any{"not": map[string]any{"id": []any{1, 2}}},
				}},
				Sort:               map[string]any{"id": "DESC"},
				PageSize:           100,
				MaxInFlight:        4,
				RateLimit:          httpsource.Rate{N: 90, Per: time.Minute},
				Timeout:            45 * time.Second,
				Retry:              httpsource.Retry{MaxAttempts: 3, MaxBackoff: 30 * time.Second},
				AllowCountMismatch: true,
				Output:             medipimOut,
				TLS:                TLS{CAFile: fixture("tls/ca.pem")},
				Overlap:            defaultOverlap,
			},
			{
				Name:     "nameshield-local",
				Provider: "nameshield",
				BaseURL:  "http://127.0.0.1:8080/api",
				Auth: httpsource.Auth{Type: "bearer", Token: "ns-token-é",
					Headers: map[string]string{"X-Request-Source": "export $HOME"}},
				Filter:      map[string]any{"customer_id": 4711, "email": "*@example.com"},
				Sort:        []any{"lastname:asc"},
				PageSize:    200,
				MaxInFlight: 2,
				RateLimit:   httpsource.Rate{N: 10, Per: time.Second},
				Timeout:     30 * time.Second,
				Retry:       defaultRetry,
				Output:      localOut,
				Drift:       defaultDrift,
				Overlap:     defaultOverlap,
			},
			{
				Name:              "nameshield-lab",
				Provider:          "nameshield",
				BaseURL:           "http://nameshield.lab.example",
				Auth:              httpsource.Auth{Type: "header", Name: "X-Api-Key", Value: "ns-token-é"},
				PageSize:          500,
				MaxInFlight:       2,
				RateLimit:         httpsource.Rate{N: 600, Per: 5 * time.Minute},
				Timeout:           30 * time.Second,
				Retry:             defaultRetry,
				AllowInsecureHTTP: true,
				Output:            top,
				Drift:             defaultDrift,
				Overlap:           defaultOverlap,
			},
		},
	}
	assertConfig(t, cfg, want)
}

func assertConfig(t *testing.T, got, want *Config) {
	t.Helper()
	if len(got.Jobs) != len(want.Jobs) {
		t.Fatalf("got %d jobs, want %d", len(got.Jobs), len(want.Jobs))
	}
	for i := range want.Jobs {
		if !reflect.DeepEqual(got.Jobs[i], want.Jobs[i]) {
			t.Errorf("jobs[%d]:\ngot  %#v\nwant %#v", i, got.Jobs[i], want.Jobs[i])
		}
	}
	g, w := *got, *want
	g.Jobs, w.Jobs = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("config:\ngot  %#v\nwant %#v", g, w)
	}
}

func TestLoadContractExample(t *testing.T) {
	file := fixture("contract-example.yaml")
	cfg, err := Load(file, envOf("MEDIPIM_KEY_ID", "id", "MEDIPIM_KEY_SECRET", "secret"))
	if err != nil {
		t.Fatalf("Load:\n%v", err)
	}
	out := defaultOutput()
	out.S3.Region, out.S3.PartSize = "eu-west-1", 16<<20 // the example names them
	want := &Config{
		File: file, Version: 1, Concurrency: 4, Output: out, State: State{Dir: "./state", S3: out.S3, LeaseTTL: defaultLeaseTTL},
		Jobs: []Job{{
			Name:        "medipim-be",
			Provider:    "medipim",
			BaseURL:     "https://api.medipim.be",
			Auth:        httpsource.Auth{Type: "basic", Username: "id", Password: "secret"},
			Filter:      map[string]any{},
			PageSize:    250,
			MaxInFlight: 2,
			RateLimit:   httpsource.Rate{N: 100, Per: time.Minute},
			Timeout:     30 * time.Second,
			Retry:       httpsource.Retry{MaxAttempts: 6, MaxBackoff: time.Minute},
			Output:      out,
			Drift:       Drift{MaxRestarts: 3, Confirm: true},
			Overlap:     defaultOverlap,
		}},
	}
	assertConfig(t, cfg, want)
}

// TestDefaults checks every default of the contract on a minimal config,
// the provider's among them.
func TestDefaults(t *testing.T) {
	cfg := mustParse(t, "version: 1\njobs:\n  - {name: a, provider: nameshield}\n  - {name: b, provider: medipim}\n", nil)
	want := &Config{
		File: "jobs.yaml", Version: 1, Concurrency: 4,
		Output: Output{
			Destination:    "./out",
			Formats:        []string{"jsonl", "csv", "parquet"},
			Path:           "{job}/{format}/dt={date}/run={run_id}",
			Compression:    Compression{Parquet: "zstd", JSONL: "none", CSV: "none"},
			MaxRowsPerFile: 1_000_000,
			// No region: the S3 store takes AWS's chain, then DefaultS3Region.
			S3: S3{PartSize: 5 << 20, UploadConcurrency: 4},
		},
	}
	want.State = State{Dir: "./state", S3: want.Output.S3, LeaseTTL: 10 * time.Minute}
	retry := httpsource.Retry{MaxAttempts: 6, MaxBackoff: time.Minute}
	drift := Drift{MaxRestarts: 3, Confirm: true}
	want.Jobs = []Job{
		{Name: "a", Provider: "nameshield", BaseURL: "https://api.nameshield.net", PageSize: 500, MaxInFlight: 2,
			RateLimit: httpsource.Rate{N: 600, Per: 5 * time.Minute}, Timeout: 30 * time.Second, Retry: retry, Output: want.Output, Drift: drift, Overlap: 5 * time.Minute},
		{Name: "b", Provider: "medipim", BaseURL: "https://api.medipim.be", PageSize: 250, MaxInFlight: 2,
			RateLimit: httpsource.Rate{N: 100, Per: time.Minute}, Timeout: 30 * time.Second, Retry: retry, Output: want.Output, Drift: drift, Overlap: 5 * time.Minute},
	}
	assertConfig(t, cfg, want)
}

func TestFiveMistakes(t *testing.T) {
	data, err := os.ReadFile(fixture("five-mistakes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("jobs.yaml", data, envOf("MEDIPIM_KEY_ID", "id"))
	want := []string{
		`jobs.yaml:4:20: output.formats[1]: expected one of jsonl, csv, parquet, got "xlsx"`,
		`jobs.yaml:8:16: jobs[0].page_size: expected an integer, got "lots"`,
		`jobs.yaml:9:66: jobs[0].auth.password: environment variable MEDIPIM_KEY_SECRET is not set (use ${MEDIPIM_KEY_SECRET:-default} for a default)`,
		`jobs.yaml:12:5: jobs[1].retries: unknown key "retries" (valid keys: name, provider, base_url, auth, filter, sort, page_size, max_in_flight, rate_limit, timeout, retry, incremental, overlap, drift, tls, allow_count_mismatch, allow_insecure_http, output, wire_format, include_raw, columns, hash, hash_key, hash_key_file)`,
		`jobs.yaml:13:11: jobs[2].name: duplicate job name "medipim-be" (first used by jobs[0] at line 6)`,
	}
	assertLines(t, errorLines(t, err), want)
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("Error() =\n%s", got)
	}
}

func assertLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %d problems:\n%s\nwant %d:\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
}

// TestSecretsNeverInErrors puts a recognisable secret everywhere under
// auth that an error could quote it, and checks that no error does.
func TestSecretsNeverInErrors(t *testing.T) {
	const secret = "hunter2-SECRET"
	env := envOf("SECRET", secret, "SECRET_LINES", secret+"\nX-Injected: 1")
	cases := []struct{ name, auth string }{
		{"misspelled key", `{type: basic, username: u, pasword: "${SECRET}"}`},
		{"type", `{type: "${SECRET}", token: t}`},
		{"literal type", `{type: hunter2-SECRET}`},
		{"key the type does not use", `{type: bearer, token: t, password: "${SECRET}"}`},
		{"no type", `{token: "${SECRET}"}`},
		{"key and file", `{type: bearer, token: "${SECRET}", token_file: x}`},
		{"header value", `{headers: {X-Key: [hunter2-SECRET]}}`},
		{"header value with a line break", `{headers: {X-Key: "${SECRET_LINES}"}}`},
		{"token with a line break", `{type: bearer, token: "${SECRET_LINES}"}`},
		{"header name", `{type: header, name: "hunter2 SECRET", value: v}`},
		{"not a mapping", `hunter2-SECRET`},
		{"in base_url", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			yml := "version: 1\njobs:\n  - name: a\n    provider: nameshield\n    auth: " + tc.auth + "\n"
			if tc.auth == "" {
				yml = "version: 1\njobs:\n  - name: a\n    provider: nameshield\n    base_url: https://u:${SECRET}@host/x?y#z\n"
			}
			lines := problems(t, yml, env)
			if len(lines) == 0 {
				t.Fatal("no error")
			}
			for _, l := range lines {
				if strings.Contains(l, "hunter2") || strings.Contains(l, "Injected") {
					t.Errorf("secret in %q", l)
				}
			}
		})
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("token", "abc\n")
	write("crlf", "abc\r\n")
	write("empty", "\n")
	write("big", strings.Repeat("x", 64<<10+1))
	abs := filepath.Join(dir, "token")

	cases := []struct {
		name, auth string
		want       []string // error lines; nil: the token is "abc"
	}{
		{"relative to the config file", "{type: bearer, token_file: token}", nil},
		{"absolute", "{type: bearer, token_file: " + abs + "}", nil},
		{"crlf trimmed", "{type: bearer, token_file: crlf}", nil},
		{"interpolated path", "{type: bearer, token_file: \"${DIR}/token\"}", nil},
		{"missing file", "{type: bearer, token_file: nope}", []string{
			`FILE:5:38: jobs[0].auth.token_file: cannot read "DIR/nope": no such file or directory`}},
		{"empty file", "{type: bearer, token_file: empty}", []string{
			`FILE:5:38: jobs[0].auth.token_file: must not be empty`}},
		{"too big", "{type: bearer, token_file: big}", []string{
			`FILE:5:38: jobs[0].auth.token_file: cannot read "DIR/big": larger than 64 KiB: not a credential`}},
		{"key and file", "{type: bearer, token: t, token_file: token}", []string{
			`FILE:5:48: jobs[0].auth.token_file: set token or token_file, not both`}},
		{"file twin of a key the type does not use", "{type: bearer, token: t, password_file: token}", []string{
			`FILE:5:51: jobs[0].auth.password_file: not used by auth type bearer`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, "jobs.yaml")
			yml := "version: 1\njobs:\n  - name: a\n    provider: nameshield\n    auth: " + tc.auth + "\n"
			cfg, err := Parse(file, []byte(yml), envOf("DIR", dir))
			got := errorLines(t, err)
			for i := range got {
				got[i] = strings.ReplaceAll(strings.ReplaceAll(got[i], file, "FILE"), dir, "DIR")
			}
			assertLines(t, got, tc.want)
			if tc.want == nil && err == nil && cfg.Jobs[0].Auth.Token != "abc" {
				t.Errorf("token = %q, want abc", cfg.Jobs[0].Auth.Token)
			}
		})
	}
}

// testCA is the PEM of a TLS test server's certificate, its own CA.
func testCA(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func TestCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	srv.Close() // its certificate is all this test needs
	dir := t.TempDir()
	write := func(name string, content []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", testCA(srv))
	write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("k")}))
	write("bad.pem", append(testCA(srv), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")})...))
	write("big.pem", bytes.Repeat([]byte("x"), 4<<20+1))
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "ca.pem")

	cases := []struct {
		name, tls string
		want      []string // error lines; nil: CAFile is DIR/ca.pem
	}{
		{"relative to the config file", "{ca_file: ca.pem}", nil},
		{"absolute", "{ca_file: " + abs + "}", nil},
		{"interpolated", `{ca_file: "${DIR}/ca.pem"}`, nil},
		{"block mapping", "\n      ca_file: ./ca.pem", nil},
		{"missing, relative", "{ca_file: nope.pem}", []string{
			`FILE:5:20: jobs[0].tls.ca_file: cannot read "DIR/nope.pem": no such file or directory (a relative ca_file is relative to the config file's directory)`}},
		{"missing, absolute", "{ca_file: /nonexistent/ca.pem}", []string{
			`FILE:5:20: jobs[0].tls.ca_file: cannot read "/nonexistent/ca.pem": no such file or directory`}},
		{"a directory", "{ca_file: certs}", []string{
			`FILE:5:20: jobs[0].tls.ca_file: cannot read "DIR/certs": read DIR/certs: is a directory (a relative ca_file is relative to the config file's directory)`}},
		{"no PEM certificate", "{ca_file: key.pem}", []string{
			`FILE:5:20: jobs[0].tls.ca_file: "DIR/key.pem" holds no PEM certificate (-----BEGIN CERTIFICATE-----) (a relative ca_file is relative to the config file's directory)`}},
		{"a certificate that does not parse", "{ca_file: " + filepath.Join(dir, "bad.pem") + "}", []string{
			`FILE:5:20: jobs[0].tls.ca_file: "DIR/bad.pem" holds a certificate that does not parse (number 2): x509: malformed certificate`}},
		{"too big", "{ca_file: big.pem}", []string{
			`FILE:5:20: jobs[0].tls.ca_file: "DIR/big.pem" is larger than 4 MiB: not a CA bundle (a relative ca_file is relative to the config file's directory)`}},
		{"unknown key", "{ca_file: ca.pem, cafile: ca.pem, insecure_skip_verify: true}", []string{
			`FILE:5:28: jobs[0].tls.cafile: unknown key "cafile", did you mean "ca_file"? (valid keys: ca_file)`,
			`FILE:5:44: jobs[0].tls.insecure_skip_verify: unknown key "insecure_skip_verify" (valid keys: ca_file)`}},
		{"not a mapping", "ca.pem", []string{`FILE:5:10: jobs[0].tls: expected a mapping, got "ca.pem"`}},
		{"not a string", "{ca_file: [ca.pem]}", []string{`FILE:5:20: jobs[0].tls.ca_file: expected a string, got a list`}},
		{"unset variable", `{ca_file: "${CA_FILE}"}`, []string{
			`FILE:5:20: jobs[0].tls.ca_file: environment variable CA_FILE is not set (use ${CA_FILE:-default} for a default)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, "jobs.yaml")
			yml := "version: 1\njobs:\n  - name: a\n    provider: nameshield\n    tls: " + tc.tls + "\n"
			cfg, err := Parse(file, []byte(yml), envOf("DIR", dir))
			got := errorLines(t, err)
			for i := range got {
				got[i] = strings.ReplaceAll(strings.ReplaceAll(got[i], file, "FILE"), dir, "DIR")
			}
			assertLines(t, got, tc.want)
			if tc.want == nil && err == nil && filepath.Clean(cfg.Jobs[0].TLS.CAFile) != abs {
				t.Errorf("CAFile = %q, want %q", cfg.Jobs[0].TLS.CAFile, abs)
			}
		})
	}
}

func TestCAFileDefaults(t *testing.T) {
	for _, tls := range []string{"", "tls: {}", `tls: {ca_file: ""}`, "tls: {ca_file: ~}", "tls:"} {
		if got := mustParse(t, oneJob(tls), nil).Jobs[0].TLS; got != (TLS{}) {
			t.Errorf("%q: TLS = %#v, want none", tls, got)
		}
	}
}

// TestJobTrustsItsCAFile runs a job against a TLS server whose CA only the
// job's ca_file names: without it the job fails on the certificate.
func TestJobTrustsItsCAFile(t *testing.T) {
	srv := httptest.NewUnstartedServer(lyingTotal(1)) // an honest total of 1
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)  // the handshake refused on purpose
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "corp-ca.pem"), testCA(srv), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(tls string) JobResult {
		t.Helper()
		file := filepath.Join(dir, "jobs.yaml")
		yml := "version: 1\noutput: {destination: " + filepath.Join(dir, "out") + ", formats: [jsonl]}\njobs:\n" +
			"  - {name: corp, provider: nameshield, base_url: " + srv.URL + ", retry: {max_attempts: 1}" + tls + "}\n"
		if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(file, envOf())
		if err != nil {
			t.Fatalf("Load:\n%v", err)
		}
		return runPinned(t, context.Background(), cfg, 0).Jobs[0]
	}

	j := run("")
	if j.Status != StatusFailed || !strings.Contains(j.Error, "x509: certificate signed by unknown authority") ||
		!strings.Contains(j.Error, "set the job's tls.ca_file to that CA's PEM bundle") {
		t.Errorf("without ca_file: %s %q, want failed on the unknown authority, with the hint", j.Status, j.Error)
	}
	if j := run(", tls: {ca_file: corp-ca.pem}"); j.Status != StatusSucceeded || j.Records != 1 {
		t.Errorf("with ca_file: %s %q, %d records", j.Status, j.Error, j.Records)
	}
}

func TestJobOutputOverride(t *testing.T) {
	cfg := mustParse(t, `
version: 1
output:
  destination: /data
  formats: [jsonl, parquet]
  compression: {jsonl: gzip}
  s3: {region: us-east-1, part_size: 32MiB}
jobs:
  - name: a
    provider: medipim
    output:
      formats: [csv]
      compression: {csv: zstd}
      s3: {sse: AES256}
      include_raw: true
  - name: b
    provider: medipim
    include_raw: true
`, nil)
	a, b := cfg.Jobs[0].Output, cfg.Jobs[1].Output
	wantA := Output{
		Destination: "/data", Formats: []string{"csv"}, Path: defaultPath,
		Compression:    Compression{Parquet: "zstd", JSONL: "gzip", CSV: "zstd"},
		MaxRowsPerFile: defaultMaxRowsPerFile, IncludeRaw: true,
		S3: S3{Region: "us-east-1", SSE: "AES256", PartSize: 32 << 20, UploadConcurrency: 4},
	}
	if !reflect.DeepEqual(a, wantA) {
		t.Errorf("jobs[0].Output:\ngot  %#v\nwant %#v", a, wantA)
	}
	wantB := cfg.Output
	wantB.IncludeRaw = true
	if !reflect.DeepEqual(b, wantB) {
		t.Errorf("jobs[1].Output:\ngot  %#v\nwant %#v", b, wantB)
	}
	if cfg.Output.IncludeRaw || !reflect.DeepEqual(cfg.Output.Formats, []string{"jsonl", "parquet"}) {
		t.Errorf("a job's override changed the top-level output: %#v", cfg.Output)
	}
	b.Formats[0] = "changed"
	if cfg.Output.Formats[0] != "jsonl" {
		t.Error("jobs share the top-level formats slice")
	}
}

// TestS3Settings sets every key of the s3 block, at the top level and in
// a job: the job's keys, tags among them, are laid over the top-level ones
// one by one.
func TestS3Settings(t *testing.T) {
	cfg := mustParse(t, `
version: 1
output:
  destination: s3://exports.example-eu/users/
  s3:
    region: eu-central-1
    endpoint: https://s3.eu-central-1.amazonaws.com
    force_path_style: false
    sse: aws:kms
    kms_key_id: alias/export
    part_size: 8MiB
    storage_class: STANDARD_IA
    tags: {team: data, "cost center": "4711", classification: pii}
    upload_concurrency: 8
state:
  dir: s3://exports.example-eu/state
jobs:
  - name: a
    provider: medipim
    output:
      destination: s3://exports-archive
      s3:
        region: ""
        force_path_style: true
        sse: AES256
        kms_key_id: ""
        storage_class: DEEP_ARCHIVE
        tags: {classification: restricted, job: a, empty: "", "null":}
        upload_concurrency: 64
  - name: b
    provider: medipim
`, nil)
	top := S3{
		Region: "eu-central-1", Endpoint: "https://s3.eu-central-1.amazonaws.com", SSE: "aws:kms", KMSKeyID: "alias/export",
		PartSize: 8 << 20, StorageClass: "STANDARD_IA", UploadConcurrency: 8,
		Tags: map[string]string{"team": "data", "cost center": "4711", "classification": "pii"},
	}
	a := S3{
		Endpoint: "https://s3.eu-central-1.amazonaws.com", ForcePathStyle: true, SSE: "AES256",
		PartSize: 8 << 20, StorageClass: "DEEP_ARCHIVE", UploadConcurrency: 64,
		Tags: map[string]string{"team": "data", "cost center": "4711", "classification": "restricted", "job": "a", "empty": "", "null": ""},
	}
	for _, c := range []struct {
		name      string
		got, want S3
	}{{"output", cfg.Output.S3, top}, {"jobs[0]", cfg.Jobs[0].Output.S3, a}, {"jobs[1]", cfg.Jobs[1].Output.S3, top}} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s.s3:\ngot  %#v\nwant %#v", c.name, c.got, c.want)
		}
	}
	if d := cfg.Jobs[0].Output.Destination; d != "s3://exports-archive" {
		t.Errorf("jobs[0] destination %q", d)
	}
	if d := cfg.State.Dir; d != "s3://exports.example-eu/state" {
		t.Errorf("state.dir %q", d)
	}
	cfg.Jobs[1].Output.S3.Tags["team"] = "changed"
	if cfg.Output.S3.Tags["team"] != "data" {
		t.Error("jobs share the top-level tags map")
	}
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct{ name, yml, want string }{
		{"mapping value on line 1", "version: 1: 2\n", `jobs.yaml:1: invalid YAML: mapping values are not allowed in this context`},
		{"mapping value", "version: 1\njobs:\n  - name: a: b\n", `jobs.yaml:3: invalid YAML: mapping values are not allowed in this context`},
		{"bad indentation", "version: 1\njobs:\n  - name: a\n provider: b\n", `jobs.yaml:4: invalid YAML: did not find expected key`},
		{"unclosed flow mapping", "version: 1\noutput: {formats: [csv]\njobs: []\n", `jobs.yaml:2: invalid YAML: did not find expected ',' or '}'`},
		{"unterminated string", "version: 1\njobs:\n  - name: \"a\n", `jobs.yaml:3: invalid YAML: found unexpected end of stream`},
		{"tab", "version: 1\njobs:\n\t- name: a\n", `jobs.yaml:3: invalid YAML: found character that cannot start any token`},
		{"unknown anchor", "version: 1\njobs:\n  - *job\n", `jobs.yaml:3:5: invalid YAML: unknown anchor "job" referenced`},
		{"invalid UTF-8", "version: 1\njobs: [\xff]\n", `jobs.yaml:2:8: invalid UTF-8: the config must be UTF-8 text`},
		{"control character", "version: 1\njobs: [a\x01]\n", `jobs.yaml:2:9: control character U+0001 is not allowed`},
		{"two documents", "version: 1\n---\njobs: []\n", `jobs.yaml:2:1: a second YAML document: a config file holds one (remove this ---)`},
		{"empty", "# nothing\n", `jobs.yaml: the file is empty: expected a mapping with version: 1 and jobs`},
		{"not a mapping", "- a\n", `jobs.yaml:1:1: expected a mapping with version: 1 and jobs, got a list`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertLines(t, problems(t, tc.yml, nil), []string{tc.want})
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "jobs.yaml"), nil)
	lines := errorLines(t, err)
	if len(lines) != 1 || !strings.HasSuffix(lines[0], "jobs.yaml: cannot read the config file: no such file or directory") {
		t.Errorf("got %q", lines)
	}
}
