package sinks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/gofrs/flock"
)

// ErrVersionChanged is a conditional write refused because the object is
// no longer at the version the writer read: someone else wrote it.
var ErrVersionChanged = errors.New("changed since it was read")

// Versioned keeps small objects that writers update by compare-and-swap:
// incremental state and the leases that guard it. Both stores implement
// it: S3 with conditional writes (If-Match, If-None-Match), a local
// directory with a lock file around read, compare and rename.
type Versioned interface {
	// Get returns key's content and its version, or an error wrapping
	// fs.ErrNotExist when there is no such object.
	Get(ctx context.Context, key string) (body []byte, version string, err error)
	// Put replaces key with body, atomically, only if key is still at
	// version (""; only if key does not exist). It returns the new version,
	// or an error wrapping ErrVersionChanged when the condition fails.
	Put(ctx context.Context, key string, body []byte, version string) (string, error)
}

// maxVersionedBytes bounds an object Get reads into memory.
const maxVersionedBytes = 1 << 30

// Get reads key; its version is the SHA-256 of its content.
func (s *LocalStore) Get(ctx context.Context, key string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	p, err := s.path(key)
	if err != nil {
		return nil, "", err
	}
	body, err := os.ReadFile(p)
	if err != nil {
		return nil, "", fmt.Errorf("sinks: read %s: %w", s.URI(key), err)
	}
	return body, contentVersion(body), nil
}

// Put compares and swaps under an exclusive lock on a file beside key
// (flock, which the kernel releases when the holder dies), then writes as
// Create does: a temporary file, fsynced, renamed over key.
func (s *LocalStore) Put(ctx context.Context, key string, body []byte, version string) (string, error) {
	p, err := s.path(key)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("sinks: put %s: %w", s.URI(key), err)
	}
	lock := flock.New(p + ".lock")
	if _, err := lock.TryLockContext(ctx, lockRetryDelay); err != nil {
		return "", fmt.Errorf("sinks: put %s: lock: %w", s.URI(key), err)
	}
	defer lock.Unlock()
	current, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if version != "" {
			return "", fmt.Errorf("sinks: put %s: it was removed: %w", s.URI(key), ErrVersionChanged)
		}
	case err != nil:
		return "", fmt.Errorf("sinks: put %s: %w", s.URI(key), err)
	case version == "":
		return "", fmt.Errorf("sinks: put %s: it exists already: %w", s.URI(key), ErrVersionChanged)
	case contentVersion(current) != version:
		return "", fmt.Errorf("sinks: put %s: %w", s.URI(key), ErrVersionChanged)
	}
	obj, err := s.Create(ctx, key, "")
	if err != nil {
		return "", err
	}
	if _, err := obj.Write(body); err != nil {
		return "", errors.Join(err, obj.Abort())
	}
	if err := obj.Close(); err != nil {
		return "", err
	}
	return contentVersion(body), nil
}

// lockRetryDelay is how often a Put waiting for another's lock tries again;
// the lock is held only for a read and a rename.
const lockRetryDelay = 10 * time.Millisecond

func contentVersion(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Get reads key; its version is the object's ETag.
func (s *S3Store) Get(ctx context.Context, key string) ([]byte, string, error) {
	full, err := s.fullKey(key)
	if err != nil {
		return nil, "", err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.opts.Bucket, Key: &full})
	if err != nil {
		if _, ok := errors.AsType[*types.NoSuchKey](err); ok {
			err = errors.Join(err, fs.ErrNotExist)
		}
		return nil, "", fmt.Errorf("sinks: get %s: %w", s.URI(key), err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, maxVersionedBytes+1))
	switch {
	case err != nil:
		return nil, "", fmt.Errorf("sinks: get %s: %w", s.URI(key), err)
	case len(body) > maxVersionedBytes:
		return nil, "", fmt.Errorf("sinks: get %s: larger than %d bytes", s.URI(key), maxVersionedBytes)
	}
	return body, aws.ToString(out.ETag), nil
}

// Put is a PutObject with If-Match: version, or If-None-Match: * for a
// new object, which S3 and MinIO both honour: of two writers of one
// version, one gets 412 Precondition Failed (or 409 when they race).
func (s *S3Store) Put(ctx context.Context, key string, body []byte, version string) (string, error) {
	full, err := s.fullKey(key)
	if err != nil {
		return "", err
	}
	in := &s3.PutObjectInput{
		Bucket: &s.opts.Bucket, Key: &full, ContentType: aws.String("application/json"),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ChecksumAlgorithm:    types.ChecksumAlgorithmCrc32c,
		ServerSideEncryption: types.ServerSideEncryption(s.opts.SSE),
		Tagging:              s.tagging,
	}
	if s.opts.KMSKeyID != "" {
		in.SSEKMSKeyId = &s.opts.KMSKeyID
	}
	if version == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(version)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		if isPreconditionFailed(err, version != "") {
			err = errors.Join(err, ErrVersionChanged)
		}
		return "", fmt.Errorf("sinks: put %s: %w", s.URI(key), err)
	}
	return aws.ToString(out.ETag), nil
}

// isPreconditionFailed reports S3's refusals of a conditional write: 412,
// 409 ConditionalRequestConflict when two writes race, and 404 for an
// If-Match on an object that was removed.
func isPreconditionFailed(err error, ifMatch bool) bool {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusPreconditionFailed, http.StatusConflict:
			return true
		}
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "PreconditionFailed", "ConditionalRequestConflict":
		return true
	case "NoSuchKey": // not NoSuchBucket, also a 404
		return ifMatch
	}
	return false
}
