package pipeline

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/httpsource"
)

// fuzzEnv stands in for the environment: fuzzed ${NAME}s must not read
// the real one, which may hold secrets. It names paths inside and outside
// the config's directory, so that the *_file guard sees interpolation.
var fuzzEnv = map[string]string{
	"SECRET":             "s3cr3t",
	"EMPTY":              "",
	"PAGE_SIZE":          "100",
	"TIMEOUT":            "45s",
	"NS_CUSTOMER":        "4711",
	"MEDIPIM_KEY_ID":     "key-id",
	"MEDIPIM_KEY_SECRET": "s3cr3t",
	"TOKEN_FILE":         "secrets/token",
	"OUTSIDE":            "../../etc/passwd",
	"ABSOLUTE":           "/etc/passwd",
	"LINES":              "a\nb",
}

func fuzzLookup(name string) (string, bool) {
	v, ok := fuzzEnv[name]
	return v, ok
}

// fuzzSecrets are the files a fuzzed *_file may read, relative to the
// config's directory; full.yaml names the first.
var fuzzSecrets = map[string]string{
	"secrets/medipim-key-id": "key-id-42\n",
	"secrets/token":          "t0ken\r\n",
	"secrets/empty":          "",
	"secrets/lines":          "a\nb\n",
	"secrets/big":            strings.Repeat("x", maxSecretFile+1),
	"secrets/ca.pem":         "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
}

var fuzzSeeds = []string{
	// Anchors, aliases and merge keys, also a list of them and a merge of
	// a merge.
	`version: 1
x-auth: &auth {type: bearer, token: "${SECRET}"}
x-job: &job {provider: nameshield, base_url: simulator, auth: *auth}
x-more: &more {<<: *job, page_size: 10}
jobs:
  - <<: *job
    name: a
  - <<: [*more, {max_in_flight: 3}]
    name: b
  - {<<: *job, name: c, output: {path: "c/{date}"}}
`,
	// Every ${...} form, good and bad.
	`version: 1
concurrency: "${PAGE_SIZE:-4}"
output: {destination: "./out/$$HOME/${EMPTY:-x}", path: "{job}/${UNSET:-d}"}
jobs:
  - name: "${UNSET}"
    provider: medipim
    auth: {type: basic, username: "${MEDIPIM_KEY_ID}", password: "${bad-name}"}
    page_size: ${PAGE_SIZE}
    timeout: "${TIMEOUT:-"
  - name: b
    provider: nameshield
    auth: {type: bearer, token: "${LINES}", headers: {X-A: "${SECRET}$"}}
`,
	// Deep nesting and an alias bomb in a free-form filter.
	"version: 1\njobs:\n  - name: a\n    provider: medipim\n    filter: " +
		strings.Repeat("{and: [", 70) + "{id: 1}" + strings.Repeat("]}", 70) + "\n",
	`version: 1
x-a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
jobs:
  - {name: a, provider: medipim, filter: {id: *d}, sort: *d}
`,
	strings.Repeat("[", 200) + strings.Repeat("]", 200),
	// Huge and odd numbers.
	`version: 99999999999999999999999
concurrency: -9223372036854775808
output: {max_rows_per_file: 1_000_000_000_000_000_000_000, s3: {part_size: 99999999999TiB, upload_concurrency: 0x10}}
jobs:
  - {name: a, provider: kare, page_size: 1e400, rate_limit: 99999999999999999999/1s, timeout: 9999999999h}
  - {name: b, provider: kare, max_in_flight: .inf, retry: {max_attempts: 0o17, max_backoff: -1s}}
`,
	// Secrets read from files, inside the config's directory.
	`version: 1
jobs:
  - name: a
    provider: nameshield
    auth: {type: bearer, token_file: secrets/token}
  - name: b
    provider: mctime
    auth: {type: header, name: x-api-key, value_file: "${TOKEN_FILE}"}
  - name: c
    provider: medipim
    auth: {type: basic, username_file: secrets/empty, password_file: secrets/big}
  - name: d
    provider: kare
    auth: {type: bearer, token_file: secrets/lines, token: t}
`,
	// Duplicates, a second document, odd keys and tags.
	"version: 1\nversion: 1\njobs:\n  - {name: a, provider: medipim}\n  - {name: a, provider: medipim}\n---\nversion: 1\n",
	"version: 1\n? [a, b]\n: c\n1: x\n~: y\njobs: [{name: !!binary YQ==, provider: !!str medipim, page_size: !!int \"10\"}]\n",
	"\ufeffversion: 1\njobs:\n\t- name: a\n",
	"version: 1\njobs: [{name: a, provider: requestor, base_url: \"http://10.0.0.1/api\", wire_format: xml, allow_insecure_http: yes}]\n",
	"version: 1\noutput: {destination: \"s3://my-bucket/pre\", s3: {sse: AES256, kms_key_id: k, tags: {a: b, \"aws:x\": y}}}\njobs: [{name: a, provider: kare}]\n",
	"version: 1\njobs: [{name: a, provider: medipim, output: {path: x}}, {name: b, provider: medipim, output: {path: x}}]\n",
	// Valid jobs of every provider, each with its own filter keys.
	`version: 1
concurrency: 3
output: {destination: file:///var/exports, formats: [parquet], compression: {parquet: gzip}, include_raw: true}
state: {dir: s3://state-bucket/export, lease_ttl: 15m, lock_wait: 30s, s3: {region: eu-west-3, sse: aws:kms}}
jobs:
  - {name: kare-all, provider: kare, base_url: simulator, incremental: true, overlap: 10m, filter: {whereType: [1, 2], whereIsDeleted: false, extend: [organization]}}
  - {name: mctime, provider: mctime, base_url: simulator, filter: {userIds: [a, b], roles: employee, inactive: true}}
  - {name: nameshield, provider: nameshield, filter: {customer_id: 12, firstname: "J*"}, sort: ["firstname:desc", "id:asc"]}
  - name: requestor
    provider: requestor
    base_url: https://requestor.example.com/api/
    wire_format: xml
    filter: {IsOperator: true, CustomerId: 7, LastUpdatedDateFromUtc: 2024-01-01T00:00:00Z}
    retry: {max_attempts: 2, max_backoff: 5s}
    rate_limit: 10/s
  - {name: medipim, provider: medipim, page_size: 50, sort: {id: DESC}, filter: {or: [{vatNr: BE0123}, {not: {apbNr: "123"}}]}}
`,
	`version: 1
output: {destination: "s3://my-bucket/exports/", s3: {region: eu-west-3, sse: aws:kms, kms_key_id: alias/k, part_size: 8MiB, tags: {team: data}}}
jobs:
  - {name: a, provider: kare, output: {formats: [csv, jsonl], csv_escape_formulas: true, max_rows_per_file: 10, s3: {storage_class: STANDARD_IA}}}
  - {name: b, provider: kare, allow_count_mismatch: true, timeout: 1m30s, max_in_flight: 8}
`,
	// Per-job drift and TLS; ca_file is read at load, as *_file keys are.
	`version: 1
jobs:
  - {name: a, provider: nameshield, drift: {max_restarts: 0, confirm: true}, tls: {ca_file: secrets/ca.pem}}
  - {name: b, provider: mctime, drift: {max_restarts: 101, confirm: false}, tls: {ca_file: "${TOKEN_FILE}"}}
  - {name: c, provider: kare, drift: {confirm: "yes"}, tls: {ca_file: secrets/missing.pem}}
`,
	"jobs: *nope\n",
	"",
	"version: 1\x00\n",
	"version: 1\njobs: [{name: \xff}]\n",
}

// FuzzLoad feeds arbitrary bytes to the jobs.yaml loader. A rejection
// must be ConfigErrors, every line of it placed at FILE:LINE; an
// acceptance must be a config a run can use.
func FuzzLoad(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "config", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range append(paths, filepath.Join("..", "jobs.yaml")) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}

	// Relative *_file paths resolve against the config file's directory:
	// a temporary one, holding the only secrets a fuzzed config may read.
	dir := f.TempDir()
	for name, content := range fuzzSecrets {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			f.Fatal(err)
		}
	}
	file := filepath.Join(dir, "jobs.yaml")
	linePrefix := regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `:[1-9][0-9]*:(?:[1-9][0-9]*: )?`)

	f.Fuzz(func(t *testing.T, data []byte) {
		if !filesStayInside(data) {
			t.Skip("a *_file outside the config's directory")
		}
		cfg, err := Parse(file, data, fuzzLookup)
		again, errAgain := Parse(file, data, fuzzLookup)
		if (err == nil) != (errAgain == nil) || err != nil && err.Error() != errAgain.Error() {
			t.Fatalf("two parses differ:\n%v\n---\n%v", err, errAgain)
		}
		if err != nil {
			if cfg != nil {
				t.Errorf("a config as well as an error")
			}
			var errs ConfigErrors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is a %T, want a non-empty ConfigErrors: %v", err, err)
			}
			if len(errs) == 1 && errs[0].Line == 0 && isEmptyDocument(data) {
				return // nothing in the file to point at
			}
			for _, e := range errs {
				if e.File != file || e.Line < 1 || e.Msg == "" {
					t.Errorf("problem without a position or message: %#v", e)
				}
				// Error() lists one problem a line.
				line := e.Error()
				if !linePrefix.MatchString(line) || strings.ContainsAny(line, "\r\n") {
					t.Errorf("problem not on one FILE:LINE: line: %q", line)
				}
			}
			// Only an auth *_file reads these: a credential, never quoted.
			for _, secret := range []string{"key-id-42", "t0ken"} {
				if strings.Contains(err.Error(), secret) && !bytes.Contains(data, []byte(secret)) {
					t.Errorf("an error quotes the secret %q:\n%v", secret, err)
				}
			}
			return
		}
		checkAccepted(t, cfg, again)
	})
}

// checkAccepted checks what a run relies on in a config Parse accepted.
func checkAccepted(t *testing.T, cfg, again *Config) {
	t.Helper()
	if cfg.Version != 1 || cfg.Concurrency < 1 || len(cfg.Jobs) == 0 || len(again.Jobs) != len(cfg.Jobs) {
		t.Fatalf("version %d, concurrency %d, %d jobs (then %d)", cfg.Version, cfg.Concurrency, len(cfg.Jobs), len(again.Jobs))
	}
	names := map[string]bool{}
	folders := map[string]string{}
	for i, j := range cfg.Jobs {
		if !jobName.MatchString(j.Name) || names[j.Name] {
			t.Errorf("jobs[%d]: invalid or duplicate name %q", i, j.Name)
		}
		names[j.Name] = true
		if _, ok := sources.Lookup(j.Provider); !ok {
			t.Errorf("job %s: unknown provider %q", j.Name, j.Provider)
		}
		if j.BaseURL == "" || strings.HasSuffix(j.BaseURL, "/") {
			t.Errorf("job %s: base URL %q", j.Name, j.BaseURL)
		}
		if j.PageSize < 1 || j.MaxInFlight < 1 || j.Timeout <= 0 || j.Retry.MaxAttempts < 1 || j.Retry.MaxBackoff <= 0 {
			t.Errorf("job %s: page size %d, in flight %d, timeout %v, retry %+v", j.Name, j.PageSize, j.MaxInFlight, j.Timeout, j.Retry)
		}
		if p, _ := sources.Lookup(j.Provider); j.Incremental && p.Incremental == httpsource.IncrementalNone {
			t.Errorf("job %s: incremental accepted for %s, which has no update time", j.Name, j.Provider)
		}
		if j.Overlap < 0 || cfg.State.LeaseTTL < minLeaseTTL || cfg.State.LockWait < 0 {
			t.Errorf("job %s: overlap %v, lease_ttl %v, lock_wait %v", j.Name, j.Overlap, cfg.State.LeaseTTL, cfg.State.LockWait)
		}
		checkAuth(t, j)
		o := j.Output
		if len(o.Formats) == 0 || o.Destination == "" || checkLocation(o.Destination) != "" ||
			checkPathTemplate(o.Path) != "" || o.MaxRowsPerFile < 1 {
			t.Errorf("job %s: output %+v", j.Name, o)
		}
		folder := outputFolder(o, j.Name, j.Provider)
		if other, dup := folders[folder]; dup {
			t.Errorf("jobs %s and %s write to the same folder %s", other, j.Name, folder)
		}
		folders[folder] = j.Name
	}
}

func checkAuth(t *testing.T, j Job) {
	t.Helper()
	a := j.Auth
	var need []string
	switch a.Type {
	case "":
	case "basic":
		need = []string{a.Username, a.Password}
	case "bearer":
		need = []string{a.Token}
	case "header":
		need = []string{a.Value}
		if !validHeaderName(a.Name) {
			t.Errorf("job %s: header name %q", j.Name, a.Name)
		}
	default:
		t.Errorf("job %s: auth type %q", j.Name, a.Type)
	}
	for _, s := range need {
		if s == "" {
			t.Errorf("job %s: an empty %s credential", j.Name, a.Type)
		}
	}
	for name, v := range a.Headers {
		if !validHeaderName(name) || strings.ContainsAny(v, "\r\n\x00") {
			t.Errorf("job %s: header %q: %q", j.Name, name, v)
		}
	}
}

// isEmptyDocument reports whether data is valid YAML holding no value.
func isEmptyDocument(data []byte) bool {
	var doc yaml.Node
	err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc)
	return (err == nil || errors.Is(err, io.EOF)) && len(doc.Content) == 0
}

// filesStayInside reports whether every *_file key of data names, once
// interpolated, a path inside the config's directory: Parse reads those
// files, and a fuzzed config must not read /etc/shadow or block on
// /dev/stdin. The YAML is parsed rather than searched for "_file",
// which an escaped key ("token\x5ffile") or an alias hides.
func filesStayInside(data []byte) bool {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return true // Parse stops at the syntax error, before reading any file
	}
	return keysStayInside(&doc)
}

// keysStayInside walks n without following aliases: each anchored node
// is walked where it is defined, once.
func keysStayInside(n *yaml.Node) bool {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
			if strings.Contains(k.Value, "_file") && !localPath(v) {
				return false
			}
		}
	}
	for _, c := range n.Content {
		if !keysStayInside(c) {
			return false
		}
	}
	return true
}

// localPath reports whether v is null, or a scalar that interpolates to a
// relative path that stays inside its directory (or fails to
// interpolate, which Parse reports without reading).
func localPath(v *yaml.Node) bool {
	if v.Kind != yaml.ScalarNode {
		return false
	}
	if v.ShortTag() == "!!null" {
		return true
	}
	s, problems := interpolate(v.Value, fuzzLookup)
	return len(problems) > 0 || filepath.IsLocal(s)
}
