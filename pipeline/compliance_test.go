package pipeline

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/saas-export/export/sources/simulator"
)

// testHashKey is 16 bytes, the shortest key accepted.
const testHashKey = "k3y-0f-16-bytes!"

func TestComplianceConfigProblems(t *testing.T) {
	cases := []struct {
		name string
		yml  string
		want []string
	}{
		{name: "unknown, raw, duplicate and required columns",
			yml: oneJob("columns: {drop: [phone, phnoe, raw, id, phone]}"),
			want: []string{
				`jobs.yaml:5:29: jobs[0].columns.drop[1]: unknown column "phnoe" (columns: provider, job, id, key, username, first_name, last_name, full_name, email, phone, phones, language, organization_id, roles, active, created_at, updated_at, deleted_at, expires_at, last_login_at, run_id, extracted_at)`,
				`jobs.yaml:5:36: jobs[0].columns.drop[2]: raw is not a column to name here: it is written only with include_raw: true`,
				`jobs.yaml:5:41: jobs[0].columns.drop[3]: id is a required column, always written: it cannot be dropped`,
				`jobs.yaml:5:45: jobs[0].columns.drop[4]: duplicate column "phone"`,
			}},
		{name: "keep and drop together, neither, not a list",
			yml: "version: 1\noutput: {columns: {keep: [email], drop: [phone]}}\njobs:\n" +
				"  - {name: a, provider: medipim, columns: {}}\n" +
				"  - {name: b, provider: medipim, columns: {keep: email}}\n",
			want: []string{
				`jobs.yaml:2:19: output.columns: set keep or drop, not both`,
				`jobs.yaml:4:43: jobs[0].columns: set keep or drop (a list of column names)`,
				`jobs.yaml:5:50: jobs[1].columns.keep: expected a list of column names, got "email"`,
			}},
		{name: "hashing required and non-string columns",
			yml: oneJob("hash: [email, run_id, active, created_at]", "hash_key: "+testHashKey),
			want: []string{
				`jobs.yaml:5:19: jobs[0].hash[1]: run_id is a required column, which identifies the row: it cannot be hashed`,
				`jobs.yaml:5:27: jobs[0].hash[2]: active is a bool column: only string and list<string> columns can be hashed`,
				`jobs.yaml:5:35: jobs[0].hash[3]: created_at is a timestamp[us, UTC] column: only string and list<string> columns can be hashed`,
			}},
		{name: "hash without a key, key too short",
			yml: "version: 1\noutput: {hash: [email]}\njobs:\n" +
				"  - {name: a, provider: medipim}\n" +
				"  - {name: b, provider: medipim, hash_key: short-s3cret}\n",
			want: []string{
				`jobs.yaml:2:16: output.hash: job "a": hash needs hash_key or hash_key_file (the HMAC key)`,
				`jobs.yaml:5:44: jobs[1].hash_key: must be at least 16 bytes: a short key lets the pseudonyms be reversed by trying every value`,
			}},
		{name: "hashed and dropped, by drop and by keep",
			yml: "version: 1\noutput: {hash: [email, phones], hash_key: " + testHashKey + "}\njobs:\n" +
				"  - {name: a, provider: medipim, columns: {drop: [phones]}}\n" +
				"  - {name: b, provider: medipim, columns: {keep: [phones]}}\n",
			want: []string{
				`jobs.yaml:2:16: output.hash: job "a": phones is both hashed and dropped (columns at line 4): hash it or drop it`,
				`jobs.yaml:2:16: output.hash: job "b": email is both hashed and dropped (columns at line 5): hash it or drop it`,
			}},
		{name: "include_raw with columns or hash is accepted: raw is scrubbed",
			yml: "version: 1\noutput: {include_raw: true}\njobs:\n" +
				"  - {name: a, provider: medipim, columns: {drop: [phone]}}\n" +
				"  - {name: b, provider: medipim, hash: [email], hash_key: " + testHashKey + "}\n" +
				"  - {name: c, provider: medipim, columns: {drop: []}}\n" +
				"  - {name: d, provider: kare, columns: {keep: [email]}, hash: [email], hash_key: " + testHashKey + "}\n",
			want: nil},
		{name: "set both in the job and under its output",
			yml: oneJob("hash: [email]", "hash_key_file: key", "output: {hash: [phone], hash_key: "+testHashKey+"}"),
			want: []string{
				`jobs.yaml:5:11: jobs[0].hash: hash is also set under this job's output (line 7): set it once`,
				`jobs.yaml:6:20: jobs[0].hash_key_file: hash_key_file is also set under this job's output (line 7): set it once`,
			}},
		{name: "hash_key and hash_key_file",
			yml:  oneJob("hash: [email]", "hash_key: "+testHashKey, "hash_key_file: key"),
			want: []string{`jobs.yaml:7:20: jobs[0].hash_key_file: set hash_key or hash_key_file, not both`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.yml, envOf())
			assertLines(t, got, tc.want)
			for _, line := range got {
				if strings.Contains(line, testHashKey) || strings.Contains(line, "s3cret") {
					t.Errorf("an error quotes the hash key: %s", line)
				}
			}
		})
	}
}

// complianceJobs exports every provider from the simulator into {{out}};
// {{controls}} is the output's compliance keys.
const complianceJobs = `
version: 1
output:
  destination: {{out}}
  {{controls}}
jobs:
  - {name: kare, provider: kare, base_url: simulator,
     auth: {type: bearer, token: demo-token, headers: {x-session-token: demo-session}}}
  - {name: mctime, provider: mctime, base_url: simulator, auth: {type: header, name: x-api-key, value: demo-key}}
  - {name: medipim, provider: medipim, base_url: simulator, auth: {type: basic, username: demo, password: demo-password}}
  - {name: nameshield, provider: nameshield, base_url: simulator, auth: {type: bearer, token: demo-token}}
  - {name: requestor, provider: requestor, base_url: simulator, wire_format: xml,
     auth: {type: basic, username: demo, password: demo-password}}
`

// complianceRun runs complianceJobs with controls into a new folder and
// returns its files, the summary as JSON and the log.
func complianceRun(t *testing.T, runID, controls string, env func(string) (string, bool)) (map[string][]byte, []byte, []byte) {
	t.Helper()
	out := t.TempDir()
	yml := strings.NewReplacer("{{out}}", out, "{{controls}}", controls).Replace(complianceJobs)
	file := filepath.Join(out, "jobs.yaml")
	if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file, env)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if err := os.Remove(file); err != nil { // not an output: it names the key's env variable
		t.Fatal(err)
	}
	var logs bytes.Buffer
	sum, err := Run(context.Background(), cfg, Options{
		RunID: runID, Now: pinnedNow, Version: "test",
		Simulator: simulator.Options{Users: 120, Seed: 7},
		Logger:    slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusSucceeded {
		t.Fatalf("status %q: %+v", sum.Status, sum.Jobs)
	}
	summary, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	files := listFiles(t, out)
	if len(files) == 0 {
		t.Fatal("no files written")
	}
	return files, summary, logs.Bytes()
}

// exportedRows decodes each job's rows from one format, keyed by job and id.
func exportedRows(t *testing.T, files map[string][]byte, runID, format string) map[string]map[string]any {
	t.Helper()
	rows := map[string]map[string]any{}
	for _, job := range []string{"kare", "mctime", "medipim", "nameshield", "requestor"} {
		name := pinnedDir(job, format, runID) + "users." + format
		data, ok := files[name]
		if !ok {
			t.Fatalf("no %s", name)
		}
		decoded := decodeRows(t, name, format, data)
		for _, row := range decoded {
			rows[job+"/"+row["id"].(string)] = row
		}
	}
	return rows
}

// parquetRows reads a Parquet file with an independent reader, arrow-go's
// pqarrow, into rows as JSON would decode them.
func parquetRows(t *testing.T, name string, data []byte) []map[string]any {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 20}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer rr.Release()
	var rows []map[string]any
	for rr.Next() {
		body, err := json.Marshal(rr.RecordBatch())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var batch []map[string]any
		if err := json.Unmarshal(body, &batch); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rows = append(rows, batch...)
	}
	if rr.Err() != nil {
		t.Fatalf("%s: %v", name, rr.Err())
	}
	return rows
}

func pseudonym(s string) string {
	mac := hmac.New(sha256.New, []byte(testHashKey))
	mac.Write([]byte(s))
	return hex.EncodeToString(mac.Sum(nil))
}

// TestComplianceRun exports every provider with phone and first_name
// dropped and email and phones hashed, in every format, and checks the
// output against an unprotected run of the same users.
func TestComplianceRun(t *testing.T) {
	plain, _, _ := complianceRun(t, "plain", "", envOf())
	const controls = "columns: {drop: [phone, first_name]}\n  hash: [email, phones]\n  "
	env := envOf("EXPORT_HASH_KEY", testHashKey)
	protected, summary, logs := complianceRun(t, "r1", controls+`hash_key: "${EXPORT_HASH_KEY}"`, env)

	// The same key from a file gives the same pseudonyms in another run.
	keyFile := filepath.Join(t.TempDir(), "hash.key")
	if err := os.WriteFile(keyFile, []byte(testHashKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, summary2, logs2 := complianceRun(t, "r2", controls+"hash_key_file: "+keyFile, envOf())

	original := exportedRows(t, plain, "plain", "jsonl")
	// Every original email and phone number: the protected output must not
	// hold one. (A dropped first_name is still part of full_name.)
	var secrets []string
	for _, row := range original {
		for _, col := range []string{"email", "phone"} {
			if s, ok := row[col].(string); ok && len(s) >= 4 {
				secrets = append(secrets, s)
			}
		}
		if list, ok := row["phones"].([]any); ok {
			for _, p := range list {
				if s := p.(string); len(s) >= 4 {
					secrets = append(secrets, s)
				}
			}
		}
	}
	if len(secrets) < 500 {
		t.Fatalf("only %d original values to look for", len(secrets))
	}

	for _, run := range []struct {
		id           string
		files        map[string][]byte
		summary, log []byte
	}{{"r1", protected, summary, logs}, {"r2", again, summary2, logs2}} {
		everything := map[string][]byte{"summary": run.summary, "log": run.log}
		maps.Copy(everything, run.files)
		for name, data := range everything {
			if bytes.Contains(data, []byte(testHashKey)) {
				t.Errorf("run %s: %s holds the hash key", run.id, name)
			}
			for _, s := range secrets {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("run %s: %s holds the original value %q", run.id, name, s)
					break
				}
			}
		}
		for _, format := range []string{"jsonl", "csv", "parquet"} {
			rows := exportedRows(t, run.files, run.id, format)
			if len(rows) != len(original) {
				t.Fatalf("run %s %s: %d rows, want %d", run.id, format, len(rows), len(original))
			}
			for key, row := range rows {
				checkProtectedRow(t, run.id+" "+format+" "+key, format, row, original[key])
			}
		}
		checkComplianceManifests(t, run.id, run.files)
	}
}

// checkProtectedRow compares one row of the protected output with the
// same user's row in the unprotected one.
func checkProtectedRow(t *testing.T, where, format string, row, orig map[string]any) {
	t.Helper()
	for _, col := range []string{"phone", "first_name"} {
		if _, ok := row[col]; ok {
			t.Fatalf("%s: dropped column %s is present", where, col)
		}
	}
	for _, col := range []string{"last_name", "roles", "run_id"} {
		if _, ok := row[col]; !ok {
			t.Fatalf("%s: column %s is missing", where, col)
		}
	}
	wantEmail := any(nil)
	if s, ok := orig["email"].(string); ok {
		wantEmail = pseudonym(s)
	}
	var wantPhones any
	if list, ok := orig["phones"].([]any); ok {
		hashed := make([]any, len(list))
		for i, p := range list {
			hashed[i] = pseudonym(p.(string))
		}
		wantPhones = hashed
	}
	if format == "csv" { // CSV writes null as an empty field and a list as JSON
		if wantEmail == nil {
			wantEmail = ""
		}
		encoded := ""
		if wantPhones != nil {
			b, _ := json.Marshal(wantPhones)
			encoded = string(b)
		}
		wantPhones = encoded
	}
	if !reflect.DeepEqual(row["email"], wantEmail) {
		t.Fatalf("%s: email %v, want %v (from %v)", where, row["email"], wantEmail, orig["email"])
	}
	if !reflect.DeepEqual(row["phones"], wantPhones) {
		t.Fatalf("%s: phones %v, want %v (from %v)", where, row["phones"], wantPhones, orig["phones"])
	}
}

func checkComplianceManifests(t *testing.T, runID string, files map[string][]byte) {
	t.Helper()
	fingerprint := sha256.Sum256([]byte(fingerprintDomain + testHashKey))
	for _, job := range []string{"kare", "mctime", "medipim", "nameshield", "requestor"} {
		var m struct { // as the contract spells it
			Columns struct {
				Kept, Hashed, Dropped []string
			}
			HashKeyFingerprint string `json:"hash_key_fingerprint"`
		}
		if err := json.Unmarshal(files[pinnedDir(job, "parquet", runID)+ManifestName], &m); err != nil {
			t.Fatalf("%s manifest: %v", job, err)
		}
		want := struct{ Kept, Hashed, Dropped []string }{
			Kept: []string{"provider", "job", "id", "key", "username", "last_name", "full_name", "email", "phones",
				"language", "organization_id", "roles", "active", "created_at", "updated_at", "deleted_at", "expires_at",
				"last_login_at", "run_id", "extracted_at"},
			Hashed:  []string{"email", "phones"},
			Dropped: []string{"first_name", "phone"},
		}
		if !reflect.DeepEqual(m.Columns, want) {
			t.Errorf("%s manifest columns %+v, want %+v", job, m.Columns, want)
		}
		if m.HashKeyFingerprint != hex.EncodeToString(fingerprint[:8]) {
			t.Errorf("%s manifest hash_key_fingerprint %q", job, m.HashKeyFingerprint)
		}
	}
}

// TestHashKeyFile reads hash_key_file as the auth *_file secrets are read:
// relative to the config file, trailing line breaks trimmed.
func TestHashKeyFile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"key": testHashKey + "\r\n", "short": "0123456789\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "jobs.yaml")
	cfg, err := Parse(file, []byte(oneJob("hash: [email]", "hash_key_file: key")), envOf())
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Jobs[0].Output.HashKey; got != testHashKey {
		t.Errorf("hash key %q, want %q", got, testHashKey)
	}
	_, err = Parse(file, []byte(oneJob("hash: [email]", "hash_key_file: short")), envOf())
	got := errorLines(t, err)
	for i := range got {
		got[i] = strings.ReplaceAll(got[i], file, "FILE")
	}
	assertLines(t, got, []string{
		`FILE:6:20: jobs[0].hash_key_file: must be at least 16 bytes: a short key lets the pseudonyms be reversed by trying every value`})
}
