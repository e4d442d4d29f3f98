package sinks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// tempMarker is in the name of every file still being written, between
// the final name and a random suffix: .users.parquet.tmp-1f2e3d4c5b6a.
const tempMarker = ".tmp-"

// LocalStore keeps objects as files under a root directory.
//
// An object is written to a hidden temporary file in its destination
// directory and committed by Close: fsync, close, rename to the final
// name, fsync the directory, so that a crash leaves either the complete
// file or none at the final path (as restic's local backend and gocloud's
// fileblob do). The rename stays within one directory, hence one file
// system, so it is atomic.
type LocalStore struct {
	root string
}

// NewLocalStore returns a store rooted at root, made absolute now so that
// a later change of working directory does not move it.
func NewLocalStore(root string) *LocalStore {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return &LocalStore{root: filepath.Clean(root)}
}

// path maps a slash-separated key to a file path under the root,
// refusing keys that would leave it (.., absolute paths).
func (s *LocalStore) path(key string) (string, error) {
	if key == "" {
		return s.root, nil
	}
	local, err := filepath.Localize(key)
	if err != nil {
		return "", fmt.Errorf("sinks: invalid key %q: %w", key, err)
	}
	return filepath.Join(s.root, local), nil
}

// Create starts the object key as a temporary file beside its final path,
// creating directories as needed. A file has no content type to keep.
func (s *LocalStore) Create(ctx context.Context, key, _ string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sinks: create %s: %w", key, err)
	}
	final, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if final == s.root {
		return nil, fmt.Errorf("sinks: invalid key %q: names the store's root", key)
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sinks: create %s: %w", key, err)
	}
	f, err := createTemp(dir, "."+filepath.Base(final)+tempMarker)
	if err != nil {
		return nil, fmt.Errorf("sinks: create %s: %w", key, err)
	}
	return &localObject{ctx: ctx, key: key, final: final, file: f}, nil
}

// createTemp creates a new file named prefix and a random suffix. Unlike
// os.CreateTemp it asks for mode 0666 less the umask, which the final
// file keeps, rather than 0600: exports are read by other users and
// services as much as by their writer.
func createTemp(dir, prefix string) (*os.File, error) {
	var suffix [6]byte
	for range 10 {
		if _, err := rand.Read(suffix[:]); err != nil {
			return nil, err
		}
		name := filepath.Join(dir, prefix+hex.EncodeToString(suffix[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("no unused temporary name %s* in %s", prefix, dir)
}

// Remove deletes key; a missing key is not an error.
func (s *LocalStore) Remove(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sinks: remove %s: %w", key, err)
	}
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sinks: remove %s: %w", key, err)
	}
	return nil
}

// List returns the keys of the files directly under the folder prefix,
// sorted; a missing folder has none. Sub-folders are not listed, nor are
// the temporary files of objects not yet committed, which are not
// objects (an S3 store would not list them either).
func (s *LocalStore) List(ctx context.Context, prefix string) ([]string, error) {
	names, err := s.ListAll(ctx, prefix)
	return objectKeys(prefix, slices.DeleteFunc(names, isTempName)), err
}

// RemoveTemporary removes the temporary files directly under the folder
// prefix last written before before: what writes left that were never
// committed or discarded, because their process was killed. Temporary
// files written since are left alone, as they may be another writer's in
// progress.
func (s *LocalStore) RemoveTemporary(ctx context.Context, prefix string, before time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sinks: remove temporary files under %s: %w", prefix, err)
	}
	dir, err := s.path(prefix)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sinks: remove temporary files under %s: %w", prefix, err)
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !isTempName(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err == nil && !info.ModTime().Before(before) {
			continue
		}
		if err == nil {
			err = os.Remove(filepath.Join(dir, e.Name()))
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // not there: committed or discarded meanwhile
			errs = append(errs, fmt.Errorf("sinks: remove temporary file %s: %w", path.Join(prefix, e.Name()), err))
		}
	}
	return errors.Join(errs...)
}

func isTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempMarker)
}

// URI returns the file:// URI of key's absolute path.
func (s *LocalStore) URI(key string) string {
	p := filepath.ToSlash(filepath.Join(s.root, filepath.FromSlash(key)))
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive: file:///C:/out
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// localObject is a file being written under a temporary name.
type localObject struct {
	ctx   context.Context
	key   string
	final string
	file  *os.File // nil once committed or discarded
	err   error    // why the object is no longer writable
}

func (o *localObject) Write(p []byte) (int, error) {
	if o.file == nil {
		return 0, o.closedErr()
	}
	if err := o.ctx.Err(); err != nil {
		return 0, fmt.Errorf("sinks: write %s: %w", o.key, err)
	}
	return o.file.Write(p) // an *fs.PathError names the file
}

// Close commits the object. On any error, or if the context is done, the
// temporary file is removed instead and nothing appears at the key.
func (o *localObject) Close() error {
	if o.file == nil {
		return o.closedErr()
	}
	var err error
	if ctxErr := o.ctx.Err(); ctxErr != nil {
		err = fmt.Errorf("sinks: %s not committed: %w", o.key, ctxErr)
	} else {
		err = o.commit() // errors from the os package name the paths
	}
	if err != nil {
		return errors.Join(err, o.discard(err))
	}
	o.err = errors.New("committed")
	return nil
}

// commit syncs and closes the temporary file and renames it into place.
// The directory is synced too, or a crash could lose the rename.
func (o *localObject) commit() error {
	f := o.file
	tmp := f.Name()
	err := f.Sync()
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, o.final); err != nil {
		return err
	}
	o.file = nil
	if err := syncDir(filepath.Dir(o.final)); err != nil {
		// The file's name may not survive a crash: report the commit as
		// failed, and leave nothing at the key, as a failed Close promises.
		return errors.Join(err, os.Remove(o.final))
	}
	return nil
}

// Abort discards the object; after Close, or a second time, it does
// nothing.
func (o *localObject) Abort() error {
	if o.file == nil {
		return nil
	}
	return o.discard(errors.New("aborted"))
}

// discard closes and removes the temporary file, if still there, and
// records why the object is closed.
func (o *localObject) discard(why error) error {
	o.err = why
	f := o.file
	if f == nil {
		return nil
	}
	o.file = nil
	_ = f.Close() // may be closed already by a failed commit; removal is what matters
	if err := os.Remove(f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sinks: remove temporary file of %s: %w", o.key, err)
	}
	return nil
}

func (o *localObject) closedErr() error {
	return fmt.Errorf("sinks: %s is closed (%w): %w", o.key, o.err, fs.ErrClosed)
}

// syncDir fsyncs a directory. File systems that cannot (EINVAL, ENOTSUP)
// are let pass, as restic does: there is nothing more to be done there.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		err = nil
	}
	return errors.Join(err, d.Close())
}
