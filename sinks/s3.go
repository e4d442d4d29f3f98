package sinks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 limits on multipart uploads.
const (
	MinPartSize    = 5 << 20
	MaxPartSize    = 5 << 30
	maxUploadParts = 10_000
)

// Defaults for S3Options fields left zero. A part is the memory one file
// being written holds, and one upload in flight, so the default is S3's
// least, as the AWS SDK for Go's upload manager and rclone take: a run of
// three files at the default concurrency holds at most 7 parts, 35 MiB
// (bench/s3-memory.sh, a million users: 152-158 MiB with 16 MiB parts,
// 124-126 with 8, 117-121 with 5), and a file may still reach 48 GiB,
// some 90 million rows of JSONL.
const (
	DefaultPartSize          = MinPartSize
	DefaultUploadConcurrency = 4
	// cleanupTimeout bounds an abort or delete run after the job's context
	// is done: it must not hang a cancelled run for long.
	cleanupTimeout = 30 * time.Second
)

// S3Options configures an S3Store.
type S3Options struct {
	Bucket string
	Prefix string // keys are written under it; "" for the bucket's root
	// Region, when empty, comes from AWS's own chain (AWS_REGION, the
	// profile), then FallbackRegion.
	Region, FallbackRegion string
	Endpoint               string // for S3-compatible stores; "" for AWS
	ForcePathStyle         bool
	SSE                    string // "", AES256, aws:kms or aws:kms:dsse
	KMSKeyID               string // with aws:kms(:dsse); "" for the account's default key
	StorageClass           string // "" for the bucket's default
	Tags                   map[string]string
	// PartSize is the size of each multipart part, and so the memory one
	// file being written holds.
	PartSize int64
	// UploadConcurrency bounds the parts uploading at once across every
	// object of the store; each holds a part in memory.
	UploadConcurrency int
}

// S3Store keeps objects in an S3 bucket under a prefix.
//
// An object is streamed while it is written: each full part is uploaded
// as a part of a multipart upload, which S3 makes visible only when the
// upload is completed by Close. A file smaller than one part is sent by
// one PutObject at Close, atomic too. Abort, a cancelled context or any
// failure aborts the multipart upload with a fresh context, so nothing is
// left at the key and no parts are left to pay for. Memory is about one
// part per object being written plus one per upload in flight.
type S3Store struct {
	client  *s3.Client
	opts    S3Options
	tagging *string
	uploads chan struct{} // a slot per part upload in flight
	parts   *partPool
}

// NewS3Store returns a store for opts.Bucket. Credentials come from AWS's
// default chain (environment, shared profiles, SSO, web identity, IMDS),
// resolved at the first request: nothing here touches the network.
func NewS3Store(ctx context.Context, opts S3Options) (*S3Store, error) {
	if opts.PartSize == 0 {
		opts.PartSize = DefaultPartSize
	}
	if opts.PartSize < MinPartSize || opts.PartSize > MaxPartSize {
		return nil, fmt.Errorf("sinks: s3 part size %d is outside S3's limits of 5 MiB to 5 GiB", opts.PartSize)
	}
	if opts.UploadConcurrency <= 0 {
		opts.UploadConcurrency = DefaultUploadConcurrency
	}
	opts.Prefix = strings.Trim(opts.Prefix, "/")
	var loadOpts []func(*config.LoadOptions) error
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("sinks: s3://%s: load AWS configuration: %w", opts.Bucket, err)
	}
	if cfg.Region == "" {
		cfg.Region = opts.FallbackRegion
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.ForcePathStyle
	})
	s := &S3Store{client: client, opts: opts, uploads: make(chan struct{}, opts.UploadConcurrency), parts: newPartPool(int(opts.PartSize))}
	// A store has no Close, and a test may open many: the parts it kept
	// are freed once nothing can use them.
	runtime.AddCleanup(s, func(p *partPool) { p.release() }, s.parts)
	if len(opts.Tags) > 0 {
		q := url.Values{}
		for k, v := range opts.Tags {
			q.Set(k, v)
		}
		s.tagging = aws.String(q.Encode()) // sorted by key
	}
	return s, nil
}

// fullKey maps a store key to the bucket's key, refusing keys that are
// not clean relative paths, as LocalStore does.
func (s *S3Store) fullKey(key string) (string, error) {
	if key == "" || key == "." || path.IsAbs(key) || path.Clean(key) != key || key == ".." || strings.HasPrefix(key, "../") {
		return "", fmt.Errorf("sinks: invalid key %q", key)
	}
	if s.opts.Prefix == "" {
		return key, nil
	}
	return s.opts.Prefix + "/" + key, nil
}

// URI returns s3://bucket/prefix/key.
func (s *S3Store) URI(key string) string {
	p := strings.Trim(path.Join(s.opts.Prefix, key), "/")
	if p == "" || p == "." {
		return "s3://" + s.opts.Bucket
	}
	return "s3://" + s.opts.Bucket + "/" + p
}

// Create starts the object key. Nothing is sent until a part is full or
// the object is closed.
func (s *S3Store) Create(ctx context.Context, key, contentType string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sinks: create %s: %w", s.URI(key), err)
	}
	full, err := s.fullKey(key)
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithCancel(ctx)
	return &s3Object{store: s, ctx: octx, cancel: cancel, key: full, uri: s.URI(key), contentType: contentType}, nil
}

// Remove deletes key; S3 does not mind a missing key.
func (s *S3Store) Remove(ctx context.Context, key string) error {
	full, err := s.fullKey(key)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.opts.Bucket, Key: &full})
	if err != nil {
		return fmt.Errorf("sinks: remove %s: %w", s.URI(key), err)
	}
	return nil
}

// List returns the keys directly under the folder prefix, sorted.
// Multipart uploads in progress are not objects and are not listed.
func (s *S3Store) List(ctx context.Context, prefix string) ([]string, error) {
	names, err := s.ListAll(ctx, prefix)
	return objectKeys(prefix, names), err
}

// s3Object is an object being written: the part filling up, and the
// multipart upload once the first part is full.
type s3Object struct {
	store       *S3Store
	ctx         context.Context // cancelled by Abort, to stop parts uploading
	cancel      context.CancelFunc
	key         string // the bucket's key
	uri         string
	contentType string

	buf      []byte // the part filling up
	uploadID string // "" until the first part is full
	nextPart int32
	inFlight sync.WaitGroup

	mu    sync.Mutex
	parts []types.CompletedPart
	err   error // the first part upload that failed

	done   bool  // committed or discarded
	reason error // why it is done
}

func (o *s3Object) Write(p []byte) (int, error) {
	if o.done {
		return 0, o.closedErr()
	}
	if err := o.ctx.Err(); err != nil {
		return 0, fmt.Errorf("sinks: write %s: %w", o.uri, err)
	}
	if err := o.partErr(); err != nil {
		return 0, err
	}
	size := int(o.store.opts.PartSize)
	written := 0
	for len(p) > 0 {
		if len(o.buf) == size {
			if err := o.sendPart(); err != nil {
				return written, err
			}
		}
		if len(o.buf) == cap(o.buf) {
			o.grow()
		}
		n := min(len(p), cap(o.buf)-len(o.buf))
		o.buf = append(o.buf, p[:n]...)
		p = p[n:]
		written += n
	}
	return written, nil
}

// grow makes room in the part filling up. A first part starts small on
// the heap and takes a whole part buffer only past smallPartLimit; later
// parts take one at once.
func (o *s3Object) grow() {
	if o.nextPart == 0 && cap(o.buf) < smallPartLimit {
		grown := make([]byte, len(o.buf), min(max(2*cap(o.buf), 64<<10), smallPartLimit))
		copy(grown, o.buf)
		o.buf = grown
		return
	}
	o.buf = append(o.store.parts.get(), o.buf...)
}

// sendPart uploads the full part in the background, starting the
// multipart upload first if this is the first part. It waits for a free
// upload slot, which bounds the memory of parts in flight.
func (o *s3Object) sendPart() error {
	s := o.store
	if o.uploadID == "" {
		out, err := s.client.CreateMultipartUpload(o.ctx, &s3.CreateMultipartUploadInput{
			Bucket: &s.opts.Bucket, Key: &o.key, ContentType: o.contentTypePtr(),
			ChecksumAlgorithm:    types.ChecksumAlgorithmCrc32c,
			ServerSideEncryption: types.ServerSideEncryption(s.opts.SSE), SSEKMSKeyId: o.kmsKeyID(),
			StorageClass: types.StorageClass(s.opts.StorageClass), Tagging: s.tagging,
		})
		if err != nil {
			return fmt.Errorf("sinks: start multipart upload of %s: %w", o.uri, err)
		}
		o.uploadID = aws.ToString(out.UploadId)
	}
	if o.nextPart == maxUploadParts {
		return fmt.Errorf("sinks: %s needs more than %d parts of %d bytes: raise s3.part_size or lower max_rows_per_file", o.uri, maxUploadParts, s.opts.PartSize)
	}
	select {
	case s.uploads <- struct{}{}:
	case <-o.ctx.Done():
		return fmt.Errorf("sinks: write %s: %w", o.uri, o.ctx.Err())
	}
	o.nextPart++
	part, body := o.nextPart, o.buf
	o.buf = nil
	o.inFlight.Go(func() {
		defer func() { <-s.uploads }()
		err := o.uploadPart(part, body)
		s.parts.put(body)
		if err != nil {
			o.mu.Lock()
			if o.err == nil {
				o.err = err
			}
			o.mu.Unlock()
			o.cancel() // the other parts are wasted work now
		}
	})
	return nil
}

func (o *s3Object) uploadPart(part int32, body []byte) error {
	s := o.store
	out, err := s.client.UploadPart(o.ctx, &s3.UploadPartInput{
		Bucket: &s.opts.Bucket, Key: &o.key, UploadId: &o.uploadID, PartNumber: aws.Int32(part),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
	})
	if err != nil {
		return fmt.Errorf("sinks: upload part %d of %s: %w", part, o.uri, err)
	}
	o.mu.Lock()
	o.parts = append(o.parts, types.CompletedPart{PartNumber: aws.Int32(part), ETag: out.ETag, ChecksumCRC32C: out.ChecksumCRC32C})
	o.mu.Unlock()
	return nil
}

func (o *s3Object) partErr() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// Close commits the object: one PutObject for a file smaller than a part,
// else the last part and CompleteMultipartUpload. On any failure the
// upload is aborted and nothing appears at the key.
func (o *s3Object) Close() error {
	if o.done {
		return o.closedErr()
	}
	err := o.commit()
	if err != nil {
		err = errors.Join(err, o.discard(err))
		return err
	}
	o.done, o.reason = true, errors.New("committed")
	o.cancel()
	return nil
}

func (o *s3Object) commit() error {
	s := o.store
	if err := o.ctx.Err(); err != nil {
		return fmt.Errorf("sinks: %s not committed: %w", o.uri, err)
	}
	if o.uploadID == "" {
		_, err := s.client.PutObject(o.ctx, &s3.PutObjectInput{
			Bucket: &s.opts.Bucket, Key: &o.key, ContentType: o.contentTypePtr(),
			Body: bytes.NewReader(o.buf), ContentLength: aws.Int64(int64(len(o.buf))),
			ChecksumAlgorithm:    types.ChecksumAlgorithmCrc32c,
			ServerSideEncryption: types.ServerSideEncryption(s.opts.SSE), SSEKMSKeyId: o.kmsKeyID(),
			StorageClass: types.StorageClass(s.opts.StorageClass), Tagging: s.tagging,
		})
		s.parts.put(o.buf)
		o.buf = nil
		if err != nil {
			return fmt.Errorf("sinks: put %s: %w", o.uri, err)
		}
		return nil
	}
	if len(o.buf) > 0 {
		if err := o.sendPart(); err != nil {
			return err
		}
	}
	o.inFlight.Wait()
	if err := o.partErr(); err != nil {
		return err
	}
	parts := slices.SortedFunc(slices.Values(o.parts), func(a, b types.CompletedPart) int {
		return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber))
	})
	_, err := s.client.CompleteMultipartUpload(o.ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.opts.Bucket, Key: &o.key, UploadId: &o.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return fmt.Errorf("sinks: complete multipart upload of %s: %w", o.uri, o.completeFailed(err))
	}
	return nil
}

// completeFailed cleans up after a CompleteMultipartUpload that returned
// an error, which the server may have carried out all the same (a reply
// lost to a cancelled context or a dropped connection): the upload is
// aborted and the key deleted, so that a failed Close leaves nothing. An
// object of an earlier run at the key goes too, as a failed job leaves no
// data object. Whether the upload completed cannot be told apart
// reliably: AWS answers an abort of a completed upload with NoSuchUpload,
// MinIO with success.
func (o *s3Object) completeFailed(err error) error {
	ctx, cancel := o.cleanupContext()
	defer cancel()
	s := o.store
	errs := []error{err}
	if abortErr := o.abortUpload(ctx); abortErr != nil {
		errs = append(errs, abortErr)
	}
	if _, delErr := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.opts.Bucket, Key: &o.key}); delErr != nil {
		errs = append(errs, fmt.Errorf("the upload may have completed, and deleting %s failed: %w", o.uri, delErr))
	}
	return errors.Join(errs...)
}

// Abort discards the object; after Close, or a second time, it does
// nothing.
func (o *s3Object) Abort() error {
	if o.done {
		return nil
	}
	return o.discard(errors.New("aborted"))
}

// discard stops the parts in flight and aborts the multipart upload, with
// a context of its own: the object's is usually cancelled by now.
func (o *s3Object) discard(why error) error {
	o.done, o.reason = true, why
	o.cancel()
	o.inFlight.Wait()
	o.store.parts.put(o.buf)
	o.buf = nil
	ctx, cancel := o.cleanupContext()
	defer cancel()
	return o.abortUpload(ctx)
}

// abortUpload aborts the multipart upload, if one was started and is not
// aborted yet; an upload already gone is not an error.
func (o *s3Object) abortUpload(ctx context.Context) error {
	if o.uploadID == "" {
		return nil
	}
	s := o.store
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.opts.Bucket, Key: &o.key, UploadId: &o.uploadID})
	var gone *types.NoSuchUpload
	if err != nil && !errors.As(err, &gone) {
		return fmt.Errorf("sinks: abort multipart upload %s of %s (a bucket lifecycle rule with AbortIncompleteMultipartUpload clears it): %w", o.uploadID, o.uri, err)
	}
	o.uploadID = ""
	return nil
}

// cleanupContext is for aborting and deleting after a failure: the
// object's context is usually cancelled by then, and the clean-up must
// still run, within a bound.
func (o *s3Object) cleanupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(o.ctx), cleanupTimeout)
}

func (o *s3Object) closedErr() error {
	return fmt.Errorf("sinks: %s is closed (%w): %w", o.uri, o.reason, fs.ErrClosed)
}

func (o *s3Object) contentTypePtr() *string {
	if o.contentType == "" {
		return nil
	}
	return &o.contentType
}

func (o *s3Object) kmsKeyID() *string {
	if o.store.opts.KMSKeyID == "" {
		return nil
	}
	return &o.store.opts.KMSKeyID
}
