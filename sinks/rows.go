package sinks

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/klauspost/compress/zstd"
)

// Reader reads back what a store committed, for export verify. Both
// stores implement it.
type Reader interface {
	// Open streams key, or fails wrapping fs.ErrNotExist.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// ListAll returns every name directly under the folder prefix, sorted:
	// unlike List, temporary files too, and sub-folders with a trailing /.
	ListAll(ctx context.Context, prefix string) ([]string, error)
}

// Open opens key's file; an *os.File, so Parquet can be read in place.
func (s *LocalStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sinks: open %s: %w", s.URI(key), err)
	}
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("sinks: open %s: %w", s.URI(key), err)
	}
	return f, nil
}

// ListAll reads the folder; a missing folder has no names.
func (s *LocalStore) ListAll(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sinks: list %s: %w", s.URI(prefix), err)
	}
	dir, err := s.path(prefix)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir) // sorted by name
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sinks: list %s: %w", s.URI(prefix), err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			name += "/"
		}
		names = append(names, name)
	}
	slices.Sort(names) // "a/" sorts after "a", as S3 lists them
	return names, nil
}

// Open streams key with one GET.
func (s *S3Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	full, err := s.fullKey(key)
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.opts.Bucket, Key: &full})
	if err != nil {
		if _, ok := errors.AsType[*types.NoSuchKey](err); ok {
			err = errors.Join(err, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("sinks: get %s: %w", s.URI(key), err)
	}
	return out.Body, nil
}

// ListAll lists the objects and the common prefixes under the folder.
func (s *S3Store) ListAll(ctx context.Context, prefix string) ([]string, error) {
	folder := strings.Trim(path.Join(s.opts.Prefix, prefix), "/")
	if folder != "" {
		folder += "/"
	}
	var names []string
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: &s.opts.Bucket, Prefix: &folder, Delimiter: aws.String("/"),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("sinks: list %s: %w", s.URI(prefix), err)
		}
		for _, o := range page.Contents {
			names = append(names, strings.TrimPrefix(aws.ToString(o.Key), folder))
		}
		for _, p := range page.CommonPrefixes {
			names = append(names, strings.TrimPrefix(aws.ToString(p.Prefix), folder))
		}
	}
	slices.Sort(names)
	return names, nil
}

// objectKeys turns ListAll's names into List's keys: the objects only,
// sub-folders (a trailing /) left out, joined to the folder.
func objectKeys(prefix string, names []string) []string {
	var keys []string
	for _, name := range names {
		if !strings.HasSuffix(name, "/") {
			keys = append(keys, path.Join(prefix, name))
		}
	}
	return keys
}

// FormatOf is the format of a data file's name, compression suffix aside:
// jsonl, csv or parquet for the files a Writer names.
func FormatOf(name string) string {
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".zst")
	return strings.TrimPrefix(path.Ext(name), ".")
}

// CountRows reads a data file in full, by its name's extension, with
// readers independent of the ones that wrote it (encoding/json,
// encoding/csv, arrow-go's Parquet reader), and returns how many rows it
// holds. A truncated file fails: a Parquet file lacks its footer, a
// compressed one its trailer, a JSONL file ends mid-line, a CSV file
// mid-record. Text files are streamed; a Parquet file needs random
// access, so r must then be an io.ReaderAt and io.Seeker (an *os.File, a
// *bytes.Reader).
func CountRows(ctx context.Context, name string, r io.Reader) (int64, error) {
	switch path.Ext(name) {
	case ".gz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return 0, err
		}
		r = zr
	case ".zst":
		zr, err := zstd.NewReader(r)
		if err != nil {
			return 0, err
		}
		defer zr.Close()
		r = zr
	}
	switch format := FormatOf(name); format {
	case FormatJSONL:
		return jsonlRows(r)
	case FormatCSV:
		return csvRows(r)
	case FormatParquet:
		ra, ok := r.(parquet.ReaderAtSeeker)
		if !ok {
			return 0, errors.New("a Parquet file needs a reader with random access")
		}
		return parquetRows(ctx, ra)
	default:
		return 0, fmt.Errorf("unknown format %q", format)
	}
}

func jsonlRows(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte // reused; a line longer than the buffer is joined here
	var n int64
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				return 0, errors.New("the last line has no newline")
			}
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		n++
		// Valid parses the line in full, without building values.
		if !bytes.HasPrefix(line, []byte("{")) || !json.Valid(line) {
			return 0, fmt.Errorf("line %d is not a JSON object", n)
		}
		line = line[:0]
	}
}

// lastByte remembers the last byte read through it.
type lastByte struct {
	r    io.Reader
	last int // -1 until a byte is read
}

func (l *lastByte) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if n > 0 {
		l.last = int(p[n-1])
	}
	return n, err
}

func csvRows(r io.Reader) (int64, error) {
	lb := &lastByte{r: r, last: -1}
	cr := csv.NewReader(lb) // every record as wide as the header
	cr.ReuseRecord = true
	var records int64
	for {
		_, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		records++
	}
	switch {
	case lb.last == -1:
		return 0, errors.New("no header row")
	case lb.last != '\n':
		return 0, errors.New("the last record has no line end")
	}
	return records - 1, nil
}

// parquetRows decodes every page of every column of every row group, a
// batch at a time, so memory is a batch, not the file, and checks that
// each column holds each row group's rows. It reads through arrow-go's
// column readers rather than pqarrow, whose Arrow schema handling brings
// gRPC and Flight into the binary: some 15 MB, and RSS in every run.
func parquetRows(ctx context.Context, r parquet.ReaderAtSeeker) (int64, error) {
	pf, err := file.NewParquetReader(r)
	if err != nil {
		return 0, err
	}
	defer pf.Close()
	var n int64
	for g := range pf.NumRowGroups() {
		rg := pf.RowGroup(g)
		for c := range rg.NumColumns() {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			col, err := rg.Column(c)
			if err != nil {
				return 0, err
			}
			rows, err := columnRows(col)
			if err != nil {
				return 0, fmt.Errorf("row group %d, column %s: %w", g, col.Descriptor().Path(), err)
			}
			if rows != rg.NumRows() {
				return 0, fmt.Errorf("row group %d, column %s: read %d rows; the footer says %d", g, col.Descriptor().Path(), rows, rg.NumRows())
			}
		}
		n += rg.NumRows()
	}
	if n != pf.NumRows() {
		return 0, fmt.Errorf("read %d rows; the footer says %d", n, pf.NumRows())
	}
	return n, nil
}

// columnRows decodes a column chunk and counts its rows: its values and
// nulls, or, in a list column, the entries that start a row.
func columnRows(col file.ColumnChunkReader) (int64, error) {
	const batch = 1024
	defs, reps := make([]int16, batch), make([]int16, batch)
	var read func() (int64, error)
	switch cr := col.(type) {
	case *file.ByteArrayColumnChunkReader:
		values := make([]parquet.ByteArray, batch)
		read = func() (int64, error) { n, _, err := cr.ReadBatch(batch, values, defs, reps); return n, err }
	case *file.Int64ColumnChunkReader:
		values := make([]int64, batch)
		read = func() (int64, error) { n, _, err := cr.ReadBatch(batch, values, defs, reps); return n, err }
	case *file.BooleanColumnChunkReader:
		values := make([]bool, batch)
		read = func() (int64, error) { n, _, err := cr.ReadBatch(batch, values, defs, reps); return n, err }
	default:
		return 0, fmt.Errorf("physical type %s, which no column of the schema has", col.Type())
	}
	repeated := col.Descriptor().MaxRepetitionLevel() > 0
	var rows int64
	for col.HasNext() {
		n, err := read()
		if err != nil {
			return 0, err
		}
		if !repeated {
			rows += n
			continue
		}
		for _, rep := range reps[:n] {
			if rep == 0 {
				rows++
			}
		}
	}
	return rows, col.Err()
}
