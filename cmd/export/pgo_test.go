package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"runtime/pprof"
	"testing"
)

// The profile that `go build` applies to the binary (default.pgo beside
// this file, profile-guided optimisation) is collected by this test, which
// runs only when asked: bench/pgo.sh asks.
var (
	pgoProfile = flag.String("pgo.profile", "", "TestPGOProfile writes a CPU profile of its exports to this file")
	pgoConfig  = flag.String("pgo.config", "", "the jobs file TestPGOProfile exports")
	pgoRuns    = flag.Int("pgo.runs", 3, "how many times TestPGOProfile runs the export")
)

func TestPGOProfile(t *testing.T) {
	if *pgoProfile == "" || *pgoConfig == "" {
		t.Skip("collects default.pgo when given -pgo.profile and -pgo.config: see bench/pgo.sh")
	}
	f, err := os.Create(*pgoProfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	defer pprof.StopCPUProfile()
	for range *pgoRuns {
		var stderr bytes.Buffer
		if rc := run(context.Background(), []string{"run", "-c", *pgoConfig}, env{stdout: io.Discard, stderr: &stderr, lookup: os.LookupEnv}); rc != 0 {
			t.Fatalf("export run -c %s: exit %d\n%s", *pgoConfig, rc, stderr.Bytes())
		}
	}
}
