package sinks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// storeUnderTest is a Store with what the conformance suite needs beyond
// the Store interface.
type storeUnderTest struct {
	Store
	read func(key string) ([]byte, error)
	// partSize is the unit the store sends data in (S3's part size), so
	// that the suite can write objects of many parts.
	partSize int
	// breakBackend makes every later operation of the store fail, as a
	// lost disk or server would.
	breakBackend func()
}

// testStore is the conformance suite every Store runs (LocalStore and
// S3Store alike): visibility only after Close, Abort and cancellation
// leave nothing, objects of many parts, concurrent writers, errors from
// Close, Remove and List semantics.
func testStore(t *testing.T, newStore func(t *testing.T) storeUnderTest) {
	ctx := context.Background()

	create := func(t *testing.T, s Store, ctx context.Context, key string) Object {
		t.Helper()
		obj, err := s.Create(ctx, key, "")
		if err != nil {
			t.Fatal(err)
		}
		return obj
	}
	write := func(t *testing.T, obj Object, data string) {
		t.Helper()
		if _, err := obj.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	list := func(t *testing.T, s Store, prefix string) []string {
		t.Helper()
		keys, err := s.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}

	t.Run("visible only after Close", func(t *testing.T) {
		s := newStore(t)
		obj := create(t, s, ctx, "a/b/users.csv")
		write(t, obj, "hello, ")
		write(t, obj, "world")
		if keys := list(t, s, "a/b"); len(keys) != 0 {
			t.Errorf("before Close: List = %v, want nothing", keys)
		}
		if err := obj.Close(); err != nil {
			t.Fatal(err)
		}
		if keys := list(t, s, "a/b"); !reflect.DeepEqual(keys, []string{"a/b/users.csv"}) {
			t.Errorf("after Close: List = %v", keys)
		}
		if data, err := s.read("a/b/users.csv"); err != nil || string(data) != "hello, world" {
			t.Errorf("read = %q, %v", data, err)
		}
		if err := obj.Abort(); err != nil {
			t.Errorf("Abort after Close: %v", err)
		}
		if keys := list(t, s, "a/b"); len(keys) != 1 {
			t.Errorf("Abort after Close removed the object: %v", keys)
		}
		if err := obj.Close(); err == nil {
			t.Error("second Close succeeded")
		}
	})

	t.Run("Abort leaves nothing", func(t *testing.T) {
		s := newStore(t)
		obj := create(t, s, ctx, "x/users.jsonl")
		write(t, obj, "data")
		if err := obj.Abort(); err != nil {
			t.Fatal(err)
		}
		if err := obj.Abort(); err != nil {
			t.Errorf("second Abort: %v", err)
		}
		if _, err := obj.Write([]byte("more")); err == nil {
			t.Error("Write after Abort succeeded")
		}
		if err := obj.Close(); err == nil {
			t.Error("Close after Abort succeeded")
		}
		if keys := list(t, s, "x"); len(keys) != 0 {
			t.Errorf("List = %v, want nothing", keys)
		}
	})

	t.Run("cancelled context leaves nothing", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		obj := create(t, s, cctx, "c/users.parquet")
		write(t, obj, "part")
		cancel()
		if _, err := obj.Write([]byte("more")); !errors.Is(err, context.Canceled) {
			t.Errorf("Write after cancel = %v, want context.Canceled", err)
		}
		if err := obj.Close(); !errors.Is(err, context.Canceled) {
			t.Errorf("Close after cancel = %v, want context.Canceled", err)
		}
		if keys := list(t, s, "c"); len(keys) != 0 {
			t.Errorf("List = %v, want nothing", keys)
		}
		if _, err := s.Create(cctx, "c/other", ""); !errors.Is(err, context.Canceled) {
			t.Errorf("Create with a cancelled context = %v", err)
		}
	})

	t.Run("Close replaces an existing object", func(t *testing.T) {
		s := newStore(t)
		for _, data := range []string{"first", "second"} {
			obj := create(t, s, ctx, "r/users.csv")
			write(t, obj, data)
			if err := obj.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if data, err := s.read("r/users.csv"); err != nil || string(data) != "second" {
			t.Errorf("read = %q, %v", data, err)
		}
	})

	t.Run("objects of many parts", func(t *testing.T) {
		s := newStore(t)
		want := pseudoRandomBytes(3*s.partSize+12345, 1)
		obj := create(t, s, ctx, "big/users.jsonl")
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1<<20+7) // writes that straddle part boundaries
			write(t, obj, string(rest[:n]))
			rest = rest[n:]
		}
		if keys := list(t, s, "big"); len(keys) != 0 {
			t.Errorf("before Close: List = %v, want nothing", keys)
		}
		if err := obj.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := s.read("big/users.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("read back %d bytes that differ from the %d written", len(got), len(want))
		}
	})

	t.Run("concurrent writers", func(t *testing.T) {
		s := newStore(t)
		const writers = 4
		var g errgroup.Group
		for i := range writers {
			g.Go(func() error {
				obj, err := s.Create(ctx, fmt.Sprintf("many/w%d", i), "")
				if err != nil {
					return err
				}
				data := pseudoRandomBytes(s.partSize+i*1000, byte(i))
				for rest := data; len(rest) > 0; rest = rest[min(len(rest), 64<<10):] {
					if _, err := obj.Write(rest[:min(len(rest), 64<<10)]); err != nil {
						return errors.Join(err, obj.Abort())
					}
				}
				return obj.Close()
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		keys := list(t, s, "many")
		if len(keys) != writers {
			t.Fatalf("List = %v, want %d objects", keys, writers)
		}
		for i := range writers {
			got, err := s.read(fmt.Sprintf("many/w%d", i))
			if err != nil || !bytes.Equal(got, pseudoRandomBytes(s.partSize+i*1000, byte(i))) {
				t.Errorf("object w%d: %d bytes, %v: not what its writer wrote", i, len(got), err)
			}
		}
	})

	t.Run("Close reports a failing backend and commits nothing", func(t *testing.T) {
		s := newStore(t)
		obj := create(t, s, ctx, "f/users.csv")
		write(t, obj, string(pseudoRandomBytes(s.partSize+10, 3)))
		s.breakBackend()
		if err := obj.Close(); err == nil {
			t.Fatal("Close succeeded with the backend gone")
		}
		if err := obj.Abort(); err != nil {
			t.Errorf("Abort after a failed Close: %v", err)
		}
		if err := obj.Close(); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("Close after a failed Close = %v, want fs.ErrClosed", err)
		}
	})

	t.Run("List and Remove", func(t *testing.T) {
		s := newStore(t)
		for _, key := range []string{"p/b", "p/a", "p/c/deep", "q/x", "pp"} {
			obj := create(t, s, ctx, key)
			if err := obj.Close(); err != nil {
				t.Fatal(err)
			}
		}
		pending := create(t, s, ctx, "p/pending")
		defer pending.Abort()
		if keys := list(t, s, "p"); !reflect.DeepEqual(keys, []string{"p/a", "p/b"}) {
			t.Errorf("List(p) = %v, want [p/a p/b]", keys)
		}
		if keys := list(t, s, "missing/folder"); len(keys) != 0 {
			t.Errorf("List(missing) = %v", keys)
		}
		if err := s.Remove(ctx, "p/a"); err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(ctx, "p/a"); err != nil {
			t.Errorf("removing a missing key: %v", err)
		}
		if keys := list(t, s, "p"); !reflect.DeepEqual(keys, []string{"p/b"}) {
			t.Errorf("after Remove, List(p) = %v", keys)
		}
	})
}

func newLocalStoreUnderTest(t *testing.T) storeUnderTest {
	root := t.TempDir()
	s := NewLocalStore(root)
	return storeUnderTest{
		Store: s,
		read: func(key string) ([]byte, error) {
			return os.ReadFile(filepath.Join(root, filepath.FromSlash(key)))
		},
		partSize: writeBufferSize,
		// The directories go: the rename that commits has nowhere to go.
		breakBackend: func() {
			if err := os.RemoveAll(root); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// pseudoRandomBytes returns n bytes that differ with seed and do not
// compress or repeat at part boundaries.
func pseudoRandomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func TestLocalStore(t *testing.T) {
	testStore(t, newLocalStoreUnderTest)
}

// filesUnder lists every file under root, hidden ones included, as
// slash-separated paths.
func filesUnder(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestLocalStoreTempFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := NewLocalStore(root)

	obj, err := s.Create(ctx, "job/users.parquet", "")
	if err != nil {
		t.Fatal(err)
	}
	files := filesUnder(t, root)
	if len(files) != 1 || !strings.HasPrefix(files[0], "job/.users.parquet.tmp-") {
		t.Fatalf("while writing, files = %v, want one hidden temporary file beside the final path", files)
	}
	if err := obj.Abort(); err != nil {
		t.Fatal(err)
	}
	if files := filesUnder(t, root); len(files) != 0 {
		t.Errorf("after Abort, files = %v", files)
	}

	cctx, cancel := context.WithCancel(ctx)
	obj, err = s.Create(cctx, "job/users.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := obj.Close(); err == nil {
		t.Fatal("Close with a cancelled context succeeded")
	}
	if files := filesUnder(t, root); len(files) != 0 {
		t.Errorf("after a cancelled Close, files = %v", files)
	}

	obj, err = s.Create(ctx, "job/users.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := obj.Close(); err != nil {
		t.Fatal(err)
	}
	if files := filesUnder(t, root); !reflect.DeepEqual(files, []string{"job/users.csv"}) {
		t.Errorf("after Close, files = %v", files)
	}
}

func TestLocalStoreRejectsKeysOutsideRoot(t *testing.T) {
	ctx := context.Background()
	s := NewLocalStore(t.TempDir())
	for _, key := range []string{"../escape", "a/../../escape", "/abs/path", "", "."} {
		if obj, err := s.Create(ctx, key, ""); err == nil {
			obj.Abort()
			t.Errorf("Create(%q) succeeded", key)
		}
	}
	if err := s.Remove(ctx, "../x"); err == nil {
		t.Error("Remove(../x) succeeded")
	}
	if _, err := s.List(ctx, "../"); err == nil {
		t.Error("List(../) succeeded")
	}
}

func TestLocalStoreURI(t *testing.T) {
	root := t.TempDir()
	s := NewLocalStore(root)
	want := "file://" + filepath.ToSlash(root) + "/job/dt=2024-01-01/users%20x.csv"
	if got := s.URI("job/dt=2024-01-01/users x.csv"); got != want {
		t.Errorf("URI = %s, want %s", got, want)
	}
	if got := s.URI(""); got != "file://"+filepath.ToSlash(root) {
		t.Errorf("URI(\"\") = %s", got)
	}

	// A relative root is made absolute at construction.
	t.Chdir(root)
	rel := NewLocalStore("out")
	if got := rel.URI("k"); got != "file://"+filepath.ToSlash(root)+"/out/k" {
		t.Errorf("relative root: URI = %s", got)
	}
}

// TestLocalStoreRemoveTemporary: a rerun clears what a killed process's
// writes left in a folder, and nothing else: not a write still in
// progress, not a committed file, not other folders.
func TestLocalStoreRemoveTemporary(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := NewLocalStore(root)

	for _, key := range []string{"job/users.csv", "job/.hidden", "job/sub/x", "other/y"} {
		obj, err := s.Create(ctx, key, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := obj.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// What a killed process leaves: temporary files no one will close.
	hour := time.Now().Add(-time.Hour)
	for _, key := range []string{"job/users.jsonl", "job/users.parquet", "job/sub/users.csv", "other/users.csv"} {
		if _, err := s.Create(ctx, key, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range filesUnder(t, root) {
		if strings.Contains(f, tempMarker) {
			if err := os.Chtimes(filepath.Join(root, filepath.FromSlash(f)), hour, hour); err != nil {
				t.Fatal(err)
			}
		}
	}
	inFlight, err := s.Create(ctx, "job/users-00002.jsonl", "")
	if err != nil {
		t.Fatal(err)
	}

	if err := s.RemoveTemporary(ctx, "job", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	var temps []string
	for _, f := range filesUnder(t, root) {
		if strings.Contains(f, tempMarker) {
			temps = append(temps, f)
		} else if f != "job/users.csv" && f != "job/.hidden" && f != "job/sub/x" && f != "other/y" {
			t.Errorf("unexpected file %s", f)
		}
	}
	if len(temps) != 3 || !strings.HasPrefix(temps[0], "job/.users-00002.jsonl.tmp-") ||
		!strings.HasPrefix(temps[1], "job/sub/.users.csv.tmp-") || !strings.HasPrefix(temps[2], "other/.users.csv.tmp-") {
		t.Errorf("temporary files left: %v; want the write in progress and those of other folders", temps)
	}
	if keys, _ := s.List(ctx, "job"); !reflect.DeepEqual(keys, []string{"job/.hidden", "job/users.csv"}) {
		t.Errorf("List(job) = %v", keys)
	}
	if err := inFlight.Close(); err != nil {
		t.Errorf("the write in progress cannot commit: %v", err)
	}
	if err := s.RemoveTemporary(ctx, "missing", time.Now()); err != nil {
		t.Errorf("a missing folder: %v", err)
	}
}
