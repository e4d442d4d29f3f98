package sinks

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"sync"
	"testing"
)

// versionedStores are the two implementations, each on a real backend:
// a temporary directory and a MinIO bucket.
func versionedStores(t *testing.T) map[string]Versioned {
	s3, _ := newS3Store(t, S3Options{})
	return map[string]Versioned{"local": NewLocalStore(t.TempDir()), "s3": s3}
}

func TestVersionedCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	for name, s := range versionedStores(t) {
		t.Run(name, func(t *testing.T) {
			if _, _, err := s.Get(ctx, "state/a.json"); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Get of a missing key: %v, want fs.ErrNotExist", err)
			}
			if _, err := s.Put(ctx, "state/a.json", []byte("1"), "some-version"); !errors.Is(err, ErrVersionChanged) {
				t.Fatalf("Put If-Match on a missing key: %v, want ErrVersionChanged", err)
			}
			v1, err := s.Put(ctx, "state/a.json", []byte("1"), "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Put(ctx, "state/a.json", []byte("x"), ""); !errors.Is(err, ErrVersionChanged) {
				t.Fatalf("second create: %v, want ErrVersionChanged", err)
			}
			body, got, err := s.Get(ctx, "state/a.json")
			if err != nil || string(body) != "1" || got != v1 {
				t.Fatalf("Get = %q, %q, %v; want 1, %q", body, got, err, v1)
			}
			v2, err := s.Put(ctx, "state/a.json", []byte("2"), v1)
			if err != nil {
				t.Fatal(err)
			}
			if v2 == v1 {
				t.Fatalf("the version did not change: %q", v2)
			}
			if _, err := s.Put(ctx, "state/a.json", []byte("3"), v1); !errors.Is(err, ErrVersionChanged) {
				t.Fatalf("Put with a stale version: %v, want ErrVersionChanged", err)
			}
			if body, _, _ := s.Get(ctx, "state/a.json"); string(body) != "2" {
				t.Fatalf("a refused Put changed the object to %q", body)
			}
		})
	}
}

// Writers that read, add one and write back, retrying when refused, lose
// no increment: a lost update would show as a lower count.
func TestVersionedConcurrentWritersLoseNoUpdate(t *testing.T) {
	ctx := context.Background()
	const writers, each = 6, 8
	for name, s := range versionedStores(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Put(ctx, "n", []byte("0"), ""); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for range writers {
				wg.Go(func() {
					for done := 0; done < each; {
						body, v, err := s.Get(ctx, "n")
						if err != nil {
							errs <- err
							return
						}
						n, _ := strconv.Atoi(string(body))
						_, err = s.Put(ctx, "n", []byte(strconv.Itoa(n+1)), v)
						switch {
						case errors.Is(err, ErrVersionChanged):
						case err != nil:
							errs <- err
							return
						default:
							done++
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			body, _, err := s.Get(ctx, "n")
			if err != nil || string(body) != strconv.Itoa(writers*each) {
				t.Fatalf("count = %q, %v; want %d", body, err, writers*each)
			}
		})
	}
}
