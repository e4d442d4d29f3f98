package pipeline

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ConfigError is one problem in a config file, at a position and a key
// path such as jobs[2].page_size. Line and Col are 1-based; 0 means
// unknown (an unreadable file has neither, some YAML syntax errors have
// no column).
type ConfigError struct {
	File      string
	Line, Col int
	Path      string
	Msg       string
}

// Error formats the problem as FILE:LINE:COL: PATH: MESSAGE, leaving out
// the parts that are unknown.
func (e ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ConfigErrors is every problem found in one config file, sorted by
// position. Load and Parse return it as their error, so that a user fixes
// them all in one pass.
type ConfigErrors []ConfigError

// Error lists the problems one per line.
func (es ConfigErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sortErrors orders problems by position; path and message break ties so
// that the order never depends on the order of checks.
func sortErrors(es ConfigErrors) {
	slices.SortStableFunc(es, func(a, b ConfigError) int {
		return cmp.Or(
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
}
