package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sinks"
)

// OpenStore returns the store for an output's destination: a directory,
// a file:// URL, or s3://bucket/prefix with the output's S3 settings.
// Nothing here touches the network: S3 credentials are resolved at the
// first request.
func OpenStore(ctx context.Context, o Output) (sinks.Store, error) {
	destination := o.Destination
	if isS3Location(destination) {
		bucket, prefix, err := ParseS3URL(destination)
		if err != nil {
			return nil, fmt.Errorf("destination: %w", err)
		}
		store, err := sinks.NewS3Store(ctx, sinks.S3Options{
			Bucket: bucket, Prefix: prefix,
			Region: o.S3.Region, FallbackRegion: DefaultS3Region,
			Endpoint: o.S3.Endpoint, ForcePathStyle: o.S3.ForcePathStyle,
			SSE: o.S3.SSE, KMSKeyID: o.S3.KMSKeyID,
			StorageClass: o.S3.StorageClass, Tags: o.S3.Tags,
			PartSize: o.S3.PartSize, UploadConcurrency: o.S3.UploadConcurrency,
		})
		if err != nil {
			return nil, fmt.Errorf("destination %s: %w", destination, err)
		}
		return store, nil
	}
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

// storeFor returns the run's store for an output, opened once per
// destination and settings: jobs writing to one bucket share its upload
// slots, and so its memory bound.
func (r *runner) storeFor(ctx context.Context, o Output) (sinks.Store, error) {
	key := destinationKey(o)
	r.storesMu.Lock()
	defer r.storesMu.Unlock()
	if s, ok := r.stores[key]; ok {
		return s, nil
	}
	s, err := OpenStore(ctx, o)
	if err != nil {
		return nil, err
	}
	r.stores[key] = s
	return s, nil
}

// temporaryRemover is a store whose writes can leave temporary files
// behind when their process is killed: LocalStore. (An S3 upload a killed
// process leaves is no object; the bucket's lifecycle rule clears it.)
type temporaryRemover interface {
	RemoveTemporary(ctx context.Context, prefix string, before time.Time) error
}

// jobOutput is one job's data files: a writer per format, all committed
// together only once every one of them is complete. Each format writes
// into its folder: one folder for all of them, or one per format when the
// path has {format}.
type jobOutput struct {
	ctx       context.Context
	store     sinks.Store
	dirs      []string // the folder of each format, as cfg.Formats
	cfg       Output
	schema    *schema.Schema
	formats   []sinks.Format
	writers   []*sinks.Writer // opened on the first page, when the total is known
	committed bool
	started   time.Time // by the wall clock, which stamps files, not the run's
}

// folderFiles are the files committed into one folder.
type folderFiles struct {
	dir   string
	files []sinks.FileInfo
}

func newJobOutput(ctx context.Context, store sinks.Store, dirs []string, cfg Output) (*jobOutput, error) {
	o := &jobOutput{ctx: ctx, store: store, dirs: dirs, cfg: cfg, schema: schema.V1(cfg.IncludeRaw), started: time.Now()}
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

// folders are the distinct folders of the formats, in their order.
func (o *jobOutput) folders() []string {
	var dirs []string
	for _, d := range o.dirs {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

func (o *jobOutput) open(expected schema.Null[int64]) {
	for i, f := range o.formats {
		o.writers = append(o.writers, sinks.NewWriter(o.ctx, o.store, o.dirs[i], f, o.schema, sinks.WriterOptions{
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

// commit publishes every data file, and returns them by folder. Its
// order keeps each folder trustworthy wherever a run is killed, a rerun
// with the same run id over a committed folder included: a manifest in a
// folder always describes the data files beside it, and _SUCCESS always
// has a manifest beside it.
//
//  1. Take down the previous run's _SUCCESS, then its manifest (and the
//     manifest.json of a version before _manifest.json), in every folder,
//     before any data file changes.
//  2. Commit the data files, each one atomically (a rename, a completed
//     upload), replacing the previous run's at the same names.
//  3. Remove the previous run's data files this run did not write again,
//     and temporary files a killed run left.
//  4. The caller's writeMarkers: each folder's manifest, then _SUCCESS.
func (o *jobOutput) commit(ctx context.Context) ([]folderFiles, error) {
	dirs := o.folders()
	for _, dir := range dirs {
		for _, name := range []string{SuccessName, ManifestName, LegacyManifestName} {
			if err := o.store.Remove(ctx, path.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("remove the previous %s: %w", name, err)
			}
		}
	}
	committed := make([]folderFiles, len(dirs))
	for i, dir := range dirs {
		committed[i].dir = dir
	}
	for i, w := range o.writers {
		fs, err := w.Commit()
		if err != nil {
			return nil, errors.Join(err, o.uncommit(context.WithoutCancel(ctx), committed))
		}
		k := slices.Index(dirs, o.dirs[i])
		committed[k].files = append(committed[k].files, fs...)
	}
	o.committed = true
	for _, f := range committed {
		if err := o.removeStale(ctx, f); err != nil {
			return nil, err
		}
	}
	return committed, nil
}

// uncommit takes back the files of formats already committed when a later
// format fails to commit, so a failed job leaves no data file behind.
func (o *jobOutput) uncommit(ctx context.Context, committed []folderFiles) error {
	var errs []error
	for _, folder := range committed {
		for _, f := range folder.files {
			key := path.Join(folder.dir, f.Path)
			if err := o.store.Remove(ctx, key); err != nil {
				errs = append(errs, fmt.Errorf("remove %s after a failed commit: %w", o.store.URI(key), err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeStale removes what earlier runs left in the folder that this run
// did not write: data files, and temporary files of writes killed before
// they finished. By now none of this job's own writes is in flight there.
func (o *jobOutput) removeStale(ctx context.Context, folder folderFiles) error {
	if t, ok := o.store.(temporaryRemover); ok {
		if err := t.RemoveTemporary(ctx, folder.dir, o.started); err != nil {
			return err
		}
	}
	keep := map[string]bool{}
	for _, f := range folder.files {
		keep[f.Path] = true
	}
	existing, err := o.store.List(ctx, folder.dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", o.store.URI(folder.dir), err)
	}
	for _, key := range existing {
		name := path.Base(key)
		if !strings.HasPrefix(name, "users") || keep[name] {
			continue
		}
		if err := o.store.Remove(ctx, path.Join(folder.dir, name)); err != nil {
			return fmt.Errorf("remove stale %s: %w", o.store.URI(path.Join(folder.dir, name)), err)
		}
	}
	return nil
}

func (o *jobOutput) abort() error {
	if o.committed {
		return nil
	}
	var errs []error
	for _, w := range o.writers {
		errs = append(errs, w.Abort())
	}
	return errors.Join(errs...)
}
