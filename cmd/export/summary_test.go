package main

import (
	"strings"
	"testing"

	"github.com/saas-export/export/pipeline"
)

func TestBracedManifests(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"file:///o/kare/dt=1/run=r/_manifest.json"}, "file:///o/kare/dt=1/run=r/_manifest.json"},
		{[]string{"file:///o/kare/jsonl/dt=1/run=r/_manifest.json", "file:///o/kare/csv/dt=1/run=r/_manifest.json", "file:///o/kare/parquet/dt=1/run=r/_manifest.json"},
			"file:///o/kare/{jsonl,csv,parquet}/dt=1/run=r/_manifest.json"},
		// Parts that share letters at their ends are still whole segments.
		{[]string{"s3://b/p/jsonl/x/_manifest.json", "s3://b/p/json/x/_manifest.json"}, "s3://b/p/{jsonl,json}/x/_manifest.json"},
		{[]string{"s3://b/a/_manifest.json", "s3://c/a/_manifest.json"}, "s3://{b,c}/a/_manifest.json"},
	} {
		if got := braced(tc.in); got != tc.want {
			t.Errorf("braced(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTextSummaryShowsRateLimits: each job's 429s, the rate it sent at
// and its budget's rate at the end, "-" where it had no limit.
func TestTextSummaryShowsRateLimits(t *testing.T) {
	rate := 16.78
	sum := &pipeline.Summary{RunID: "r1", Status: pipeline.StatusSucceeded, Jobs: []pipeline.JobResult{
		{Job: "ns-0", Provider: "nameshield", Status: pipeline.StatusSucceeded, Records: 3200, Requests: 323, Retries: 3,
			RateLimited: 3, RequestsPerSecond: 15.44, RateLimitFinal: &rate, Seconds: 20.9},
		{Job: "kare", Provider: "kare", Status: pipeline.StatusSucceeded, Records: 5, Requests: 2, RequestsPerSecond: 41.7, Seconds: 0.1},
	}}
	var out strings.Builder
	if err := printSummary(&out, sum, "text"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a title, a header and 2 jobs:\n%s", out.String())
	}
	header := strings.Fields(strings.Replace(lines[1], "SOURCE TOTAL", "SOURCE_TOTAL", 1))
	col := func(name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s in %q", name, lines[1])
		return -1
	}
	for i, want := range [][3]string{{"3", "15.4", "16.78"}, {"0", "41.7", "-"}} {
		f := strings.Fields(lines[2+i])
		if got := [3]string{f[col("429")], f[col("REQ/S")], f[col("LIMIT/S")]}; got != want {
			t.Errorf("%s: 429, REQ/S, LIMIT/S %v, want %v:\n%s", f[0], got, want, out.String())
		}
	}
}
