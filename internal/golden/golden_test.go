package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeT records what Compare reports instead of failing the test.
type fakeT struct {
	testing.TB
	name string
	msgs []string
}

func (f *fakeT) Helper()      {}
func (f *fakeT) Name() string { return f.name }
func (f *fakeT) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
func (f *fakeT) Fatalf(format string, args ...any) { f.Errorf(format, args...) }
func (f *fakeT) Fatal(args ...any)                 { f.msgs = append(f.msgs, fmt.Sprint(args...)) }

func write(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.golden")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCompareSame(t *testing.T) {
	ft := &fakeT{name: "TestX"}
	Compare(ft, write(t, "a\nb\n"), []byte("a\nb\n"))
	if len(ft.msgs) != 0 {
		t.Errorf("reported %q", ft.msgs)
	}
}

func TestCompareListsDifferingLines(t *testing.T) {
	path := write(t, "a\nb\nc\nd\n")
	ft := &fakeT{name: "TestX/case one"}
	Compare(ft, path, []byte("a\nB\nc\nd\ne\n"))
	if len(ft.msgs) != 1 {
		t.Fatalf("reported %q, want one message", ft.msgs)
	}
	for _, want := range []string{
		path + " differs",
		"go test ./internal/golden -run '^TestX$/^case one$' -update",
		"\n-    2  b\n+    2  B\n+    5  e",
	} {
		if !strings.Contains(ft.msgs[0], want) {
			t.Errorf("message\n%s\nlacks %q", ft.msgs[0], want)
		}
	}
}

func TestCompareMissingFile(t *testing.T) {
	ft := &fakeT{name: "TestX"}
	Compare(ft, filepath.Join(t.TempDir(), "none.golden"), []byte("a\n"))
	if len(ft.msgs) != 1 || !strings.Contains(ft.msgs[0], "to create it") {
		t.Errorf("reported %q", ft.msgs)
	}
}

func TestCompareUpdateWrites(t *testing.T) {
	defer func(old bool) { *update = old }(*update)
	*update = true
	path := filepath.Join(t.TempDir(), "new", "x.golden")
	ft := &fakeT{name: "TestX"}
	Compare(ft, path, []byte("fresh\n"))
	if got, err := os.ReadFile(path); err != nil || string(got) != "fresh\n" || len(ft.msgs) != 0 {
		t.Errorf("file %q (%v), reported %q", got, err, ft.msgs)
	}
}

func TestDiff(t *testing.T) {
	tests := []struct{ name, want, got, diff string }{
		{"carriage return is shown", "a\r\nb\n", "a\nb\n", "-    1  \"a\\r\"\n+    1  a"},
		{"newline at the end only", "a\n", "a", "(the lines are the same; the files differ in the newline at the end: golden 2 bytes, got 1)"},
		{"line removed", "a\nb\nc\n", "a\nc\n", "-    2  b"},
	}
	for _, tt := range tests {
		if got := diff([]byte(tt.want), []byte(tt.got)); got != tt.diff {
			t.Errorf("%s: diff\n%s\nwant\n%s", tt.name, got, tt.diff)
		}
	}
}
