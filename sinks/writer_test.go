package sinks

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/saas-export/export/schema"
)

var allFormats = []string{FormatJSONL, FormatCSV, FormatParquet}

// writeAll runs rows through a Writer in batches of batch rows, finishes
// and commits, and returns what Commit returns.
func writeAll(t *testing.T, store Store, format string, opts WriterOptions, rows []schema.User, batch int) []FileInfo {
	t.Helper()
	w := NewWriter(context.Background(), store, "job/run=1", mustFormat(t, format, FormatOptions{}), schema.V1(false), opts)
	defer w.Abort()
	for len(rows) > 0 {
		n := min(batch, len(rows))
		if err := w.Write(rows[:n]); err != nil {
			t.Fatal(err)
		}
		rows = rows[n:]
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	infos, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return infos
}

// countRows reads a committed file with the format's reader and returns
// its row count, failing the test if the file is not readable alone.
func countRows(t *testing.T, format string, data []byte) int {
	t.Helper()
	switch format {
	case FormatJSONL:
		n := 0
		for line := range strings.SplitSeq(string(data), "\n") {
			if line == "" {
				continue
			}
			var u map[string]any
			if err := json.Unmarshal([]byte(line), &u); err != nil {
				t.Fatalf("jsonl: %v", err)
			}
			n++
		}
		return n
	case FormatCSV:
		records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("csv: %v", err)
		}
		if len(records) == 0 || records[0][0] != "provider" {
			t.Fatalf("csv: no header in %q", data)
		}
		return len(records) - 1
	case FormatParquet:
		return len(readParquet(t, data).rows)
	}
	t.Fatalf("unknown format %s", format)
	return 0
}

func decompress(t *testing.T, compression string, data []byte) []byte {
	t.Helper()
	var r io.Reader
	switch compression {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		return data
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", compression, err)
	}
	return out
}

func TestWriterRotation(t *testing.T) {
	for _, format := range allFormats {
		t.Run(format, func(t *testing.T) {
			root := t.TempDir()
			rows := realisticRows(25)
			infos := writeAll(t, NewLocalStore(root), format, WriterOptions{MaxRowsPerFile: 10, ExpectedRows: schema.Some[int64](25)}, rows, 7)
			ext := mustFormat(t, format, FormatOptions{}).Ext()
			wantNames := []string{"users-00001." + ext, "users-00002." + ext, "users-00003." + ext}
			wantRows := []int64{10, 10, 5}
			if len(infos) != 3 {
				t.Fatalf("got %d files, want 3: %+v", len(infos), infos)
			}
			for i, info := range infos {
				if info.Path != wantNames[i] || info.Rows != wantRows[i] || info.Format != format {
					t.Errorf("file %d = %+v, want %s with %d rows", i, info, wantNames[i], wantRows[i])
				}
				data := checkCommitted(t, root, info)
				if n := countRows(t, format, data); int64(n) != wantRows[i] {
					t.Errorf("%s holds %d rows, want %d", info.Path, n, wantRows[i])
				}
			}
		})
	}
}

// checkCommitted checks that a file is at its final path with the size
// and checksum its FileInfo gives, and returns its bytes.
func checkCommitted(t *testing.T, root string, info FileInfo) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "job", "run=1", info.Path))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if int64(len(data)) != info.Bytes || hex.EncodeToString(sum[:]) != info.SHA256 {
		t.Errorf("%s: %d bytes, sha256 %x; FileInfo says %d bytes, %s",
			info.Path, len(data), sum, info.Bytes, info.SHA256)
	}
	return data
}

func TestWriterNaming(t *testing.T) {
	known := schema.Some[int64]
	tests := []struct {
		name     string
		opts     WriterOptions
		rows     int
		wantRows map[string]int64
	}{
		{"expected fits", WriterOptions{MaxRowsPerFile: 100, ExpectedRows: known(25)}, 25,
			map[string]int64{"users.jsonl": 25}},
		{"expected fits exactly", WriterOptions{MaxRowsPerFile: 25, ExpectedRows: known(25)}, 25,
			map[string]int64{"users.jsonl": 25}},
		{"no limit", WriterOptions{ExpectedRows: known(25)}, 25,
			map[string]int64{"users.jsonl": 25}},
		{"expected too many", WriterOptions{MaxRowsPerFile: 10, ExpectedRows: known(25)}, 25,
			map[string]int64{"users-00001.jsonl": 10, "users-00002.jsonl": 10, "users-00003.jsonl": 5}},
		{"more than expected", WriterOptions{MaxRowsPerFile: 10, ExpectedRows: known(5)}, 25,
			map[string]int64{"users.jsonl": 10, "users-00002.jsonl": 10, "users-00003.jsonl": 5}},
		{"fewer than expected", WriterOptions{MaxRowsPerFile: 10, ExpectedRows: known(8)}, 3,
			map[string]int64{"users.jsonl": 3}},
		{"unknown", WriterOptions{MaxRowsPerFile: 10}, 5,
			map[string]int64{"users.jsonl": 5}},
		{"unknown, exactly full", WriterOptions{MaxRowsPerFile: 10}, 10,
			map[string]int64{"users.jsonl": 10}},
		{"unknown, more than a file", WriterOptions{MaxRowsPerFile: 10}, 15,
			map[string]int64{"users.jsonl": 10, "users-00002.jsonl": 5}},
		{"unknown, no rows", WriterOptions{MaxRowsPerFile: 10}, 0,
			map[string]int64{"users.jsonl": 0}},
		{"gzip", WriterOptions{Compression: "gzip", ExpectedRows: known(3)}, 3,
			map[string]int64{"users.jsonl.gz": 3}},
		{"zstd rotated", WriterOptions{Compression: "zstd", MaxRowsPerFile: 2, ExpectedRows: known(3)}, 3,
			map[string]int64{"users-00001.jsonl.zst": 2, "users-00002.jsonl.zst": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			infos := writeAll(t, NewLocalStore(root), FormatJSONL, tt.opts, realisticRows(tt.rows), 4)
			got := map[string]int64{}
			for _, info := range infos {
				got[info.Path] = info.Rows
				checkCommitted(t, root, info)
			}
			if !reflect.DeepEqual(got, tt.wantRows) {
				t.Errorf("files = %v, want %v", got, tt.wantRows)
			}
			if files := filesUnder(t, root); len(files) != len(tt.wantRows) {
				t.Errorf("files on disk = %v", files)
			}
		})
	}
}

func TestWriterNoRowsWritesOneValidFile(t *testing.T) {
	for _, format := range allFormats {
		t.Run(format, func(t *testing.T) {
			root := t.TempDir()
			infos := writeAll(t, NewLocalStore(root), format, WriterOptions{MaxRowsPerFile: 10}, nil, 1)
			if len(infos) != 1 || infos[0].Rows != 0 || infos[0].Path != "users."+mustFormat(t, format, FormatOptions{}).Ext() {
				t.Fatalf("infos = %+v, want one empty users file", infos)
			}
			if n := countRows(t, format, checkCommitted(t, root, infos[0])); n != 0 {
				t.Errorf("empty file holds %d rows", n)
			}
		})
	}
}

func TestWriterCompressionRoundTrip(t *testing.T) {
	rows := append(fixtureRows(), realisticRows(200)...)
	for _, format := range []string{FormatJSONL, FormatCSV} {
		plain := encode(t, mustFormat(t, format, FormatOptions{}), schema.V1(false), rows, 0)
		for _, comp := range []string{"gzip", "zstd", "none", ""} {
			t.Run(format+"/"+comp, func(t *testing.T) {
				root := t.TempDir()
				infos := writeAll(t, NewLocalStore(root), format, WriterOptions{Compression: comp}, rows, 50)
				data := checkCommitted(t, root, infos[0])
				if got := decompress(t, comp, data); !bytes.Equal(got, plain) {
					t.Errorf("decompressed file differs from the encoder's output")
				}
				if comp == "gzip" || comp == "zstd" {
					if len(data) >= len(plain) {
						t.Errorf("%s file is %d bytes, plain %d", comp, len(data), len(plain))
					}
				}
			})
		}
	}
}

func TestWriterGzipHeaderIsDeterministic(t *testing.T) {
	root := t.TempDir()
	infos := writeAll(t, NewLocalStore(root), FormatCSV, WriterOptions{Compression: "gzip"}, realisticRows(3), 3)
	zr, err := gzip.NewReader(bytes.NewReader(checkCommitted(t, root, infos[0])))
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" || zr.Comment != "" {
		t.Errorf("gzip header carries mtime %v, name %q, comment %q", zr.ModTime, zr.Name, zr.Comment)
	}
}

// TestWriterDeterministic writes the same rows twice, to two stores, and
// expects identical bytes for every format and compression.
func TestWriterDeterministic(t *testing.T) {
	rows := append(fixtureRows(), realisticRows(3000)...)
	cases := []struct{ format, compression string }{
		{FormatJSONL, "none"}, {FormatJSONL, "gzip"}, {FormatJSONL, "zstd"},
		{FormatCSV, "none"}, {FormatCSV, "gzip"}, {FormatCSV, "zstd"},
		{FormatParquet, ""},
	}
	for _, c := range cases {
		t.Run(c.format+"/"+c.compression, func(t *testing.T) {
			var runs [2][]FileInfo
			for i := range runs {
				runs[i] = writeAll(t, NewLocalStore(t.TempDir()), c.format,
					WriterOptions{Compression: c.compression, MaxRowsPerFile: 1000}, rows, 97)
			}
			if !reflect.DeepEqual(runs[0], runs[1]) {
				t.Errorf("two runs differ:\n%+v\n%+v", runs[0], runs[1])
			}
		})
	}
	// Parquet codecs other than the default, and a batch size that does
	// not divide the row groups.
	for _, codec := range []string{"snappy", "gzip", "none"} {
		f := mustFormat(t, FormatParquet, FormatOptions{ParquetCompression: codec, ParquetRowGroupRows: 700})
		a := encode(t, f, schema.V1(true), rows, 100)
		b := encode(t, f, schema.V1(true), rows, 333)
		if !bytes.Equal(a, b) {
			t.Errorf("parquet %s: same rows in other batches give other bytes", codec)
		}
	}
}

func TestWriterBadOptions(t *testing.T) {
	tests := []struct {
		name   string
		format string
		opts   WriterOptions
	}{
		{"unknown compression", FormatJSONL, WriterOptions{Compression: "brotli"}},
		{"parquet takes no file compression", FormatParquet, WriterOptions{Compression: "gzip"}},
		{"negative max rows", FormatCSV, WriterOptions{MaxRowsPerFile: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			w := NewWriter(context.Background(), NewLocalStore(root), "d", mustFormat(t, tt.format, FormatOptions{}), schema.V1(false), tt.opts)
			defer w.Abort()
			if err := w.Write(realisticRows(1)); err == nil {
				t.Error("Write succeeded")
			}
			if err := w.Finish(); err == nil {
				t.Error("Finish succeeded")
			}
			if files := filesUnder(t, root); len(files) != 0 {
				t.Errorf("files = %v", files)
			}
		})
	}
	if _, err := NewFormat("xml", FormatOptions{}); err == nil {
		t.Error("NewFormat(xml) succeeded")
	}
}

func TestWriterFinishCommitsNothing(t *testing.T) {
	for _, format := range allFormats {
		t.Run(format, func(t *testing.T) {
			root := t.TempDir()
			store := NewLocalStore(root)
			w := NewWriter(context.Background(), store, "job", mustFormat(t, format, FormatOptions{}), schema.V1(false), WriterOptions{MaxRowsPerFile: 10})
			if err := w.Write(realisticRows(15)); err != nil {
				t.Fatal(err)
			}
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			if keys, _ := store.List(context.Background(), "job"); len(keys) != 0 {
				t.Errorf("after Finish, visible files = %v", keys)
			}
			if err := w.Write(realisticRows(1)); !errors.Is(err, errState) {
				t.Errorf("Write after Finish = %v", err)
			}
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			if files := filesUnder(t, root); len(files) != 0 {
				t.Errorf("after Abort, files = %v", files)
			}
			if err := w.Abort(); err != nil {
				t.Errorf("second Abort: %v", err)
			}
			if _, err := w.Commit(); err == nil {
				t.Error("Commit after Abort succeeded")
			}
		})
	}
}

func TestWriterAbortAfterCommitKeepsFiles(t *testing.T) {
	root := t.TempDir()
	w := NewWriter(context.Background(), NewLocalStore(root), "job", mustFormat(t, FormatCSV, FormatOptions{}), schema.V1(false), WriterOptions{})
	if err := w.Write(realisticRows(3)); err != nil {
		t.Fatal(err)
	}
	infos, err := w.Commit() // finishes first
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err == nil {
		t.Error("second Commit succeeded")
	}
	if files := filesUnder(t, root); !reflect.DeepEqual(files, []string{"job/" + infos[0].Path}) {
		t.Errorf("files = %v", files)
	}
}

func TestWriterCancelledContextLeavesNothing(t *testing.T) {
	for _, when := range []string{"while writing", "before commit"} {
		t.Run(when, func(t *testing.T) {
			root := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := NewWriter(ctx, NewLocalStore(root), "job", mustFormat(t, FormatParquet, FormatOptions{}), schema.V1(false), WriterOptions{MaxRowsPerFile: 10})
			if err := w.Write(realisticRows(25)); err != nil {
				t.Fatal(err)
			}
			if when == "before commit" {
				if err := w.Finish(); err != nil {
					t.Fatal(err)
				}
			}
			cancel()
			var err error
			if when == "while writing" {
				err = w.Write(realisticRows(5))
			} else {
				_, err = w.Commit()
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			if files := filesUnder(t, root); len(files) != 0 {
				t.Errorf("files = %v", files)
			}
		})
	}
}

// failingFormat wraps a format with an encoder whose Close fails, as when
// a footer cannot be written.
type failingFormat struct{ Format }

func (f failingFormat) NewEncoder(w io.Writer, s *schema.Schema) (Encoder, error) {
	enc, err := f.Format.NewEncoder(w, s)
	return failingEncoder{enc}, err
}

type failingEncoder struct{ Encoder }

func (failingEncoder) Close() error { return errors.New("footer failed") }

func TestWriterEncoderErrorLeavesNothing(t *testing.T) {
	root := t.TempDir()
	f := failingFormat{mustFormat(t, FormatParquet, FormatOptions{})}
	w := NewWriter(context.Background(), NewLocalStore(root), "job", f, schema.V1(false), WriterOptions{MaxRowsPerFile: 10})
	err := w.Write(realisticRows(15)) // the first file is finished on rotation, and fails
	if err == nil || !strings.Contains(err.Error(), "job/users.parquet") || !strings.Contains(err.Error(), "footer failed") {
		t.Errorf("Write = %v, want the footer error naming the file", err)
	}
	if err := w.Finish(); err == nil {
		t.Error("Finish after a failure succeeded")
	}
	if _, err := w.Commit(); err == nil {
		t.Error("Commit after a failure succeeded")
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if files := filesUnder(t, root); len(files) != 0 {
		t.Errorf("files = %v", files)
	}
}

// faultyStore wraps a store with objects that fail: writes after
// writeLimit bytes, or the commit of the object created failClose-th
// (from 1).
type faultyStore struct {
	Store
	writeLimit int64
	failClose  int
	created    int
}

func (s *faultyStore) Create(ctx context.Context, key, contentType string) (Object, error) {
	obj, err := s.Store.Create(ctx, key, contentType)
	if err != nil {
		return nil, err
	}
	s.created++
	return &faultyObject{Object: obj, limit: s.writeLimit, failClose: s.created == s.failClose}, nil
}

type faultyObject struct {
	Object
	limit     int64
	written   int64
	failClose bool
}

func (o *faultyObject) Write(p []byte) (int, error) {
	if o.limit > 0 && o.written+int64(len(p)) > o.limit {
		return 0, errors.New("disk full")
	}
	o.written += int64(len(p))
	return o.Object.Write(p)
}

func (o *faultyObject) Close() error {
	if o.failClose {
		return errors.Join(errors.New("upload failed"), o.Object.Abort())
	}
	return o.Object.Close()
}

func TestWriterStoreWriteErrorLeavesNothing(t *testing.T) {
	root := t.TempDir()
	store := &faultyStore{Store: NewLocalStore(root), writeLimit: 1000}
	w := NewWriter(context.Background(), store, "job", mustFormat(t, FormatJSONL, FormatOptions{}), schema.V1(false), WriterOptions{})
	var err error
	for i := 0; err == nil && i < 100; i++ {
		err = w.Write(realisticRows(1000)) // 256 KiB of buffer fill up within a few calls
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Write = %v, want disk full", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if files := filesUnder(t, root); len(files) != 0 {
		t.Errorf("files = %v", files)
	}
}

func TestWriterFailedCommitLeavesNothing(t *testing.T) {
	root := t.TempDir()
	store := &faultyStore{Store: NewLocalStore(root), failClose: 2}
	w := NewWriter(context.Background(), store, "job", mustFormat(t, FormatCSV, FormatOptions{}), schema.V1(false), WriterOptions{MaxRowsPerFile: 10})
	if err := w.Write(realisticRows(25)); err != nil {
		t.Fatal(err)
	}
	_, err := w.Commit()
	if err == nil || !strings.Contains(err.Error(), "job/users-00002.csv") {
		t.Fatalf("Commit = %v, want an error naming the second file", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if files := filesUnder(t, root); len(files) != 0 {
		t.Errorf("files = %v, want none: the first file is removed again, the third discarded", files)
	}
}
