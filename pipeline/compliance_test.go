package pipeline

import (
	"strings"
	"testing"
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
		{name: "include_raw with columns or hash",
			yml: "version: 1\noutput: {include_raw: true}\njobs:\n" +
				"  - {name: a, provider: medipim, columns: {drop: [phone]}}\n" +
				"  - {name: b, provider: medipim, hash: [email], hash_key: " + testHashKey + "}\n" +
				"  - {name: c, provider: medipim, columns: {drop: []}}\n",
			want: []string{
				`jobs.yaml:2:23: output.include_raw: job "a": include_raw cannot be combined with columns/hash yet: the raw record would carry the values they remove`,
				`jobs.yaml:2:23: output.include_raw: job "b": include_raw cannot be combined with columns/hash yet: the raw record would carry the values they remove`,
			}},
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
