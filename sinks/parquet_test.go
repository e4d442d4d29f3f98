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
	"github.com/klauspost/compress/zstd"

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

func TestParquetRowGroupBounds(t *testing.T) {
	tests := []struct {
		name       string
		rows       int
		groupRows  int
		groupBytes int64 // 0: the default
		batch      int
		want       []int64
	}{
		{"rows fill groups exactly", 30, 10, 0, 7, []int64{10, 10, 10}},
		{"batches larger than groups", 25, 10, 0, 0, []int64{10, 10, 5}},
		{"default group size", 1200, 0, 0, 250, []int64{1200}},
		// Each row is some 300 bytes before compression: 20 KiB fill
		// after about 70 rows, checked after each batch of 16.
		{"bounded by bytes", 300, 1000, 20 << 10, 16, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustFormat(t, FormatParquet, FormatOptions{ParquetRowGroupRows: tt.groupRows})
			rows := realisticRows(tt.rows)
			var buf bytes.Buffer
			enc, err := f.NewEncoder(&buf, schema.V1(false))
			if err != nil {
				t.Fatal(err)
			}
			if tt.groupBytes > 0 {
				enc.(*parquetEncoder).groupBytes = tt.groupBytes
			}
			batch := tt.batch
			if batch == 0 {
				batch = len(rows)
			}
			for page := rows; len(page) > 0; page = page[min(batch, len(page)):] {
				if err := enc.Write(page[:min(batch, len(page))]); err != nil {
					t.Fatal(err)
				}
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			got := readParquet(t, buf.Bytes())
			if len(got.rows) != tt.rows {
				t.Fatalf("got %d rows, want %d", len(got.rows), tt.rows)
			}
			if tt.want != nil && !equalInts(got.rowGroups, tt.want) {
				t.Errorf("row groups = %v, want %v", got.rowGroups, tt.want)
			}
			if tt.want == nil {
				// Flushed at a batch boundary once 20 KiB are buffered: many
				// groups, none near the 1000-row limit.
				groups := got.rowGroups
				if len(groups) < 3 {
					t.Errorf("row groups = %v, want several bounded by bytes", groups)
				}
				for _, n := range groups[:len(groups)-1] {
					if n%16 != 0 || n > 500 {
						t.Errorf("row groups = %v, want multiples of the batch well under 1000", groups)
						break
					}
				}
			}
		})
	}
}

// TestZstdPageCodecRoundTrips checks the codec on pages below and above
// its window: what it encodes, standard zstd decodes.
func TestZstdPageCodecRoundTrips(t *testing.T) {
	c := &zstdPageCodec{}
	for _, size := range []int{0, 100, 256 << 10, 3 << 20} {
		page := bytes.Repeat(pseudoRandomBytes(size/8+1, 9), 8)[:size]
		enc, err := c.Encode(nil, page)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.DecodeAll(enc, nil)
		dec.Close()
		if err != nil || !bytes.Equal(got, page) {
			t.Errorf("%d bytes: decoded %d bytes, %v", size, len(got), err)
		}
		if size > 1000 && len(enc) > size/4 {
			t.Errorf("%d bytes of 8 repeats compressed to %d", size, len(enc))
		}
		again, err := c.Decode(nil, enc)
		if err != nil || !bytes.Equal(again, page) {
			t.Errorf("%d bytes: Decode gave %d bytes, %v", size, len(again), err)
		}
	}
}

// TestZstdPageCodecCodesPagesWithoutMatches checks that a page with no
// repeat to find but a skewed alphabet, such as a column of random hex
// ids, is entropy coded rather than stored as it came: zstd's fastest
// level leaves such blocks raw unless told otherwise.
func TestZstdPageCodecCodesPagesWithoutMatches(t *testing.T) {
	const hex = "0123456789abcdef"
	page := pseudoRandomBytes(256<<10, 3)
	for i, b := range page {
		page[i] = hex[b%16]
	}
	enc, err := (&zstdPageCodec{}).Encode(nil, page)
	if err != nil {
		t.Fatal(err)
	}
	// 4 bits of 8 carry information: Huffman codes them in about 4.
	if len(enc) > len(page)*6/10 {
		t.Errorf("%d bytes of random hex compressed to %d, want at most 60 %%", len(page), len(enc))
	}
}
