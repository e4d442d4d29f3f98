package sinks

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"path"

	"github.com/saas-export/export/schema"
)

// writeBufferSize is the buffer between the encoder (or compressor) and
// the store: objects see few, large writes.
const writeBufferSize = 256 << 10

// WriterOptions configures a Writer.
type WriterOptions struct {
	// Compression wraps text formats in gzip or zstd, adding .gz or .zst
	// to the file names; "" or none leaves them plain. Parquet compresses
	// its own pages (FormatOptions.ParquetCompression) and takes none here.
	Compression string
	// MaxRowsPerFile starts a new file after this many rows; zero means no
	// limit.
	MaxRowsPerFile int64
	// ExpectedRows is how many rows the source announced, if it did. When
	// they are known not to fit in one file, the files are numbered from
	// users-00001.<ext>; otherwise the first is users.<ext>.
	ExpectedRows schema.Null[int64]
}

// Writer writes the rows of one job in one format as one or more files
// under a folder of a store, and commits them together.
//
// Files are named when they are created, because a store such as S3
// needs the key before the first byte: users.<ext> unless ExpectedRows
// is known and exceeds MaxRowsPerFile, then users-00001.<ext>,
// users-00002.<ext>, and so on. If more rows arrive than fit after
// users.<ext> was named (the total was unknown or wrong), the files that
// follow are users-00002.<ext>, ... A writer that received no rows writes
// one empty file, users.<ext>, at Finish.
//
// Use: Write any number of times, Finish, Commit; call Abort on any error
// (or always, deferred: it does nothing after a successful Commit). A
// Writer is not safe for concurrent use.
type Writer struct {
	ctx    context.Context
	store  Store
	dir    string
	format Format
	schema *schema.Schema
	opts   WriterOptions
	comp   compression

	files []*dataFile // in order, none committed until Commit
	cur   *dataFile   // the file taking rows; nil before the first and after a rotation
	state writerState
	err   error // the first failure; every later call returns it
}

type writerState int

const (
	writing writerState = iota
	finished
	committed
	aborted
)

// errState is returned for a call out of the order Write, Finish, Commit.
var errState = errors.New("sinks: writer used out of order")

// NewWriter returns a Writer of format f for rows of schema s, writing to
// the folder dir of store. Objects are created with ctx: cancelling it
// fails writes and discards the uncommitted files. Bad options are
// reported by the first Write or Finish.
func NewWriter(ctx context.Context, store Store, dir string, f Format, s *schema.Schema, opts WriterOptions) *Writer {
	w := &Writer{ctx: ctx, store: store, dir: dir, format: f, schema: s, opts: opts}
	w.comp, w.err = lookupCompression(opts.Compression)
	if _, ok := f.(interface{ compressesItself() }); ok && w.comp.wrap != nil {
		w.err = fmt.Errorf("sinks: %s files take no %s compression: set the format's own compression instead", f.Name(), opts.Compression)
	}
	if opts.MaxRowsPerFile < 0 {
		w.err = fmt.Errorf("sinks: max rows per file must not be negative, got %d", opts.MaxRowsPerFile)
	}
	return w
}

// Write encodes rows, starting a new file whenever the current one holds
// MaxRowsPerFile rows, so one call may fill several files.
func (w *Writer) Write(rows []schema.User) error {
	if err := w.usable(writing); err != nil {
		return err
	}
	for len(rows) > 0 {
		if w.cur == nil {
			if err := w.openFile(w.nextName()); err != nil {
				return w.fail(err)
			}
		}
		n := int(min(int64(len(rows)), w.room()))
		if err := w.cur.write(rows[:n]); err != nil {
			return w.fail(err)
		}
		rows = rows[n:]
		if w.room() == 0 {
			if err := w.closeCurrent(); err != nil {
				return w.fail(err)
			}
		}
	}
	return nil
}

// Finish completes every file: encoders write their footers and
// compressors their trailers, and all bytes reach the store. Nothing is
// visible at a final path yet: that is Commit's work.
func (w *Writer) Finish() error {
	if err := w.usable(writing); err != nil {
		return err
	}
	if len(w.files) == 0 {
		// No rows at all: readers still find one valid, empty file.
		if err := w.openFile(w.singleName()); err != nil {
			return w.fail(err)
		}
	}
	if w.cur != nil {
		if err := w.closeCurrent(); err != nil {
			return w.fail(err)
		}
	}
	w.state = finished
	return nil
}

// Commit makes the files visible, in order, and describes them. It calls
// Finish first if needed. If one fails to commit, the files this call
// already committed are removed again and the rest discarded, so a failed
// Commit leaves no file behind.
func (w *Writer) Commit() ([]FileInfo, error) {
	if w.state == writing {
		if err := w.Finish(); err != nil {
			return nil, err
		}
	}
	if err := w.usable(finished); err != nil {
		return nil, err
	}
	infos := make([]FileInfo, 0, len(w.files))
	for i, f := range w.files {
		if err := f.obj.Close(); err != nil {
			err = fmt.Errorf("sinks: commit %s: %w", f.key, err)
			return nil, w.fail(errors.Join(err, w.uncommit(w.files[:i])))
		}
		f.committed = true
		infos = append(infos, f.info(w.format.Name()))
	}
	w.state = committed
	return infos, nil
}

// Abort discards every file not committed. It is safe at any point and
// more than once, and does nothing after a successful Commit. The error,
// if any, says which temporary objects could not be cleaned up.
func (w *Writer) Abort() error {
	if w.state == committed || w.state == aborted {
		return nil
	}
	var errs []error
	for _, f := range w.files {
		if !f.committed {
			if err := f.abort(); err != nil {
				errs = append(errs, fmt.Errorf("sinks: abort %s: %w", f.key, err))
			}
		}
	}
	w.cur = nil
	w.state = aborted
	if w.err == nil {
		w.err = errors.New("sinks: writer aborted")
	}
	return errors.Join(errs...)
}

// uncommit removes files committed by a Commit that then failed. The
// removal must run even when the failure was the context's cancellation.
func (w *Writer) uncommit(files []*dataFile) error {
	ctx := context.WithoutCancel(w.ctx)
	var errs []error
	for _, f := range files {
		if err := w.store.Remove(ctx, f.key); err != nil {
			errs = append(errs, fmt.Errorf("sinks: remove %s after failed commit: %w", f.key, err))
		}
		f.committed = false
	}
	return errors.Join(errs...)
}

// usable returns why the writer cannot take a call expecting state want.
func (w *Writer) usable(want writerState) error {
	if w.err != nil {
		return w.err
	}
	if w.state != want {
		return errState
	}
	if err := w.ctx.Err(); err != nil {
		return w.fail(fmt.Errorf("sinks: writing %s files under %q: %w", w.format.Name(), w.dir, err))
	}
	return nil
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return err
}

// room is how many more rows the current file takes.
func (w *Writer) room() int64 {
	if w.opts.MaxRowsPerFile == 0 {
		return math.MaxInt64
	}
	return w.opts.MaxRowsPerFile - w.cur.rows
}

// nextName names the next file when rows arrive for it.
func (w *Writer) nextName() string {
	seq := len(w.files) + 1
	if seq == 1 && w.expectOneFile() {
		return w.singleName()
	}
	return fmt.Sprintf("users-%05d.%s%s", seq, w.format.Ext(), w.comp.suffix)
}

func (w *Writer) singleName() string {
	return "users." + w.format.Ext() + w.comp.suffix
}

// expectOneFile guesses one file unless the source announced more rows
// than fit: most listings fit, and the contract's plain users.<ext> is
// what readers of a small export look for.
func (w *Writer) expectOneFile() bool {
	e := w.opts.ExpectedRows
	return !e.Valid || w.opts.MaxRowsPerFile == 0 || e.V <= w.opts.MaxRowsPerFile
}

// openFile creates the object for the next file and makes it current.
func (w *Writer) openFile(name string) error {
	key := path.Join(w.dir, name)
	contentType := w.format.ContentType()
	if w.comp.contentType != "" {
		contentType = w.comp.contentType
	}
	obj, err := w.store.Create(w.ctx, key, contentType)
	if err != nil {
		return fmt.Errorf("sinks: create %s: %w", key, err)
	}
	f := &dataFile{name: name, key: key, obj: obj}
	// Listed before anything else can fail, so that Abort discards it.
	w.files = append(w.files, f)
	if err := f.start(w.format, w.schema, w.comp); err != nil {
		return err
	}
	w.cur = f
	return nil
}

func (w *Writer) closeCurrent() error {
	f := w.cur
	w.cur = nil
	return f.finish()
}

// dataFile is one file of a Writer: an encoder, maybe a compressor, a
// buffer and a checksum, in that order, in front of a store object.
type dataFile struct {
	name string // relative to the writer's folder
	key  string // in the store
	obj  Object

	enc  Encoder        // nil once finished
	comp io.WriteCloser // nil once finished, or without compression
	buf  *bufio.Writer  // nil once finished
	sum  *checksumWriter

	rows      int64
	committed bool
}

func (f *dataFile) start(format Format, s *schema.Schema, comp compression) error {
	f.sum = &checksumWriter{w: f.obj, h: sha256.New()}
	f.buf = bufio.NewWriterSize(f.sum, writeBufferSize)
	var dst io.Writer = f.buf
	if comp.wrap != nil {
		c, err := comp.wrap(f.buf)
		if err != nil {
			return fmt.Errorf("sinks: compress %s: %w", f.key, err)
		}
		f.comp, dst = c, c
	}
	enc, err := format.NewEncoder(dst, s)
	if err != nil {
		return fmt.Errorf("sinks: encode %s: %w", f.key, err)
	}
	f.enc = enc
	return nil
}

func (f *dataFile) write(rows []schema.User) error {
	if err := f.enc.Write(rows); err != nil {
		return fmt.Errorf("sinks: encode %s: %w", f.key, err)
	}
	f.rows += int64(len(rows))
	return nil
}

// finish flushes the file through to its object, leaving the object
// uncommitted, and drops the encoding state that is no longer needed.
func (f *dataFile) finish() error {
	if err := f.enc.Close(); err != nil {
		return fmt.Errorf("sinks: encode %s: %w", f.key, err)
	}
	if f.comp != nil {
		if err := f.comp.Close(); err != nil {
			return fmt.Errorf("sinks: compress %s: %w", f.key, err)
		}
	}
	if err := f.buf.Flush(); err != nil {
		return fmt.Errorf("sinks: write %s: %w", f.key, err)
	}
	f.enc, f.comp, f.buf = nil, nil, nil
	return nil
}

func (f *dataFile) abort() error {
	f.enc, f.comp, f.buf = nil, nil, nil
	return f.obj.Abort()
}

func (f *dataFile) info(format string) FileInfo {
	return FileInfo{
		Path:   f.name,
		Format: format,
		Rows:   f.rows,
		Bytes:  f.sum.n,
		SHA256: hex.EncodeToString(f.sum.h.Sum(nil)),
	}
}

// checksumWriter counts and hashes the bytes that reach the store, i.e.
// the file's bytes as a reader will see them.
type checksumWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *checksumWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}
