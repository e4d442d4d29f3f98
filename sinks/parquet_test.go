package sinks

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/saas-export/export/schema"
)

// parquetFile is a Parquet file as an independent reader (arrow-go's
// pqarrow) sees it.
type parquetFile struct {
	schema    *arrow.Schema
	rows      []map[string]any // column name to Go value (nil for null)
	rowGroups []int64          // rows per row group
	metadata  map[string]string
	codecs    []string // per column of the first row group
}

func readParquet(t *testing.T, data []byte) parquetFile {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("open parquet: %v", err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	var out parquetFile
	if out.schema, err = fr.Schema(); err != nil {
		t.Fatal(err)
	}
	out.metadata = map[string]string{}
	for _, kv := range pf.MetaData().KeyValueMetadata() {
		out.metadata[kv.Key] = *kv.Value
	}
	for i := range pf.NumRowGroups() {
		rg := pf.MetaData().RowGroup(i)
		out.rowGroups = append(out.rowGroups, rg.NumRows())
		if i == 0 {
			for c := range rg.NumColumns() {
				cc, err := rg.ColumnChunk(c)
				if err != nil {
					t.Fatal(err)
				}
				out.codecs = append(out.codecs, cc.Compression().String())
			}
		}
	}
	table, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("read table: %v", err)
	}
	defer table.Release()
	out.rows = make([]map[string]any, table.NumRows())
	for i := range out.rows {
		out.rows[i] = map[string]any{}
	}
	for c := range int(table.NumCols()) {
		col := table.Column(c)
		row := 0
		for _, chunk := range col.Data().Chunks() {
			for j := range chunk.Len() {
				out.rows[row][col.Name()] = arrowValue(t, chunk, j)
				row++
			}
		}
	}
	return out
}

// arrowValue is element i of arr as a Go value: string, []string, bool,
// time.Time (UTC), or nil for null.
func arrowValue(t *testing.T, arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Timestamp:
		return a.Value(i).ToTime(arrow.Microsecond).UTC()
	case *array.List:
		start, end := a.ValueOffsets(i)
		values := a.ListValues().(*array.String)
		list := make([]string, 0, end-start)
		for j := start; j < end; j++ {
			list = append(list, values.Value(int(j)))
		}
		return list
	}
	t.Fatalf("unexpected arrow array %T", arr)
	return nil
}

// wantParquet is a column of u as readParquet returns it.
func wantParquet(u *schema.User, c schema.Column) any {
	switch c.Type {
	case schema.String:
		if c.ID == schema.ColRaw {
			if u.Raw == nil {
				return nil
			}
			return string(u.Raw)
		}
		if v := u.StringValue(c.ID); v.Valid {
			return v.V
		}
	case schema.StringList:
		if list := u.ListValue(c.ID); list != nil {
			return list
		}
	case schema.Bool:
		if v := u.BoolValue(c.ID); v.Valid {
			return v.V
		}
	case schema.Timestamp:
		if v := u.TimeValue(c.ID); v.Valid {
			return v.V.UTC().Truncate(time.Microsecond)
		}
	}
	return nil
}

func TestParquetReadBackWithArrow(t *testing.T) {
	for _, includeRaw := range []bool{false, true} {
		s := schema.V1(includeRaw)
		rows := append(fixtureRows(), realisticRows(30)...)
		f := mustFormat(t, FormatParquet, FormatOptions{ParquetRowGroupRows: 10})
		got := readParquet(t, encode(t, f, s, rows, 4))

		want := s.Arrow()
		if len(got.schema.Fields()) != len(want.Fields()) {
			t.Fatalf("got fields %v, want %v", got.schema, want)
		}
		for i, wf := range want.Fields() {
			gf := got.schema.Field(i)
			if gf.Name != wf.Name || !arrow.TypeEqual(gf.Type, wf.Type) || gf.Nullable != wf.Nullable {
				t.Errorf("field %d = %s: %s (nullable %t), want %s: %s (nullable %t)",
					i, gf.Name, gf.Type, gf.Nullable, wf.Name, wf.Type, wf.Nullable)
			}
		}
		if got.metadata["schema_version"] != "1" {
			t.Errorf("schema_version metadata = %q, want 1", got.metadata["schema_version"])
		}
		if wantGroups := []int64{10, 10, 10, 4}; !equalInts(got.rowGroups, wantGroups) {
			t.Errorf("row groups = %v, want %v", got.rowGroups, wantGroups)
		}
		if len(got.rows) != len(rows) {
			t.Fatalf("got %d rows, want %d", len(got.rows), len(rows))
		}
		for i := range rows {
			for _, c := range s.Columns {
				if g, w := got.rows[i][c.Name], wantParquet(&rows[i], c); !equalValue(g, w) {
					t.Errorf("row %d %s = %#v, want %#v", i, c.Name, g, w)
				}
			}
		}
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// equalValue compares values as readParquet returns them, keeping an
// empty list apart from a null one.
func equalValue(a, b any) bool {
	switch a := a.(type) {
	case time.Time:
		bt, ok := b.(time.Time)
		return ok && a.Equal(bt)
	case []string:
		bl, ok := b.([]string)
		if !ok || len(a) != len(bl) {
			return false
		}
		for i := range a {
			if a[i] != bl[i] {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestParquetCompression(t *testing.T) {
	tests := []struct{ option, codec string }{
		{"", "ZSTD"},
		{"zstd", "ZSTD"},
		{"snappy", "SNAPPY"},
		{"gzip", "GZIP"},
		{"none", "UNCOMPRESSED"},
	}
	rows := realisticRows(100)
	for _, tt := range tests {
		t.Run(tt.codec, func(t *testing.T) {
			f := mustFormat(t, FormatParquet, FormatOptions{ParquetCompression: tt.option})
			got := readParquet(t, encode(t, f, schema.V1(false), rows, 0))
			for i, codec := range got.codecs {
				if codec != tt.codec {
					t.Errorf("column %d codec = %s, want %s", i, codec, tt.codec)
				}
			}
			if len(got.rows) != len(rows) || got.rows[99]["id"] != rows[99].ID {
				t.Errorf("rows not read back")
			}
		})
	}
	if _, err := NewFormat(FormatParquet, FormatOptions{ParquetCompression: "lz4"}); err == nil {
		t.Error("unknown parquet compression accepted")
	}
}

func TestParquetNoRows(t *testing.T) {
	got := readParquet(t, encode(t, mustFormat(t, FormatParquet, FormatOptions{}), schema.V1(false), nil, 0))
	if len(got.rows) != 0 {
		t.Errorf("got %d rows, want 0", len(got.rows))
	}
	if len(got.schema.Fields()) != len(schema.V1(false).Columns) {
		t.Errorf("schema has %d fields, want %d", len(got.schema.Fields()), len(schema.V1(false).Columns))
	}
}

// TestParquetColumnSubset checks a schema other than v1's full set: the
// encoder follows the schema it is given, in its order.
func TestParquetColumnSubset(t *testing.T) {
	v1 := schema.V1(false).Columns
	s := &schema.Schema{Version: 1, Columns: []schema.Column{v1[schema.ColRoles], v1[schema.ColID], v1[schema.ColActive]}}
	rows := fixtureRows()
	got := readParquet(t, encode(t, mustFormat(t, FormatParquet, FormatOptions{}), s, rows, 0))
	if names := got.schema.Fields(); names[0].Name != "roles" || names[1].Name != "id" || names[2].Name != "active" {
		t.Errorf("fields = %v, want roles, id, active", got.schema)
	}
	for i := range rows {
		for _, c := range s.Columns {
			if g, w := got.rows[i][c.Name], wantParquet(&rows[i], c); !equalValue(g, w) {
				t.Errorf("row %d %s = %#v, want %#v", i, c.Name, g, w)
			}
		}
	}
}

func TestParquetRequiredNullIsAnError(t *testing.T) {
	s := &schema.Schema{Version: 1, Columns: []schema.Column{{ID: schema.ColKey, Name: "key", Type: schema.String, Required: true}}}
	enc, err := mustFormat(t, FormatParquet, FormatOptions{}).NewEncoder(&bytes.Buffer{}, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Write([]schema.User{{ID: "7"}}); err == nil {
		t.Error("a null in a required column was accepted")
	}
}
