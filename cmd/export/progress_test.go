package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saas-export/export/pipeline"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/simulator"
)

// runOnTerminal runs the CLI in-process as if stderr were (or were not) a
// terminal, with stderr captured in a buffer.
func runOnTerminal(t *testing.T, terminal bool, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, env{
		stdout: &out, stderr: &errb, stderrIsTerminal: terminal,
		lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
	})
	return code, out.String(), errb.String()
}

// progressJobs writes a jobs.yaml of two jobs that succeed over several
// pages of a small simulator, and one that fails: its destination is
// under a file.
func progressJobs(t *testing.T) string {
	sim, err := simulator.Start("127.0.0.1:0", simulator.Options{Users: 150, Seed: 1, Latency: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	dir := t.TempDir()
	blocker := writeFile(t, dir, "blocker", "a file, not a directory")
	return writeFile(t, dir, "jobs.yaml", `version: 1
concurrency: 3
output: {destination: `+filepath.Join(dir, "out")+`}
jobs:
  - {name: medipim-be, provider: medipim, base_url: "`+sim.BaseURL("medipim")+`", rate_limit: 1000/1s, page_size: 10}
  - {name: ns, provider: nameshield, base_url: "`+sim.BaseURL("nameshield")+`", rate_limit: 1000/1s, page_size: 25}
  - name: broken
    provider: medipim
    base_url: "`+sim.BaseURL("medipim")+`"
    rate_limit: 1000/1s
    output: {destination: `+filepath.Join(blocker, "out")+`}
`)
}

var (
	cursorUpErase = regexp.MustCompile(`\x1b\[(\d+)A\x1b\[J`)
	colour        = regexp.MustCompile(`\x1b\[\d+(;\d+)*m`)
	anyEscape     = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
)

// screen replays what was written to a terminal and returns the lines
// left on it at the end, without colour: mpb redraws its bars by moving
// the cursor up over them and erasing to the end of the screen.
func screen(t *testing.T, raw string) []string {
	t.Helper()
	var lines []string
	for raw != "" {
		text, rest := raw, ""
		var up int
		if loc := cursorUpErase.FindStringSubmatchIndex(raw); loc != nil {
			text, rest = raw[:loc[0]], raw[loc[1]:]
			up, _ = strconv.Atoi(raw[loc[2]:loc[3]])
		}
		if text != "" {
			if !strings.HasSuffix(text, "\n") {
				t.Fatalf("the cursor moved in the middle of a line: %q", text)
			}
			lines = append(lines, strings.Split(strings.TrimSuffix(colour.ReplaceAllString(text, ""), "\n"), "\n")...)
		}
		if up > len(lines) {
			t.Fatalf("the cursor moved up %d lines over %d", up, len(lines))
		}
		lines = lines[:len(lines)-up]
		raw = rest
	}
	return lines
}

func TestRunDrawsBarsOnATerminal(t *testing.T) {
	for _, noColor := range []bool{false, true} {
		t.Run(fmt.Sprintf("NO_COLOR=%v", noColor), func(t *testing.T) {
			vars := map[string]string{"TERM": "xterm-256color"}
			if noColor {
				vars["NO_COLOR"] = "1"
			}
			code, stdout, stderr := runOnTerminal(t, true, vars, "run", "-c", progressJobs(t), "--output", "json")
			if code != exitJobsFailed {
				t.Fatalf("exit %d, want 1; stderr:\n%q", code, stderr)
			}
			var sum pipeline.Summary
			if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
				t.Fatalf("stdout is not one JSON document: %v\n%q", err, stdout)
			}

			// Colour only where allowed; either way the only other escape
			// sequences are the cursor moves that redraw the bars.
			if got := colour.MatchString(stderr); got == noColor {
				t.Errorf("colour on stderr: %v, want %v", got, !noColor)
			}
			if rest := anyEscape.ReplaceAllStringFunc(colour.ReplaceAllString(stderr, ""), func(s string) string {
				if s == "\x1b[J" || strings.HasSuffix(s, "A") {
					return ""
				}
				return s
			}); strings.Contains(rest, "\x1b") {
				t.Errorf("unexpected escape sequences on stderr: %q", rest)
			}

			// The screen at the end: whole log lines and the final bars,
			// one per job, with the counts of the summary.
			lines := screen(t, stderr)
			bars := map[string]string{}
			for _, l := range lines {
				switch {
				case strings.HasPrefix(l, "time="):
				case strings.HasPrefix(l, "✓ "), strings.HasPrefix(l, "✗ "):
					name := strings.Fields(l[len("✓ "):])[0]
					if _, dup := bars[name]; dup {
						t.Errorf("two bars for %s on the screen:\n%s", name, strings.Join(lines, "\n"))
					}
					bars[name] = l
				default:
					t.Errorf("garbled line on the screen: %q\nscreen:\n%s", l, strings.Join(lines, "\n"))
				}
			}
			for _, j := range sum.Jobs {
				bar, ok := bars[j.Job]
				if !ok {
					t.Errorf("no final bar for %s; screen:\n%s", j.Job, strings.Join(lines, "\n"))
					continue
				}
				switch j.Status {
				case pipeline.StatusSucceeded:
					want := fmt.Sprintf("%d/%d", j.Records, *j.SourceTotal)
					if !strings.HasPrefix(bar, "✓ "+j.Job+" ") || !strings.Contains(bar, " "+want+" ") ||
						!strings.Contains(bar, "[==") {
						t.Errorf("final bar of %s: %q, want ✓, a full bar and %s", j.Job, bar, want)
					}
				case pipeline.StatusFailed:
					if !strings.HasPrefix(bar, "✗ "+j.Job+" ") {
						t.Errorf("final bar of failed %s: %q, want ✗", j.Job, bar)
					}
				}
			}
			// Every log line made it to the screen, including those logged
			// after the last bar was done.
			logged := strings.Count(strings.Join(lines, "\n"), "msg=")
			if want := 3 * 2; logged != want { // 3 jobs started and ended
				t.Errorf("%d log lines on the screen, want %d:\n%s", logged, want, strings.Join(lines, "\n"))
			}
		})
	}
}

func TestRunOffATerminalDrawsNothing(t *testing.T) {
	for name, c := range map[string]struct {
		terminal bool
		vars     map[string]string
	}{
		"not a terminal": {false, map[string]string{"TERM": "xterm-256color"}},
		"dumb terminal":  {true, map[string]string{"TERM": "dumb"}},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runOnTerminal(t, c.terminal, c.vars, "run", "-c", progressJobs(t), "--output", "json")
			if code != exitJobsFailed {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
			}
			if strings.Contains(stderr, "\x1b") {
				t.Errorf("stderr holds an escape sequence:\n%q", stderr)
			}
			for _, l := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
				if !strings.HasPrefix(l, "time=") {
					t.Errorf("stderr line is not a log line: %q", l)
				}
			}
			// stdout is exactly the summary, byte for byte.
			var sum pipeline.Summary
			if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
				t.Fatalf("stdout is not one JSON document: %v\n%q", err, stdout)
			}
			var want bytes.Buffer
			if err := printSummary(&want, &sum, "json"); err != nil {
				t.Fatal(err)
			}
			if stdout != want.String() {
				t.Errorf("stdout is not exactly the summary:\n%q\nwant\n%q", stdout, want.String())
			}
		})
	}
}

func TestWantColorHonoursNoColor(t *testing.T) {
	for v, want := range map[*string]bool{nil: true, ptr(""): true, ptr("1"): false, ptr("false"): false} {
		e := env{lookup: func(k string) (string, bool) {
			if k == "NO_COLOR" && v != nil {
				return *v, true
			}
			return "", false
		}}
		if got := wantColor(e); got != want {
			t.Errorf("NO_COLOR=%v: colour %v, want %v", v, got, want)
		}
	}
}

func ptr(s string) *string { return &s }

// syncBuffer is a bytes.Buffer that concurrent writers may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBarsTakeConcurrentCalls(t *testing.T) {
	var out syncBuffer
	logs := &logWriter{w: &out}
	b := newBars(&out, logs, false)
	const jobs, pages, perPage = 12, 40, 25
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Go(func() {
			job := fmt.Sprintf("job-%02d", i)
			b.JobStarted(job)
			var total schema.Null[int64]
			for p := 1; p <= pages; p++ {
				if i%3 != 0 && p == 2 { // a third of the providers never tell the total
					total = schema.Some[int64](pages * perPage)
				}
				b.Records(job, int64(p*perPage), total)
				fmt.Fprintf(logs, "page %d of %s\n", p, job)
			}
			var err error
			if i%4 == 1 {
				err = errors.New("boom")
			}
			b.JobFinished(job, err)
			fmt.Fprintf(logs, "finished %s\n", job)
		})
	}
	wg.Wait()
	b.Close()
	b.Close() // twice is harmless, and so are calls after Close
	b.Records("late", 1, schema.Null[int64]{})
	b.JobFinished("late", nil)
	fmt.Fprintln(logs, "after the bars") // logs go straight to the output again
	if got := out.String(); !strings.HasSuffix(got, "after the bars\n") {
		t.Errorf("a log line after Close did not go straight out: %q", got[max(len(got)-200, 0):])
	}

	lines := screen(t, out.String())
	text := strings.Join(lines, "\n")
	if n := strings.Count(text, "page "); n != jobs*pages {
		t.Errorf("%d page log lines on the screen, want %d", n, jobs*pages)
	}
	for i := range jobs {
		job := fmt.Sprintf("job-%02d", i)
		var bar string
		for _, l := range lines {
			if strings.Contains(l, " "+job+" ") {
				if bar != "" {
					t.Errorf("two bars for %s:\n%s", job, text)
				}
				bar = l
			}
		}
		glyph, counts := "✓ ", fmt.Sprintf(" %d/%d ", pages*perPage, pages*perPage)
		if i%4 == 1 {
			glyph = "✗ "
		}
		if i%3 == 0 {
			counts = fmt.Sprintf(" %d ", pages*perPage)
		}
		if !strings.HasPrefix(bar, glyph+job+" ") || !strings.Contains(bar, counts) {
			t.Errorf("final bar of %s: %q, want %q and %q", job, bar, glyph, counts)
		}
	}
	if strings.Contains(text, "late") {
		t.Errorf("a bar was drawn after Close:\n%s", text)
	}
}

func TestLogsSurviveBarsStoppingEarly(t *testing.T) {
	var out syncBuffer
	logs := &logWriter{w: &out}
	b := newBars(&out, logs, false)
	b.JobStarted("a")
	b.p.Shutdown() // as mpb does on a terminal write error
	fmt.Fprintln(logs, "still logged")
	b.Records("a", 5, schema.Some[int64](10))
	b.JobFinished("a", nil)
	b.Close()
	if !strings.Contains(out.String(), "still logged\n") {
		t.Errorf("a log line was lost once the bars stopped: %q", out.String())
	}
}
