package sinks

import (
	"bytes"
	"context"
	"testing"

	"github.com/saas-export/export/schema"
)

// CountRows on Parquet counts the rows of every column of every row group:
// lists of several elements, empty and null lists included, and refuses a
// file cut short.
func TestCountRowsParquet(t *testing.T) {
	rows := append(realisticRows(4000), fixtureRows()...)
	for i := 0; i < len(rows); i += 7 {
		rows[i].Phones = []string{"+32 1", "+32 2", "+32 3"}
	}
	for _, n := range []int{0, 1, len(rows)} {
		var buf bytes.Buffer
		enc, err := mustFormat(t, FormatParquet, FormatOptions{ParquetRowGroupRows: 1000}).NewEncoder(&buf, schema.V1(true))
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.Write(rows[:n]); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := CountRows(context.Background(), "users.parquet", bytes.NewReader(buf.Bytes()))
		if err != nil || got != int64(n) {
			t.Errorf("%d rows written: CountRows says %d, %v", n, got, err)
		}
		cut := buf.Bytes()[:buf.Len()-1]
		if got, err := CountRows(context.Background(), "users.parquet", bytes.NewReader(cut)); err == nil {
			t.Errorf("%d rows written, the last byte cut: CountRows says %d and no error", n, got)
		}
	}
}
