package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sinks"
)

// OpenStore returns the store for a destination: a directory or file:// URL.
func OpenStore(destination string) (sinks.Store, error) {
	if strings.HasPrefix(destination, "file://") {
		u, err := url.Parse(destination)
		if err != nil {
			return nil, fmt.Errorf("destination %q: %w", destination, err)
		}
		return sinks.NewLocalStore(u.Path), nil
	}
	if strings.Contains(destination, "://") {
		return nil, fmt.Errorf("destination %q: unsupported scheme", destination)
	}
	abs, err := filepath.Abs(destination)
	if err != nil {
		return nil, fmt.Errorf("destination %q: %w", destination, err)
	}
	return sinks.NewLocalStore(abs), nil
}

// jobOutput is one job's data files: a writer per format, all committed
// together only once every one of them is complete.
type jobOutput struct {
	ctx       context.Context
	store     sinks.Store
	dir       string
	cfg       Output
	schema    *schema.Schema
	formats   []sinks.Format
	writers   []*sinks.Writer // opened on the first page, when the total is known
	committed bool
}

func newJobOutput(ctx context.Context, store sinks.Store, dir string, cfg Output) (*jobOutput, error) {
	o := &jobOutput{ctx: ctx, store: store, dir: dir, cfg: cfg, schema: schema.V1(cfg.IncludeRaw)}
	for _, name := range cfg.Formats {
		f, err := sinks.NewFormat(name, sinks.FormatOptions{
			ParquetCompression: cfg.Compression.Parquet,
			CSVEscapeFormulas:  cfg.CSVEscapeFormulas,
		})
		if err != nil {
			return nil, err
		}
		o.formats = append(o.formats, f)
	}
	return o, nil
}

func (o *jobOutput) open(expected schema.Null[int64]) {
	for _, f := range o.formats {
		o.writers = append(o.writers, sinks.NewWriter(o.ctx, o.store, o.dir, f, o.schema, sinks.WriterOptions{
			Compression:    o.compression(f.Name()),
			MaxRowsPerFile: o.cfg.MaxRowsPerFile,
			ExpectedRows:   expected,
		}))
	}
}

func (o *jobOutput) compression(format string) string {
	switch format {
	case sinks.FormatJSONL:
		return o.cfg.Compression.JSONL
	case sinks.FormatCSV:
		return o.cfg.Compression.CSV
	}
	return "" // Parquet compresses inside the file
}

// write hands one page to every format at once: the encoders are
// independent, so a page costs the slowest format, not the sum.
func (o *jobOutput) write(users []schema.User, expected schema.Null[int64]) error {
	if o.writers == nil {
		o.open(expected)
	}
	return o.each(func(w *sinks.Writer) error { return w.Write(users) })
}

// finish completes every file (footers written) without committing any.
func (o *jobOutput) finish() error {
	if o.writers == nil {
		o.open(schema.Some[int64](0))
	}
	return o.each(func(w *sinks.Writer) error { return w.Finish() })
}

func (o *jobOutput) each(fn func(*sinks.Writer) error) error {
	if len(o.writers) == 1 {
		return fn(o.writers[0])
	}
	var g errgroup.Group
	for _, w := range o.writers {
		g.Go(func() error { return fn(w) })
	}
	return g.Wait()
}

// commit publishes every data file, after taking down the previous run's
// _SUCCESS (a rerun with the same run id) so that no reader trusts a mix of
// old and new files, and removes data files of that run this one did not
// write again.
func (o *jobOutput) commit(ctx context.Context) ([]sinks.FileInfo, error) {
	if err := o.store.Remove(ctx, path.Join(o.dir, SuccessName)); err != nil {
		return nil, fmt.Errorf("remove the previous %s: %w", SuccessName, err)
	}
	var files []sinks.FileInfo
	for _, w := range o.writers {
		fs, err := w.Commit()
		if err != nil {
			return nil, errors.Join(err, o.uncommit(context.WithoutCancel(ctx), files))
		}
		files = append(files, fs...)
	}
	o.committed = true
	return files, o.removeStale(ctx, files)
}

// uncommit takes back the files of formats already committed when a later
// format fails to commit, so a failed job leaves no data file behind.
func (o *jobOutput) uncommit(ctx context.Context, files []sinks.FileInfo) error {
	var errs []error
	for _, f := range files {
		if err := o.store.Remove(ctx, path.Join(o.dir, f.Path)); err != nil {
			errs = append(errs, fmt.Errorf("remove %s after a failed commit: %w", o.store.URI(path.Join(o.dir, f.Path)), err))
		}
	}
	return errors.Join(errs...)
}

func (o *jobOutput) removeStale(ctx context.Context, files []sinks.FileInfo) error {
	keep := map[string]bool{}
	for _, f := range files {
		keep[f.Path] = true
	}
	existing, err := o.store.List(ctx, o.dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", o.store.URI(o.dir), err)
	}
	for _, key := range existing {
		name := path.Base(key)
		if !strings.HasPrefix(name, "users") || keep[name] {
			continue
		}
		if err := o.store.Remove(ctx, path.Join(o.dir, name)); err != nil {
			return fmt.Errorf("remove stale %s: %w", o.store.URI(path.Join(o.dir, name)), err)
		}
	}
	return nil
}

func (o *jobOutput) abort() {
	if o.committed {
		return
	}
	for _, w := range o.writers {
		w.Abort()
	}
}
