package pipeline

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/httpsource"
)

// oneJob is a config with one medipim job named a; lines are more keys
// of that job, from line 5 on, indented for it.
func oneJob(lines ...string) string {
	var b strings.Builder
	b.WriteString("version: 1\njobs:\n  - name: a\n    provider: medipim\n")
	for _, l := range lines {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// destinationJobs lists medipim jobs named a, b, … on one line each, with
// the given destinations, their value at column 56.
func destinationJobs(destinations ...string) string {
	var b strings.Builder
	for i, d := range destinations {
		fmt.Fprintf(&b, "  - {name: %c, provider: medipim, output: {destination: %q}}\n", 'a'+i, d)
	}
	return b.String()
}

// tagList is n tags named prefix1, prefix2, … for a flow mapping.
func tagList(prefix string, n int) string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("%s%d: x", prefix, i+1)
	}
	return strings.Join(tags, ", ")
}

func TestConfigProblems(t *testing.T) {
	cases := []struct {
		name string
		yml  string
		env  []string // NAME, VALUE pairs
		want []string
	}{
		// Structure.
		{name: "unknown top-level key, with a suggestion",
			yml:  "version: 1\nconcurency: 2\njobs: [{name: a, provider: medipim}]\n",
			want: []string{`jobs.yaml:2:1: concurency: unknown key "concurency", did you mean "concurrency"? (valid keys: version, concurrency, output, state, jobs, x-*)`}},
		{name: "missing version and jobs",
			yml: "concurrency: 2\n",
			want: []string{
				`jobs.yaml:1:1: jobs: required: list at least one job`,
				`jobs.yaml:1:1: version: required: add version: 1`,
			}},
		{name: "unsupported version",
			yml:  "version: 2\njobs: [{name: a, provider: medipim}]\n",
			want: []string{`jobs.yaml:1:10: version: unsupported version 2: this build reads version 1`}},
		{name: "no jobs",
			yml:  "version: 1\njobs: []\n",
			want: []string{`jobs.yaml:2:7: jobs: list at least one job`}},
		{name: "jobs not a list",
			yml:  "version: 1\njobs: {name: a}\n",
			want: []string{`jobs.yaml:2:7: jobs: expected a list of jobs, got a mapping`}},
		{name: "duplicate key",
			yml:  oneJob("page_size: 10", "page_size: 50"),
			want: []string{`jobs.yaml:6:5: jobs[0].page_size: duplicate key "page_size" (first at line 5)`}},
		{name: "non-string key",
			yml:  oneJob("? [a, b]", ": c"),
			want: []string{`jobs.yaml:5:7: jobs[0]: expected a string key, got a list`}},
		{name: "job not a mapping",
			yml:  "version: 1\njobs: [medipim]\n",
			want: []string{`jobs.yaml:2:8: jobs[0]: expected a mapping, got "medipim"`, `jobs.yaml:2:8: jobs[0].name: required: a unique name made of a-z, 0-9 and -`, `jobs.yaml:2:8: jobs[0].provider: required: one of ` + knownProviders()}},

		// Names and providers.
		{name: "invalid job name",
			yml:  "version: 1\njobs: [{name: Medipim_BE, provider: medipim}]\n",
			want: []string{`jobs.yaml:2:15: jobs[0].name: invalid job name "Medipim_BE": use only a-z, 0-9 and -`}},
		{name: "missing name and provider",
			yml: "version: 1\njobs:\n  - page_size: 10\n",
			want: []string{
				`jobs.yaml:3:5: jobs[0].name: required: a unique name made of a-z, 0-9 and -`,
				`jobs.yaml:3:5: jobs[0].provider: required: one of ` + knownProviders(),
			}},
		{name: "unknown provider",
			yml:  "version: 1\njobs:\n  - name: a\n    provider: medipin\n",
			want: []string{`jobs.yaml:4:15: jobs[0].provider: unknown provider "medipin" (known: ` + knownProviders() + `)`}},

		// Numbers, booleans, durations, rates and sizes.
		{name: "integers at least 1",
			yml: "version: 1\nconcurrency: 0\noutput: {max_rows_per_file: -1}\njobs:\n  - name: a\n    provider: medipim\n" +
				"    max_in_flight: 0\n    retry: {max_attempts: 0}\n",
			want: []string{
				`jobs.yaml:2:14: concurrency: must be at least 1, got 0`,
				`jobs.yaml:3:29: output.max_rows_per_file: must be at least 1, got -1`,
				`jobs.yaml:7:20: jobs[0].max_in_flight: must be at least 1, got 0`,
				`jobs.yaml:8:27: jobs[0].retry.max_attempts: must be at least 1, got 0`,
			}},
		{name: "wrong types",
			yml: oneJob("page_size: 2.5", "max_in_flight: [2]", "incremental: yes", "timeout: 30", "retry: {max_backoff: -1s}"),
			want: []string{
				`jobs.yaml:5:16: jobs[0].page_size: expected an integer, got "2.5"`,
				`jobs.yaml:6:20: jobs[0].max_in_flight: expected an integer, got a list`,
				`jobs.yaml:7:18: jobs[0].incremental: expected true or false, got "yes"`,
				`jobs.yaml:8:14: jobs[0].timeout: expected a duration like 30s, 1m or 1h30m, got "30"`,
				`jobs.yaml:9:26: jobs[0].retry.max_backoff: must be positive, got "-1s"`,
			}},
		{name: "rates",
			yml: oneJob("rate_limit: 100"),
			want: []string{
				`jobs.yaml:5:17: jobs[0].rate_limit: expected a rate like 100/1m or 10/s (requests per period), got "100"`,
			}},
		{name: "zero rate",
			yml: oneJob("rate_limit: 0/1m"),
			want: []string{
				`jobs.yaml:5:17: jobs[0].rate_limit: expected a rate like 100/1m or 10/s (requests per period), got "0/1m"`,
			}},
		{name: "sizes",
			yml: "version: 1\noutput:\n  s3: {part_size: 16M}\njobs:\n  - name: a\n    provider: medipim\n    output: {s3: {part_size: 512KiB}}\n",
			want: []string{
				`jobs.yaml:3:19: output.s3.part_size: expected a size like 16MiB, 512KiB, 1GB or a number of bytes, got "16M"`,
				`jobs.yaml:7:30: jobs[0].output.s3.part_size: must be between 5MiB and 5GiB (the S3 limits on a part), got "512KiB"`,
			}},

		// Enumerations and output.
		{name: "formats",
			yml: "version: 1\noutput: {formats: parquet}\njobs:\n  - name: a\n    provider: medipim\n    output: {formats: []}\n" +
				"  - name: b\n    provider: medipim\n    output: {formats: [csv, CSV, csv]}\n",
			want: []string{
				`jobs.yaml:2:19: output.formats: expected a list like [jsonl, csv, parquet], got "parquet"`,
				`jobs.yaml:6:23: jobs[0].output.formats: list at least one of jsonl, csv, parquet`,
				`jobs.yaml:9:29: jobs[1].output.formats[1]: expected one of jsonl, csv, parquet, got "CSV"`,
				`jobs.yaml:9:34: jobs[1].output.formats[2]: duplicate format "csv"`,
			}},
		{name: "compression",
			yml: "version: 1\noutput:\n  compression: {parquet: lz4, jsonl: snappy, csv: gzip, xml: none}\njobs: [{name: a, provider: medipim}]\n",
			want: []string{
				`jobs.yaml:3:26: output.compression.parquet: expected one of zstd, snappy, gzip, none, got "lz4"`,
				`jobs.yaml:3:38: output.compression.jsonl: expected one of gzip, zstd, none, got "snappy"`,
				`jobs.yaml:3:57: output.compression.xml: unknown key "xml" (valid keys: parquet, jsonl, csv)`,
			}},
		{name: "s3 storage class, region and upload concurrency",
			yml: "version: 1\noutput:\n  s3: {storage_class: standard, region: EU-WEST-1, upload_concurrency: 0}\njobs:\n" +
				"  - {name: a, provider: medipim, output: {s3: {storage_class: EXPRESS_ONEZONE, upload_concurrency: 65}}}\n" +
				"  - {name: b, provider: medipim, output: {s3: {region: eu west 1, upload_concurrency: many}}}\n",
			want: []string{
				`jobs.yaml:3:23: output.s3.storage_class: expected one of "", STANDARD, REDUCED_REDUNDANCY, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER, GLACIER_IR, DEEP_ARCHIVE, got "standard"`,
				`jobs.yaml:3:41: output.s3.region: expected a region like eu-west-1 (lowercase letters, digits and -), got "EU-WEST-1"`,
				`jobs.yaml:3:72: output.s3.upload_concurrency: must be at least 1, got 0`,
				`jobs.yaml:5:63: jobs[0].output.s3.storage_class: expected one of "", STANDARD, REDUCED_REDUNDANCY, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER, GLACIER_IR, DEEP_ARCHIVE, got "EXPRESS_ONEZONE"`,
				`jobs.yaml:5:100: jobs[0].output.s3.upload_concurrency: must be at most 64, got 65`,
				`jobs.yaml:6:56: jobs[1].output.s3.region: expected a region like eu-west-1 (lowercase letters, digits and -), got "eu west 1"`,
				`jobs.yaml:6:87: jobs[1].output.s3.upload_concurrency: expected an integer, got "many"`,
			}},
		{name: "s3 tags",
			yml: "version: 1\noutput:\n  s3:\n    tags:\n" +
				"      team!: x\n      aws:created: x\n      AWS:x: x\n      \"\": x\n      " + strings.Repeat("k", 129) + ": x\n" +
				"      ok: \"a<b\"\n      long: " + strings.Repeat("v", 257) + "\n      list: [a]\n" +
				"      \"Cost Center\": \"4711 / é+=._:@\"\njobs:\n" +
				"  - {name: a, provider: medipim, output: {s3: {tags: [team]}}}\n",
			want: []string{
				`jobs.yaml:5:7: output.s3.tags.team!: invalid tag key "team!": use only letters, digits, spaces and + - = . _ : / @`,
				`jobs.yaml:6:7: output.s3.tags.aws:created: invalid tag key "aws:created": the aws: prefix is reserved by AWS`,
				`jobs.yaml:7:7: output.s3.tags.AWS:x: invalid tag key "AWS:x": the aws: prefix is reserved by AWS`,
				`jobs.yaml:8:7: output.s3.tags: invalid tag key "": must be 1 to 128 characters long, got 0`,
				`jobs.yaml:9:7: output.s3.tags.` + strings.Repeat("k", 129) + `: invalid tag key "` + strings.Repeat("k", 129) + `": must be 1 to 128 characters long, got 129`,
				`jobs.yaml:10:11: output.s3.tags.ok: invalid tag value "a<b": use only letters, digits, spaces and + - = . _ : / @`,
				`jobs.yaml:11:13: output.s3.tags.long: invalid tag value: must be at most 256 characters long, got 257`,
				`jobs.yaml:12:13: output.s3.tags.list: expected a string, got a list`,
				`jobs.yaml:15:54: jobs[0].output.s3.tags: expected a mapping of tag keys to values, got a list`,
			}},
		{name: "more than 10 s3 tags",
			yml: "version: 1\noutput:\n  s3:\n    tags: {" + tagList("t", 11) + "}\njobs:\n" +
				"  - {name: a, provider: medipim, output: {s3: {tags: {" + tagList("u", 11) + "}}}}\n",
			want: []string{
				`jobs.yaml:4:11: output.s3.tags: at most 10 tags per object (the S3 limit), got 11`,
				`jobs.yaml:6:54: jobs[0].output.s3.tags: at most 10 tags per object (the S3 limit), got 11`,
			}},
		{name: "more than 10 s3 tags once merged, for the jobs writing to s3",
			yml: "version: 1\noutput:\n  destination: s3://bucket\n  s3:\n    tags: {" + tagList("t", 6) + "}\njobs:\n" +
				"  - name: a\n    provider: medipim\n    output: {s3: {tags: {" + tagList("u", 5) + "}}}\n" +
				"  - name: b\n    provider: medipim\n    output: {s3: {tags: {t1: x, t2: x, u1: x, u2: x}}}\n" +
				"  - name: c\n    provider: medipim\n    output:\n      destination: ./out\n      s3: {tags: {" + tagList("u", 5) + "}}\n",
			want: []string{
				`jobs.yaml:9:25: jobs[0].output.s3.tags: at most 10 tags per object (the S3 limit), got 11 once merged with those of output.s3 (line 5)`,
			}},
		{name: "kms_key_id without sse: aws:kms, at the top level, reported once",
			yml: "version: 1\noutput:\n  destination: s3://bucket/x\n  s3: {kms_key_id: alias/export}\njobs:\n" +
				"  - {name: a, provider: medipim}\n  - {name: b, provider: medipim}\n",
			want: []string{`jobs.yaml:4:20: output.s3.kms_key_id: kms_key_id needs sse: aws:kms (or aws:kms:dsse), but sse is not set`}},
		{name: "kms_key_id without sse: aws:kms, inherited by a job writing to s3",
			yml: "version: 1\noutput:\n  s3: {kms_key_id: alias/export, sse: AES256}\njobs:\n" +
				"  - {name: a, provider: medipim}\n  - {name: b, provider: medipim, output: {destination: s3://bucket}}\n",
			want: []string{`jobs.yaml:3:20: output.s3.kms_key_id: kms_key_id needs sse: aws:kms (or aws:kms:dsse), but sse is "AES256" (line 3)`}},
		{name: "kms_key_id set in a job without sse: aws:kms",
			yml: "version: 1\noutput:\n  destination: s3://bucket\n  s3:\n    sse: AES256\njobs:\n" +
				"  - name: a\n    provider: medipim\n    output:\n      s3: {kms_key_id: alias/a}\n" +
				"  - name: b\n    provider: medipim\n    output:\n      s3: {kms_key_id: alias/b, sse: \"\"}\n" +
				"  - name: c\n    provider: medipim\n    output:\n      s3: {kms_key_id: alias/c, sse: aws:kms}\n" +
				"  - name: d\n    provider: medipim\n    output:\n      s3: {kms_key_id: alias/d, sse: aws:kms:dsse}\n",
			want: []string{
				`jobs.yaml:10:24: jobs[0].output.s3.kms_key_id: kms_key_id needs sse: aws:kms (or aws:kms:dsse), but sse is "AES256" (line 5)`,
				`jobs.yaml:14:24: jobs[1].output.s3.kms_key_id: kms_key_id needs sse: aws:kms (or aws:kms:dsse), but sse is "" (line 14)`,
			}},
		{name: "a job's sse that drops the top-level kms_key_id",
			yml: "version: 1\noutput:\n  destination: s3://bucket\n  s3: {sse: aws:kms, kms_key_id: alias/export}\njobs:\n" +
				"  - {name: a, provider: medipim, output: {s3: {sse: AES256}}}\n" +
				"  - {name: b, provider: medipim, output: {s3: {sse: AES256, kms_key_id: \"\"}}}\n" +
				"  - {name: c, provider: medipim, output: {s3: {sse: AES256}, destination: ./out}}\n",
			want: []string{
				`jobs.yaml:6:53: jobs[0].output.s3.sse: the kms_key_id of output.s3 (line 4) needs sse: aws:kms (or aws:kms:dsse): set kms_key_id: "" in this job's output.s3 to drop it`,
			}},
		{name: "kms_key_id with an invalid sse: reported once",
			yml:  "version: 1\noutput:\n  destination: s3://bucket\n  s3: {sse: kms, kms_key_id: alias/export}\njobs: [{name: a, provider: medipim}]\n",
			want: []string{`jobs.yaml:4:13: output.s3.sse: expected one of "", AES256, aws:kms, aws:kms:dsse, got "kms"`}},
		{name: "s3 settings",
			yml: "version: 1\noutput:\n  s3: {sse: kms, endpoint: minio:9000}\njobs: [{name: a, provider: medipim}]\n",
			want: []string{
				`jobs.yaml:3:13: output.s3.sse: expected one of "", AES256, aws:kms, aws:kms:dsse, got "kms"`,
				`jobs.yaml:3:28: output.s3.endpoint: expected an absolute http(s) URL, got "minio:9000"`,
			}},
		{name: "s3 endpoint with credentials",
			yml:  "version: 1\noutput:\n  s3: {endpoint: \"https://key:secret@minio:9000\"}\njobs: [{name: a, provider: medipim}]\n",
			want: []string{`jobs.yaml:3:18: output.s3.endpoint: must not contain credentials: they come from the AWS chain (environment, profile, role)`}},
		{name: "path placeholders",
			yml: "version: 1\noutput: {path: \"{job}/{day}/{jb}/{day}\"}\njobs:\n" +
				"  - {name: a, provider: medipim, output: {path: \"/abs/{job}\"}}\n" +
				"  - {name: b, provider: medipim, output: {path: \"{job}/../x\"}}\n" +
				"  - {name: c, provider: medipim, output: {path: \"{job\"}}\n" +
				"  - {name: d, provider: medipim, output: {path: \"\"}}\n",
			want: []string{
				`jobs.yaml:2:16: output.path: unknown placeholder {day}, {jb} (allowed: {job} {provider} {format} {date} {run_id})`,
				`jobs.yaml:4:49: jobs[0].output.path: must be a relative path that stays inside the destination, got "/abs/{job}"`,
				`jobs.yaml:5:49: jobs[1].output.path: must be a relative path that stays inside the destination, got "{job}/../x"`,
				`jobs.yaml:6:49: jobs[2].output.path: unbalanced { or } in "{job"`,
				`jobs.yaml:7:49: jobs[3].output.path: must not be empty`,
			}},
		{name: "destinations",
			yml: "version: 1\noutput: {destination: \"s3://bucket/exports\"}\nstate: {dir: s3://bucket/state}\njobs:\n" +
				"  - {name: a, provider: medipim, output: {destination: \"gs://bucket\"}}\n" +
				"  - {name: b, provider: medipim, output: {destination: \"file://host/x\"}}\n" +
				"  - {name: c, provider: medipim, output: {destination: \"file:relative\"}}\n" +
				"  - {name: d, provider: medipim, output: {destination: \"S3://bucket\"}}\n",
			want: []string{
				`jobs.yaml:5:56: jobs[0].output.destination: expected a directory, file:///abs/dir or s3://bucket/prefix, got "gs://bucket"`,
				`jobs.yaml:6:56: jobs[1].output.destination: a file URL takes an absolute path and nothing else, as in file:///abs/dir; got "file://host/x"`,
				`jobs.yaml:8:56: jobs[3].output.destination: expected a directory, file:///abs/dir or s3://bucket/prefix, got "S3://bucket"`,
			}},
		{name: "s3 bucket names",
			yml: "version: 1\nstate: {dir: \"s3://State\"}\njobs:\n" + destinationJobs(
				"s3://", "s3:///x", "s3://ab", "s3://"+strings.Repeat("a", 64), "s3://My_Bucket/x", "s3://bucket:9000/x",
				"s3://-bucket", "s3://bucket./x", "s3://my..bucket", "s3://192.168.5.4/x",
				"s3://xn--bucket", "s3://sthree-bucket", "s3://amzn-s3-demo-bucket",
				"s3://bucket-s3alias", "s3://bucket--ol-s3", "s3://bucket.mrap", "s3://bucket--x-s3", "s3://bucket--table-s3"),
			want: []string{
				`jobs.yaml:2:14: state.dir: invalid bucket name "State": use only lowercase letters, digits, '.' and '-'`,
				`jobs.yaml:4:56: jobs[0].output.destination: expected s3://bucket/prefix, got "s3://": the bucket is missing`,
				`jobs.yaml:5:56: jobs[1].output.destination: expected s3://bucket/prefix, got "s3:///x": the bucket is missing`,
				`jobs.yaml:6:56: jobs[2].output.destination: invalid bucket name "ab": must be 3 to 63 characters long, got 2`,
				`jobs.yaml:7:56: jobs[3].output.destination: invalid bucket name "` + strings.Repeat("a", 64) + `": must be 3 to 63 characters long, got 64`,
				`jobs.yaml:8:56: jobs[4].output.destination: invalid bucket name "My_Bucket": use only lowercase letters, digits, '.' and '-'`,
				`jobs.yaml:9:56: jobs[5].output.destination: invalid bucket name "bucket:9000": use only lowercase letters, digits, '.' and '-'`,
				`jobs.yaml:10:56: jobs[6].output.destination: invalid bucket name "-bucket": must begin and end with a lowercase letter or a digit`,
				`jobs.yaml:11:56: jobs[7].output.destination: invalid bucket name "bucket.": must begin and end with a lowercase letter or a digit`,
				`jobs.yaml:12:56: jobs[8].output.destination: invalid bucket name "my..bucket": must not contain ".."`,
				`jobs.yaml:13:56: jobs[9].output.destination: invalid bucket name "192.168.5.4": must not be formatted as an IP address`,
				`jobs.yaml:14:56: jobs[10].output.destination: invalid bucket name "xn--bucket": the prefix "xn--" is reserved by S3`,
				`jobs.yaml:15:56: jobs[11].output.destination: invalid bucket name "sthree-bucket": the prefix "sthree-" is reserved by S3`,
				`jobs.yaml:16:56: jobs[12].output.destination: invalid bucket name "amzn-s3-demo-bucket": the prefix "amzn-s3-demo-" is reserved by S3`,
				`jobs.yaml:17:56: jobs[13].output.destination: invalid bucket name "bucket-s3alias": the suffix "-s3alias" is reserved by S3`,
				`jobs.yaml:18:56: jobs[14].output.destination: invalid bucket name "bucket--ol-s3": the suffix "--ol-s3" is reserved by S3`,
				`jobs.yaml:19:56: jobs[15].output.destination: invalid bucket name "bucket.mrap": the suffix ".mrap" is reserved by S3`,
				`jobs.yaml:20:56: jobs[16].output.destination: invalid bucket name "bucket--x-s3": the suffix "--x-s3" is reserved by S3`,
				`jobs.yaml:21:56: jobs[17].output.destination: invalid bucket name "bucket--table-s3": the suffix "--table-s3" is reserved by S3`,
			}},
		{name: "s3 prefixes",
			yml: "version: 1\njobs:\n" + destinationJobs(
				"s3://bucket//x", "s3://bucket/a//b", "s3://bucket/a//", "s3://bucket/a/./b", "s3://bucket/a/..", "s3://bucket/.",
				"s3://bucket/a?versionId=1", "s3://bucket/a#top", "s3://bucket?x", "s3://AKIA:hunter2@bucket/x", "s3://bucket/a${TAB}b"),
			env: []string{"TAB", "\t"},
			want: []string{
				`jobs.yaml:3:56: jobs[0].output.destination: invalid prefix "/x": must not start with '/'`,
				`jobs.yaml:4:56: jobs[1].output.destination: invalid prefix "a//b": must not contain an empty segment ("//")`,
				`jobs.yaml:5:56: jobs[2].output.destination: invalid prefix "a//": must not contain an empty segment ("//")`,
				`jobs.yaml:6:56: jobs[3].output.destination: invalid prefix "a/./b": must not contain "." or ".." segments`,
				`jobs.yaml:7:56: jobs[4].output.destination: invalid prefix "a/..": must not contain "." or ".." segments`,
				`jobs.yaml:8:56: jobs[5].output.destination: invalid prefix ".": must not contain "." or ".." segments`,
				`jobs.yaml:9:56: jobs[6].output.destination: an s3 URL takes no query or fragment (? or #), got "s3://bucket/a?versionId=1"`,
				`jobs.yaml:10:56: jobs[7].output.destination: an s3 URL takes no query or fragment (? or #), got "s3://bucket/a#top"`,
				`jobs.yaml:11:56: jobs[8].output.destination: an s3 URL takes no query or fragment (? or #), got "s3://bucket?x"`,
				`jobs.yaml:12:56: jobs[9].output.destination: an s3 URL must not contain credentials: they come from the AWS chain (environment, profile, role)`,
				`jobs.yaml:13:56: jobs[10].output.destination: invalid prefix "a\tb": must not contain control characters`,
			}},
		{name: "two jobs writing to one folder",
			yml: "version: 1\noutput: {path: \"{provider}/dt={date}\"}\njobs:\n" +
				"  - {name: a, provider: medipim}\n  - {name: b, provider: nameshield}\n" +
				"  - {name: c, provider: medipim}\n  - {name: d, provider: medipim, output: {path: \"medipim/dt={date}/\"}}\n",
			want: []string{
				`jobs.yaml:6:5: jobs[2].output.path: writes to the same folder as jobs[0] (a), overwriting its files: put {job} in output.path`,
				`jobs.yaml:7:49: jobs[3].output.path: writes to the same folder as jobs[0] (a), overwriting its files: put {job} in output.path`,
			}},

		{name: "two jobs writing to one s3 folder",
			yml: "version: 1\noutput: {path: \"dt={date}\"}\njobs:\n" +
				"  - {name: a, provider: medipim, output: {destination: \"s3://bucket/users\"}}\n" +
				"  - {name: b, provider: medipim, output: {destination: \"s3://bucket/users/\"}}\n" +
				"  - {name: c, provider: medipim, output: {destination: \"s3://bucket\", path: \"users/dt={date}\"}}\n" +
				"  - {name: d, provider: medipim, output: {destination: \"s3://other-bucket/users\"}}\n",
			want: []string{
				`jobs.yaml:5:5: jobs[1].output.path: writes to the same folder as jobs[0] (a), overwriting its files: put {job} in output.path`,
				`jobs.yaml:6:77: jobs[2].output.path: writes to the same folder as jobs[0] (a), overwriting its files: put {job} in output.path`,
			}},

		// drift.
		{name: "drift",
			yml: "version: 1\njobs:\n" +
				"  - {name: a, provider: medipim, drift: {max_restarts: -1}}\n" +
				"  - {name: b, provider: medipim, drift: {max_restarts: 101}}\n" +
				"  - {name: c, provider: medipim, drift: {max_restarts: many}}\n" +
				"  - {name: d, provider: medipim, drift: {max_restart: 1}}\n" +
				"  - {name: e, provider: medipim, drift: 3}\n" +
				"  - {name: f, provider: medipim, drift: {max_restarts: [1]}}\n" +
				"  - {name: g, provider: medipim, drift: {confirm: maybe}}\n" +
				"  - {name: h, provider: mctime, drift: {confirm: false}}\n",
			want: []string{
				`jobs.yaml:3:56: jobs[0].drift.max_restarts: must be at least 0, got -1`,
				`jobs.yaml:4:56: jobs[1].drift.max_restarts: must be at most 100, got 101`,
				`jobs.yaml:5:56: jobs[2].drift.max_restarts: expected an integer, got "many"`,
				`jobs.yaml:6:42: jobs[3].drift.max_restart: unknown key "max_restart", did you mean "max_restarts"? (valid keys: max_restarts, confirm)`,
				`jobs.yaml:7:41: jobs[4].drift: expected a mapping, got "3"`,
				`jobs.yaml:8:56: jobs[5].drift.max_restarts: expected an integer, got a list`,
				`jobs.yaml:9:51: jobs[6].drift.confirm: expected true or false, got "maybe"`,
				`jobs.yaml:10:40: jobs[7].drift: confirm: false is refused for mctime: it reports no user count, so without the confirming read a user deleted during the export shifts another out of the listing unseen`,
			}},

		// Incremental.
		{name: "incremental where the provider cannot, sort against its order, bad durations",
			yml: "version: 1\nstate: {dir: ./st, lease_ttl: 1s, lock_wait: -1s, s3: {sse: rot13}, ttl: 1}\njobs:\n" +
				"  - {name: m, provider: mctime, incremental: true}\n" +
				"  - {name: n, provider: nameshield, incremental: true, sort: [email:asc]}\n" +
				"  - {name: k, provider: kare, incremental: true, overlap: -5m}\n" +
				"  - {name: r, provider: requestor, base_url: https://r.example, incremental: yes}\n",
			want: []string{
				`jobs.yaml:2:31: state.lease_ttl: must be at least 3s, got 1s`,
				`jobs.yaml:2:46: state.lock_wait: must not be negative, got "-1s"`,
				`jobs.yaml:2:61: state.s3.sse: expected one of "", AES256, aws:kms, aws:kms:dsse, got "rot13"`,
				`jobs.yaml:2:69: state.ttl: unknown key "ttl" (valid keys: dir, s3, lease_ttl, lock_wait)`,
				`jobs.yaml:4:46: jobs[0].incremental: job "m": provider mctime reports no update time, so a run cannot tell what changed; remove incremental: true (every run exports everyone)`,
				`jobs.yaml:5:62: jobs[1].sort: job "n": an incremental nameshield job sorts by updated_at, newest first, to stop early; remove sort`,
				`jobs.yaml:6:59: jobs[2].overlap: must not be negative, got "-5m"`,
				`jobs.yaml:7:78: jobs[3].incremental: expected true or false, got "yes"`,
			}},

		// Compliance controls: more in TestComplianceConfigProblems.
		{name: "include_raw in two places",
			yml:  oneJob("include_raw: true", "output: {include_raw: false}"),
			want: []string{`jobs.yaml:5:18: jobs[0].include_raw: include_raw is also set under this job's output (line 6): set it once`}},

		// base_url.
		{name: "plain http refused",
			yml:  oneJob("base_url: http://api.medipim.be"),
			want: []string{`jobs.yaml:5:15: jobs[0].base_url: plain http:// is refused except on loopback: use https:// or set allow_insecure_http: true; got "http://api.medipim.be"`}},
		{name: "not an http URL",
			yml: "version: 1\njobs:\n" +
				"  - {name: a, provider: medipim, base_url: api.medipim.be}\n" +
				"  - {name: b, provider: medipim, base_url: \"ftp://api.medipim.be\"}\n" +
				"  - {name: c, provider: medipim, base_url: \"https://api.medipim.be/?key=1\"}\n" +
				"  - {name: d, provider: medipim, base_url: \"https://user:pw@api.medipim.be\"}\n",
			want: []string{
				`jobs.yaml:3:44: jobs[0].base_url: expected an absolute http(s) URL or simulator, got "api.medipim.be"`,
				`jobs.yaml:4:44: jobs[1].base_url: expected an absolute http(s) URL or simulator, got "ftp://api.medipim.be"`,
				`jobs.yaml:5:44: jobs[2].base_url: must not have a query or fragment (the endpoint path is appended to it), got "https://api.medipim.be/?key=1"`,
				`jobs.yaml:6:44: jobs[3].base_url: must not contain credentials: set them under auth`,
			}},

		// Auth.
		{name: "auth keys each type needs",
			yml: "version: 1\njobs:\n" +
				"  - {name: a, provider: medipim, auth: {type: basic, username: u}}\n" +
				"  - {name: b, provider: medipim, auth: {type: header, value: v}}\n" +
				"  - {name: c, provider: medipim, auth: {type: bearer, token: \"\"}}\n" +
				"  - {name: d, provider: medipim, auth: {type: oauth}}\n",
			want: []string{
				`jobs.yaml:3:40: jobs[0].auth.password: required for auth type basic`,
				`jobs.yaml:4:40: jobs[1].auth.name: required for auth type header`,
				`jobs.yaml:5:62: jobs[2].auth.token: must not be empty`,
				`jobs.yaml:6:47: jobs[3].auth.type: expected one of basic, bearer, header`,
			}},
		{name: "auth headers",
			yml: oneJob("auth:", "  type: bearer", "  token: t", "  headers:", "    Authorization: x", "    X-Tenant: a", "    x-tenant: b", "    \"Bad Name\": c"),
			want: []string{
				`jobs.yaml:9:9: jobs[0].auth.headers.Authorization: Authorization is already set by auth type bearer`,
				`jobs.yaml:11:9: jobs[0].auth.headers.x-tenant: duplicate header "x-tenant": names are case-insensitive (first at line 10)`,
				`jobs.yaml:12:9: jobs[0].auth.headers.Bad Name: "Bad Name" is not a valid HTTP header name`,
			}},

		// Interpolation.
		{name: "unset variable named, at its scalar",
			yml:  oneJob("page_size: ${PAGE_SIZE}", "base_url: \"https://${HOST}/${PREFIX}\""),
			env:  []string{"HOST", "example.com"},
			want: []string{`jobs.yaml:5:16: jobs[0].page_size: environment variable PAGE_SIZE is not set (use ${PAGE_SIZE:-default} for a default)`, `jobs.yaml:6:15: jobs[0].base_url: environment variable PREFIX is not set (use ${PREFIX:-default} for a default)`}},
		{name: "interpolated value of the wrong type",
			yml:  oneJob("page_size: ${PAGE_SIZE:-250}"),
			env:  []string{"PAGE_SIZE", "many"},
			want: []string{`jobs.yaml:5:16: jobs[0].page_size: expected an integer, got "many"`}},
		{name: "malformed references",
			yml: oneJob("timeout: ${1X}", "base_url: \"https://${HOST\""),
			want: []string{
				`jobs.yaml:5:14: jobs[0].timeout: invalid ${...} reference: want ${NAME} or ${NAME:-default}, NAME made of letters, digits and _ (write $$ for a literal $)`,
				`jobs.yaml:6:15: jobs[0].base_url: unterminated ${ (write $$ for a literal $)`,
			}},

		// Provider checks, placed at the key they name.
		{name: "provider problems",
			yml: oneJob("page_size: 60", "filter:", "  and:", "    - id: [1, x]", "    - idx: 2", "sort: {name: ASC}"),
			want: []string{
				`jobs.yaml:5:16: jobs[0].page_size: must be one of 10, 50, 100 or 250`,
				`jobs.yaml:8:19: jobs[0].filter.and[0].id[1]: must be an integer`,
				`jobs.yaml:9:16: jobs[0].filter.and[1].idx: unknown filter; valid: and, apbNr, id, not, or, organization, rizivNr, vatNr`,
				`jobs.yaml:10:18: jobs[0].sort.name: unknown sort key; only id is sortable`,
			}},

		// Aliases and merge keys.
		{name: "alias cycle",
			yml:  "version: 1\njobs:\n  - &job {name: a, provider: medipim, filter: {not: *job}}\n",
			want: []string{`jobs.yaml:3:47: jobs[0].filter: too large once aliases are expanded (more than 10000 values or 64 levels): does an alias contain itself?`}},
		{name: "alias bomb",
			yml: "version: 1\njobs:\n  - name: a\n    provider: medipim\n    filter:\n" +
				"      a: &a [x, x, x, x, x, x, x, x, x, x]\n      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n" +
				"      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n" +
				"      e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
			want: []string{`jobs.yaml:5:5: jobs[0].filter: too large once aliases are expanded (more than 10000 values or 64 levels): does an alias contain itself?`}},
		{name: "merge key that is not a mapping",
			yml:  oneJob("<<: [a]"),
			want: []string{`jobs.yaml:5:9: jobs[0]: a merge key (<<) takes a mapping or a list of mappings`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertLines(t, problems(t, tc.yml, envOf(tc.env...)), tc.want)
		})
	}
}

// TestAcceptedValues checks values that must be accepted, and what they
// decode to.
func TestAcceptedValues(t *testing.T) {
	cases := []struct {
		name  string
		lines []string // keys of job a (medipim)
		env   []string
		get   func(Job) any
		want  any
	}{
		{"rate per minute", []string{"rate_limit: 100/1m"}, nil, func(j Job) any { return j.RateLimit }, httpsource.Rate{N: 100, Per: time.Minute}},
		{"rate per 5 minutes", []string{"rate_limit: 600/5m"}, nil, func(j Job) any { return j.RateLimit }, httpsource.Rate{N: 600, Per: 5 * time.Minute}},
		{"rate per second, 1 left out", []string{"rate_limit: 10/s"}, nil, func(j Job) any { return j.RateLimit }, httpsource.Rate{N: 10, Per: time.Second}},
		{"rate with spaces", []string{"rate_limit: 10 / 100ms"}, nil, func(j Job) any { return j.RateLimit }, httpsource.Rate{N: 10, Per: 100 * time.Millisecond}},
		{"duration", []string{"timeout: 1m30s"}, nil, func(j Job) any { return j.Timeout }, 90 * time.Second},
		{"interpolated duration", []string{"timeout: ${T}"}, []string{"T", "2m"}, func(j Job) any { return j.Timeout }, 2 * time.Minute},
		{"interpolated default", []string{"page_size: ${PAGE_SIZE:-50}"}, nil, func(j Job) any { return j.PageSize }, 50},
		{"default for an empty variable", []string{"page_size: ${PAGE_SIZE:-50}"}, []string{"PAGE_SIZE", ""}, func(j Job) any { return j.PageSize }, 50},
		{"quoted interpolated number", []string{`page_size: "${PAGE_SIZE}"`}, []string{"PAGE_SIZE", "100"}, func(j Job) any { return j.PageSize }, 100},
		{"number in a flow mapping", []string{`retry: {max_attempts: "${N}"}`}, []string{"N", "2"}, func(j Job) any { return j.Retry.MaxAttempts }, 2},
		{"$$ escape", []string{`auth: {headers: {X-Note: "$$5, $${NOT_A_VAR}, $$$$"}}`}, nil, func(j Job) any { return j.Auth.Headers["X-Note"] }, "$5, ${NOT_A_VAR}, $$"},
		{"lone $ kept", []string{`output: {path: "{job}/a$b"}`}, nil, func(j Job) any { return j.Output.Path }, "{job}/a$b"},
		{"value not scanned again", []string{`auth: {type: bearer, token: "${TOKEN}"}`}, []string{"TOKEN", "a${B}$$c"}, func(j Job) any { return j.Auth.Token }, "a${B}$$c"},
		{"plain interpolated filter value is typed", []string{"filter:", "  organization: ${ORG}"}, []string{"ORG", "12"}, func(j Job) any { return j.Filter }, map[string]any{"organization": 12}},
		{"quoted interpolated filter value stays a string", []string{`filter: {vatNr: "${VAT}"}`}, []string{"VAT", "12"}, func(j Job) any { return j.Filter }, map[string]any{"vatNr": "12"}},
		{"null keeps the default", []string{"timeout:", "page_size: ~"}, nil, func(j Job) any { return []any{j.Timeout, j.PageSize} }, []any{30 * time.Second, 250}},
		{"https base_url, trailing slash dropped", []string{"base_url: https://example.com/v/"}, nil, func(j Job) any { return j.BaseURL }, "https://example.com/v"},
		{"http on 127.0.0.1", []string{"base_url: http://127.0.0.2:8080"}, nil, func(j Job) any { return j.BaseURL }, "http://127.0.0.2:8080"},
		{"http on localhost", []string{"base_url: http://localhost:8080"}, nil, func(j Job) any { return j.BaseURL }, "http://localhost:8080"},
		{"http on ::1", []string{"base_url: http://[::1]:8080/"}, nil, func(j Job) any { return j.BaseURL }, "http://[::1]:8080"},
		{"http allowed explicitly", []string{"base_url: http://10.0.0.1", "allow_insecure_http: true"}, nil, func(j Job) any { return j.BaseURL }, "http://10.0.0.1"},
		{"simulator", []string{"base_url: simulator"}, nil, func(j Job) any { return j.BaseURL }, SimulatorURL},
		{"headers without a credential", []string{"auth: {headers: {X-Tenant: t}}"}, nil, func(j Job) any { return j.Auth }, httpsource.Auth{Headers: map[string]string{"X-Tenant": "t"}}},
		{"explicit empty auth type", []string{`auth: {type: ""}`}, nil, func(j Job) any { return j.Auth }, httpsource.Auth{}},
		{"integer with separators", []string{"output: {max_rows_per_file: 2_000_000}"}, nil, func(j Job) any { return j.Output.MaxRowsPerFile }, int64(2_000_000)},
		{"sizes", []string{"output: {s3: {part_size: 1GB}}"}, nil, func(j Job) any { return j.Output.S3.PartSize }, int64(1e9)},
		{"plain byte size", []string{"output: {s3: {part_size: 6000000}}"}, nil, func(j Job) any { return j.Output.S3.PartSize }, int64(6_000_000)},
		{"local destination", []string{"output: {destination: file:///srv/out}"}, nil, func(j Job) any { return j.Output.Destination }, "file:///srv/out"},
		{"s3 destination, kept as written", []string{"output: {destination: s3://exports.example-1/users/by-job/}"}, nil, func(j Job) any { return j.Output.Destination }, "s3://exports.example-1/users/by-job/"},
		{"s3 destination, whole bucket", []string{"output: {destination: \"s3://${BUCKET}\"}"}, []string{"BUCKET", "123"}, func(j Job) any { return j.Output.Destination }, "s3://123"},
		{"s3 block unused by a local destination", []string{"output: {destination: ./out, s3: {kms_key_id: k, sse: AES256}}"}, nil, func(j Job) any { return j.Output.S3.KMSKeyID }, "k"},
		{"kms_key_id with aws:kms:dsse", []string{"output: {destination: s3://b-1, s3: {kms_key_id: k, sse: aws:kms:dsse}}"}, nil, func(j Job) any { return j.Output.S3.SSE }, "aws:kms:dsse"},
		{"tag values are text", []string{"output: {s3: {tags: {n: 12, b: true, e: \"\"}}}"}, nil, func(j Job) any { return j.Output.S3.Tags }, map[string]string{"n": "12", "b": "true", "e": ""}},
		{"storage class", []string{"output: {s3: {storage_class: GLACIER_IR}}"}, nil, func(j Job) any { return j.Output.S3.StorageClass }, "GLACIER_IR"},
		{"upload concurrency", []string{"output: {s3: {upload_concurrency: \"${N}\"}}"}, []string{"N", "64"}, func(j Job) any { return j.Output.S3.UploadConcurrency }, 64},
		{"region of an S3-compatible store", []string{"output: {s3: {region: garage}}"}, nil, func(j Job) any { return j.Output.S3.Region }, "garage"},
		{"smallest part size", []string{"output: {s3: {part_size: 5MiB}}"}, nil, func(j Job) any { return j.Output.S3.PartSize }, int64(5 << 20)},
		{"largest part size", []string{"output: {s3: {part_size: 5GiB}}"}, nil, func(j Job) any { return j.Output.S3.PartSize }, int64(5 << 30)},
		{"no restarts after drift", []string{"drift: {max_restarts: 0}"}, nil, func(j Job) any { return j.Drift }, Drift{Confirm: true}},
		{"drift without the confirming read", []string{"drift: {confirm: false}"}, nil, func(j Job) any { return j.Drift }, Drift{MaxRestarts: 3}},
		{"most restarts after drift", []string{"drift:", "  max_restarts: ${N}"}, []string{"N", "100"}, func(j Job) any { return j.Drift }, Drift{MaxRestarts: 100, Confirm: true}},
		{"empty drift keeps the default", []string{"drift: {}"}, nil, func(j Job) any { return j.Drift }, Drift{MaxRestarts: 3, Confirm: true}},
		{"merge key", []string{"<<: {page_size: 50, max_in_flight: 3}", "max_in_flight: 1"}, nil, func(j Job) any { return []int{j.PageSize, j.MaxInFlight} }, []int{50, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, oneJob(tc.lines...), envOf(tc.env...))
			if got := tc.get(cfg.Jobs[0]); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestParseS3URL(t *testing.T) {
	cases := []struct{ in, bucket, prefix, err string }{
		{in: "s3://bucket", bucket: "bucket"},
		{in: "s3://bucket/", bucket: "bucket"},
		{in: "s3://my.bucket-1/a", bucket: "my.bucket-1", prefix: "a"},
		{in: "s3://abc/a/b/", bucket: "abc", prefix: "a/b"},
		{in: "s3://abc/dt=2026-01-02/run id/é", bucket: "abc", prefix: "dt=2026-01-02/run id/é"},
		{in: "s3://abc/a%2Fb", bucket: "abc", prefix: "a%2Fb"}, // as written: no percent-decoding
		{in: "s3://" + strings.Repeat("a", 63), bucket: strings.Repeat("a", 63)},
		{in: "s3://1.2.3", bucket: "1.2.3"},
		{in: "s3://a.b.c.d", bucket: "a.b.c.d"},
		{in: "s3://bucket-s3alias-x", bucket: "bucket-s3alias-x"},
		{in: "s3://bucket/a//", err: `invalid prefix "a//": must not contain an empty segment ("//")`},
		{in: "s3://bucket/..", err: `invalid prefix "..": must not contain "." or ".." segments`},
		{in: "s3://bucket/a..b/.x", bucket: "bucket", prefix: "a..b/.x"},
		{in: "s3://10.0.0.1", err: `invalid bucket name "10.0.0.1": must not be formatted as an IP address`},
		{in: "s3://::1", err: `invalid bucket name "::1": use only lowercase letters, digits, '.' and '-'`},
		{in: "s3://u@bucket", err: "an s3 URL must not contain credentials: they come from the AWS chain (environment, profile, role)"},
		{in: "./out", err: `expected s3://bucket/prefix, got "./out"`},
		{in: "s3:/bucket", err: `expected s3://bucket/prefix, got "s3:/bucket"`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			bucket, prefix, err := ParseS3URL(tc.in)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.err || bucket != tc.bucket || prefix != tc.prefix {
				t.Errorf("got (%q, %q, %q), want (%q, %q, %q)", bucket, prefix, got, tc.bucket, tc.prefix, tc.err)
			}
		})
	}
}

// TestAnchorsAcrossJobs checks the way users share settings between jobs:
// anchors under an x- key, merged into each job.
func TestAnchorsAcrossJobs(t *testing.T) {
	cfg := mustParse(t, `
version: 1
x-medipim: &medipim
  provider: medipim
  auth: {type: basic, username: u, password: p}
  page_size: 100
jobs:
  - <<: *medipim
    name: be
  - <<: *medipim
    name: nl
    page_size: 50
`, nil)
	var got []string
	for _, j := range cfg.Jobs {
		got = append(got, j.Name+" "+j.Provider+" "+j.Auth.Password+" "+strconv.Itoa(j.PageSize))
	}
	if want := []string{"be medipim p 100", "nl medipim p 50"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestProviderChecks runs against a registry of fakes: provider problems
// are placed at the closest key in the file and not repeated where the
// config already failed, and the provider's defaults and capabilities
// apply.
func TestProviderChecks(t *testing.T) {
	fake := sources.Provider{
		Name:        "fake",
		PageSize:    httpsource.PageSizes{Default: 7},
		DefaultRate: httpsource.Rate{N: 1, Per: time.Second},
		CheckConfig: func(j httpsource.Job) []httpsource.Problem {
			return []httpsource.Problem{
				{Path: "filter.region.code", Message: "no such region"},
				{Path: "page_size", Message: "too big"},
				{Path: "", Message: "the job as a whole"},
			}
		},
	}
	requestor := sources.Provider{Name: "requestor", Sort: "any", PageSize: httpsource.PageSizes{Default: 100}, WireFormats: []string{"json", "xml"}}
	yml := `version: 1
jobs:
  - name: a
    provider: fake
    base_url: https://fake.example
    filter:
      region: eu
    page_size: 0
    sort: [x]
    wire_format: xml
  - name: b
    provider: requestor
    wire_format: xml
    sort: anything
  - name: c
    provider: requestor
    base_url: https://requestor.example
    wire_format: yaml
`
	_, err := parse("jobs.yaml", []byte(yml), nil, []sources.Provider{fake, requestor})
	assertLines(t, errorLines(t, err), []string{
		`jobs.yaml:3:5: jobs[0]: the job as a whole`,
		`jobs.yaml:7:15: jobs[0].filter.region.code: no such region`,
		`jobs.yaml:8:16: jobs[0].page_size: must be at least 1, got 0`,
		`jobs.yaml:9:11: jobs[0].sort: provider fake does not support sort`,
		`jobs.yaml:10:18: jobs[0].wire_format: provider fake has no choice of wire format`,
		`jobs.yaml:11:5: jobs[1].base_url: required: provider requestor has no default base URL`,
		`jobs.yaml:18:18: jobs[2].wire_format: expected one of json, xml, got "yaml"`,
	})

	cfg, err := parse("jobs.yaml", []byte("version: 1\njobs: [{name: a, provider: fake, base_url: https://fake.example}]\n"), nil,
		[]sources.Provider{{Name: "fake", PageSize: httpsource.PageSizes{Default: 7}, DefaultRate: httpsource.Rate{N: 1, Per: time.Second}}})
	if err != nil {
		t.Fatalf("a provider without CheckConfig: %v", err)
	}
	if j := cfg.Jobs[0]; j.PageSize != 7 || j.RateLimit != (httpsource.Rate{N: 1, Per: time.Second}) {
		t.Errorf("provider defaults not applied: %+v", j)
	}
}

func TestSourceJob(t *testing.T) {
	cfg := mustParse(t, oneJob("filter: {id: 1}", "sort: {id: DESC}", "page_size: 50", "max_in_flight: 3", "output: {include_raw: true}"), nil)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	got := cfg.Jobs[0].SourceJob("http://127.0.0.1:1234", at)
	want := httpsource.Job{
		Name: "a", BaseURL: "http://127.0.0.1:1234", Filter: map[string]any{"id": 1}, Sort: map[string]any{"id": "DESC"},
		PageSize: 50, MaxInFlight: 3, IncludeRaw: true, ExtractedAt: at,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

// TestWireFormatDefaultsToTheProvidersFirst checks that a job of a
// provider with a choice gets the first listed encoding when it sets none.
func TestWireFormatDefaultsToTheProvidersFirst(t *testing.T) {
	both := sources.Provider{Name: "both", DefaultBaseURL: "https://x.example", WireFormats: []string{"json", "xml"}}
	cfg, err := parse("jobs.yaml", []byte("version: 1\njobs:\n  - {name: a, provider: both}\n  - {name: b, provider: both, wire_format: xml}\n"), nil, []sources.Provider{both})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Jobs[0].WireFormat != "json" || cfg.Jobs[1].WireFormat != "xml" {
		t.Errorf("wire formats %q, %q", cfg.Jobs[0].WireFormat, cfg.Jobs[1].WireFormat)
	}
	if got := cfg.Jobs[1].SourceJob("u", time.Time{}).WireFormat; got != "xml" {
		t.Errorf("SourceJob wire format %q", got)
	}
}

// TestSimulatorJobsHaveNoRateLimitUnlessSet: the documented limits protect
// real APIs; a job against the built-in simulator runs unpaced by default.
func TestSimulatorJobsHaveNoRateLimitUnlessSet(t *testing.T) {
	p := sources.Provider{Name: "p", DefaultBaseURL: "https://p.example", DefaultRate: httpsource.Rate{N: 1, Per: time.Minute}}
	cfg, err := parse("jobs.yaml", []byte(`version: 1
jobs:
  - {name: real, provider: p}
  - {name: sim, provider: p, base_url: simulator}
  - {name: paced, provider: p, base_url: simulator, rate_limit: 5/1s}
`), nil, []sources.Provider{p})
	if err != nil {
		t.Fatal(err)
	}
	want := []httpsource.Rate{{N: 1, Per: time.Minute}, {}, {N: 5, Per: time.Second}}
	for i, j := range cfg.Jobs {
		if j.RateLimit != want[i] {
			t.Errorf("%s: rate %v, want %v", j.Name, j.RateLimit, want[i])
		}
	}
}

// knownProviders lists the registry as the loader's messages do, so these
// tests need no edit when a provider is added.
func knownProviders() string {
	var names []string
	for _, p := range sources.All() {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}
