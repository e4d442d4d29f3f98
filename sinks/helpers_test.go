package sinks

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/saas-export/export/internal/golden"
	"github.com/saas-export/export/schema"
)

// goldenDir is testdata/sinks at the module root.
const goldenDir = "../testdata/sinks"

// checkGolden compares got with the golden file name under goldenDir, or
// rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Compare(t, filepath.Join(goldenDir, name), got)
}

func mustFormat(t testing.TB, name string, opts FormatOptions) Format {
	t.Helper()
	f, err := NewFormat(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// encode runs rows through a fresh encoder of f, in batches of batch rows
// (all at once when batch is 0), and returns the file's bytes.
func encode(t testing.TB, f Format, s *schema.Schema, rows []schema.User, batch int) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := f.NewEncoder(&buf, s)
	if err != nil {
		t.Fatal(err)
	}
	if batch == 0 {
		batch = max(len(rows), 1)
	}
	for len(rows) > 0 {
		n := min(batch, len(rows))
		if err := enc.Write(rows[:n]); err != nil {
			t.Fatal(err)
		}
		rows = rows[n:]
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
