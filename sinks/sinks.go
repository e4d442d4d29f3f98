// Package sinks turns normalized rows into committed files: a Format
// encodes rows to an io.Writer, a Store makes an object visible only when
// it is committed, and a Writer joins them with rotation, compression and
// checksums.
package sinks

import (
	"context"
	"io"

	"github.com/saas-export/export/schema"
)

// Format encodes rows of a schema into one file's bytes. It sees only an
// io.Writer, never a destination.
type Format interface {
	Name() string // jsonl, csv or parquet
	Ext() string  // file extension without the dot, before any compression suffix
	// ContentType is the media type of an uncompressed file, which stores
	// such as S3 keep with the object.
	ContentType() string
	NewEncoder(w io.Writer, s *schema.Schema) (Encoder, error)
}

// Encoder writes rows to one file. Close writes any footer and flushes;
// it does not close the underlying writer.
type Encoder interface {
	Write(rows []schema.User) error
	Close() error
}

// Store is where files go: a local directory (LocalStore) or an S3
// bucket (S3Store).
type Store interface {
	// Create starts an object at key (slash-separated, relative to the
	// store's root) of the given media type. Nothing is visible at key
	// until Close on the object returns nil; Abort, or cancelling ctx,
	// discards it.
	Create(ctx context.Context, key, contentType string) (Object, error)
	// Remove deletes key; a missing key is not an error.
	Remove(ctx context.Context, key string) error
	// List returns the keys directly under prefix (a folder), sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// URI names key for humans and manifests, e.g. file:///out/x or s3://b/x.
	URI(key string) string
}

// Object is an object being written. Close commits it; Abort discards it
// and is safe to call after Close or more than once.
type Object interface {
	io.WriteCloser
	Abort() error
}

// FileInfo describes one committed data file, as listed in _manifest.json.
type FileInfo struct {
	Path   string `json:"path"` // relative to the job's output folder
	Format string `json:"format"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}
