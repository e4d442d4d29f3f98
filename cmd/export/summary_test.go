package main

import "testing"

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
