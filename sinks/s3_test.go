package sinks

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/saas-export/export/internal/miniotest"
)

const testPrefix = "exports/team"

// newS3Store starts a MinIO server of its own with a new bucket and
// returns a store on it with the smallest part size S3 allows.
func newS3Store(t *testing.T, opts S3Options) (*S3Store, *miniotest.Server) {
	t.Helper()
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	if opts.Bucket == "" {
		opts.Bucket = srv.NewBucket(t)
	}
	if opts.Endpoint == "" {
		opts.Endpoint = srv.Endpoint
	}
	opts.ForcePathStyle = true
	if opts.PartSize == 0 {
		opts.PartSize = MinPartSize
	}
	opts.Prefix = testPrefix
	s, err := NewS3Store(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, srv
}

func TestS3Store(t *testing.T) {
	testStore(t, func(t *testing.T) storeUnderTest {
		s, srv := newS3Store(t, S3Options{})
		client := srv.Client(t)
		return storeUnderTest{
			Store: s,
			read: func(key string) ([]byte, error) {
				out, err := client.GetObject(context.Background(), &s3.GetObjectInput{
					Bucket: &s.opts.Bucket, Key: aws.String(testPrefix + "/" + key),
				})
				if err != nil {
					return nil, err
				}
				defer out.Body.Close()
				return io.ReadAll(out.Body)
			},
			partSize:     MinPartSize,
			breakBackend: srv.Stop,
		}
	})
}

func TestS3StoreURI(t *testing.T) {
	for _, tc := range []struct{ prefix, key, want string }{
		{"", "a/users.csv", "s3://bkt/a/users.csv"},
		{"p/q", "a/users.csv", "s3://bkt/p/q/a/users.csv"},
		{"/p/q/", "a", "s3://bkt/p/q/a"},
		{"p", "", "s3://bkt/p"},
		{"", "", "s3://bkt"},
	} {
		s, err := NewS3Store(context.Background(), S3Options{Bucket: "bkt", Prefix: tc.prefix, FallbackRegion: "eu-west-1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.URI(tc.key); got != tc.want {
			t.Errorf("prefix %q: URI(%q) = %s, want %s", tc.prefix, tc.key, got, tc.want)
		}
	}
}

func TestS3StoreRejectsBadKeysAndPartSizes(t *testing.T) {
	ctx := context.Background()
	s, err := NewS3Store(ctx, S3Options{Bucket: "bkt", FallbackRegion: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../escape", "a/../../escape", "/abs/path", "", ".", "a//b", "a/"} {
		if obj, err := s.Create(ctx, key, ""); err == nil {
			obj.Abort()
			t.Errorf("Create(%q) succeeded", key)
		}
	}
	for _, size := range []int64{MinPartSize - 1, MaxPartSize + 1} {
		if _, err := NewS3Store(ctx, S3Options{Bucket: "bkt", PartSize: size}); err == nil {
			t.Errorf("part size %d accepted", size)
		}
	}
}

// TestS3StoreStreamsParts shows that a file is uploaded part by part as
// it is written, not held whole until Close, and that the upload stays
// invisible, then leaves nothing pending once committed or aborted.
func TestS3StoreStreamsParts(t *testing.T) {
	ctx := context.Background()
	for _, finish := range []string{"close", "abort", "cancel"} {
		t.Run(finish, func(t *testing.T) {
			s, srv := newS3Store(t, S3Options{})
			client := srv.Client(t)
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			obj, err := s.Create(cctx, "job/users.jsonl", "application/jsonl")
			if err != nil {
				t.Fatal(err)
			}
			data := pseudoRandomBytes(3*MinPartSize+1, 7)
			if _, err := obj.Write(data); err != nil {
				t.Fatal(err)
			}
			pending := srv.PendingUploads(t, s.opts.Bucket)
			if !reflect.DeepEqual(pending, []string{testPrefix + "/job/users.jsonl"}) {
				t.Fatalf("while writing: pending uploads = %v", pending)
			}
			parts := waitForParts(t, client, s.opts.Bucket, testPrefix+"/job/users.jsonl", 2)
			if parts < 2 {
				t.Errorf("while writing, %d parts uploaded, want at least 2 (the file is streamed)", parts)
			}
			if keys := srv.Keys(t, s.opts.Bucket, ""); len(keys) != 0 {
				t.Errorf("while writing: objects %v", keys)
			}
			switch finish {
			case "close":
				err = obj.Close()
			case "abort":
				err = obj.Abort()
			case "cancel":
				cancel()
				if err = obj.Close(); !errors.Is(err, context.Canceled) {
					t.Errorf("Close after cancel = %v, want context.Canceled", err)
				}
				err = nil
			}
			if err != nil {
				t.Fatal(err)
			}
			if pending := srv.PendingUploads(t, s.opts.Bucket); len(pending) != 0 {
				t.Errorf("after %s: pending uploads %v", finish, pending)
			}
			keys := srv.Keys(t, s.opts.Bucket, "")
			if finish == "close" {
				if !reflect.DeepEqual(keys, []string{testPrefix + "/job/users.jsonl"}) {
					t.Fatalf("after close: objects %v", keys)
				}
				if got := srv.Get(t, s.opts.Bucket, testPrefix+"/job/users.jsonl"); !bytes.Equal(got, data) {
					t.Errorf("read back %d bytes that differ from the %d written", len(got), len(data))
				}
			} else if len(keys) != 0 {
				t.Errorf("after %s: objects %v", finish, keys)
			}
		})
	}
}

// waitForParts returns how many parts of key's one pending upload the
// server holds, waiting (briefly) for at least want: parts upload in the
// background.
func waitForParts(t *testing.T, client *s3.Client, bucket, key string, want int) int {
	t.Helper()
	ctx := context.Background()
	uploads, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: &key})
	if err != nil || len(uploads.Uploads) != 1 {
		t.Fatalf("uploads of %s: %v, %v", key, uploads, err)
	}
	n := 0
	for range 200 {
		parts, err := client.ListParts(ctx, &s3.ListPartsInput{Bucket: &bucket, Key: &key, UploadId: uploads.Uploads[0].UploadId})
		if err != nil {
			t.Fatal(err)
		}
		if n = len(parts.Parts); n >= want {
			break
		}
		waitABit()
	}
	return n
}

// TestS3StoreObjectSettings checks what the server keeps with each object,
// for a one-request object and a multipart one: content type, encryption,
// storage class, tags, and a checksum the server verified.
func TestS3StoreObjectSettings(t *testing.T) {
	ctx := context.Background()
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	client := srv.Client(t)
	for _, tc := range []struct {
		name string
		opts S3Options
	}{
		{"sse-s3", S3Options{SSE: "AES256", StorageClass: "STANDARD", Tags: map[string]string{"team": "data", "purpose": "audit 2026"}}},
		{"sse-kms", S3Options{SSE: "aws:kms", KMSKeyID: srv.KMSKeyID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Bucket, opts.Endpoint, opts.ForcePathStyle, opts.PartSize = srv.NewBucket(t), srv.Endpoint, true, MinPartSize
			s, err := NewS3Store(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{100, 2*MinPartSize + 5} {
				key := "obj.parquet"
				obj, err := s.Create(ctx, key, "application/vnd.apache.parquet")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := obj.Write(pseudoRandomBytes(size, 1)); err != nil {
					t.Fatal(err)
				}
				if err := obj.Close(); err != nil {
					t.Fatal(err)
				}
				head := srv.Head(t, opts.Bucket, key)
				if got := aws.ToString(head.ContentType); got != "application/vnd.apache.parquet" {
					t.Errorf("size %d: content type %q", size, got)
				}
				if head.ServerSideEncryption != types.ServerSideEncryption(opts.SSE) {
					t.Errorf("size %d: encryption %q, want %q", size, head.ServerSideEncryption, opts.SSE)
				}
				if opts.KMSKeyID != "" && !strings.HasSuffix(aws.ToString(head.SSEKMSKeyId), opts.KMSKeyID) {
					t.Errorf("size %d: KMS key %q, want %q", size, aws.ToString(head.SSEKMSKeyId), opts.KMSKeyID)
				}
				if head.ChecksumCRC32C == nil {
					t.Errorf("size %d: the server kept no CRC32C checksum", size)
				}
				if aws.ToInt64(head.ContentLength) != int64(size) {
					t.Errorf("size %d: content length %d", size, aws.ToInt64(head.ContentLength))
				}
				tags, err := client.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &opts.Bucket, Key: &key})
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for _, tag := range tags.TagSet {
					got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
				}
				if len(got) != len(opts.Tags) || (len(got) > 0 && !reflect.DeepEqual(got, opts.Tags)) {
					t.Errorf("size %d: tags %v, want %v", size, got, opts.Tags)
				}
			}
		})
	}
}

// TestS3StoreLostCompleteReply covers a CompleteMultipartUpload that the
// server carries out but whose reply never arrives: Close must fail, and
// then nothing may be left at the key, or a failed job would leave a file.
func TestS3StoreLostCompleteReply(t *testing.T) {
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		q := resp.Request.URL.Query()
		if resp.Request.Method == http.MethodPost && q.Has("uploadId") && resp.StatusCode == http.StatusOK {
			return errors.New("reply lost")
		}
		return nil
	}
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	front := httptest.NewServer(proxy)
	defer front.Close()

	bucket := srv.NewBucket(t)
	s, err := NewS3Store(context.Background(), S3Options{Bucket: bucket, Endpoint: front.URL, ForcePathStyle: true, PartSize: MinPartSize})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Create(context.Background(), "users.csv", "text/csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Write(pseudoRandomBytes(MinPartSize+1, 2)); err != nil {
		t.Fatal(err)
	}
	err = obj.Close()
	if err == nil || !strings.Contains(err.Error(), "complete multipart upload of s3://"+bucket+"/users.csv") {
		t.Fatalf("Close = %v, want a failed completion naming the object", err)
	}
	if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
		t.Errorf("objects left behind: %v", keys)
	}
	if pending := srv.PendingUploads(t, bucket); len(pending) != 0 {
		t.Errorf("uploads left pending: %v", pending)
	}
}

func waitABit() { time.Sleep(10 * time.Millisecond) }
