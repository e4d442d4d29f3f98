package main

import (
	"os"
	"testing"
)

// runMainEnv, set to 1 in a child's environment, makes the test binary
// run the real CLI (main, with its own signal handling and os.Exit)
// instead of the tests, so a test can signal a real process.
const runMainEnv = "EXPORT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main() // exits
		return
	}
	os.Exit(m.Run())
}
