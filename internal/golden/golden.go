// Package golden compares a test's output with a golden file, and
// rewrites the file instead when the tests run with -update:
//
//	go test ./sinks -run TestJSONLGolden -update
//
// then git diff shows what the change did to the output.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

var update = flag.Bool("update", false, "rewrite the golden files with the tests' output")

// maxDiffLines bounds the lines a failure lists.
const maxDiffLines = 40

// Compare fails t unless got is the content of the golden file at path,
// listing the lines that differ. With -update it writes got to path
// instead, creating the file's folder if need be.
func Compare(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run %s to create it)", err, rerun(t))
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (- golden, + got; run %s to accept the output):\n%s",
			path, rerun(t), diff(want, got))
	}
}

// rerun is the command that runs t alone with -update, from the module
// root when it can be found.
func rerun(t testing.TB) string {
	var run []string
	for _, elem := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(elem)+"$")
	}
	return fmt.Sprintf("go test %s -run '%s' -update", packageDir(), strings.Join(run, "/"))
}

// packageDir is the test's package folder (go test runs a test in it)
// relative to the module root, as go test takes it: ./sinks.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for root := wd; ; {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			rel, err := filepath.Rel(root, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel)
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "."
		}
		root = parent
	}
}

// diff lists the lines only in want (-) and only in got (+), each with its
// line number in its own file, in the order of a longest common
// subsequence of lines.
func diff(want, got []byte) string {
	a, b := lines(want), lines(got)
	// Common head and tail stay out of the table.
	head := 0
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	tail := 0
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	ma, mb := a[head:len(a)-tail], b[head:len(b)-tail]

	var out []string
	add := func(sign byte, n int, line string) {
		out = append(out, fmt.Sprintf("%c%5d  %s", sign, head+n+1, show(line)))
	}
	if len(ma)*len(mb) > 1<<22 {
		// Too large to align: list both sides.
		for i, l := range ma {
			add('-', i, l)
		}
		for j, l := range mb {
			add('+', j, l)
		}
	} else {
		// lcs[i][j] is the length of the longest common subsequence of
		// ma[i:] and mb[j:].
		lcs := make([][]int, len(ma)+1)
		for i := range lcs {
			lcs[i] = make([]int, len(mb)+1)
		}
		for i := len(ma) - 1; i >= 0; i-- {
			for j := len(mb) - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(ma) || j < len(mb) {
			switch {
			case i < len(ma) && j < len(mb) && ma[i] == mb[j]:
				i, j = i+1, j+1
			case j == len(mb) || (i < len(ma) && lcs[i+1][j] >= lcs[i][j+1]):
				add('-', i, ma[i])
				i++
			default:
				add('+', j, mb[j])
				j++
			}
		}
	}
	if len(out) == 0 {
		return fmt.Sprintf("(the lines are the same; the files differ in the newline at the end: golden %d bytes, got %d)",
			len(want), len(got))
	}
	if len(out) > maxDiffLines {
		out = append(out[:maxDiffLines], fmt.Sprintf("... and %d more lines", len(out)-maxDiffLines))
	}
	return strings.Join(out, "\n")
}

// lines splits b into lines without their \n; a final \n ends the last
// line rather than starting an empty one.
func lines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// show quotes a line holding a control character (a \r, say) or invalid
// UTF-8, so that what differs can be seen.
func show(line string) string {
	if strings.ContainsFunc(line, func(r rune) bool { return r != '\t' && (unicode.IsControl(r) || r == unicode.ReplacementChar) }) {
		return strconv.Quote(line)
	}
	return line
}
