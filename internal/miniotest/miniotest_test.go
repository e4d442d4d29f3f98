package miniotest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestVersionMatchesInstallScript keeps Version and the script in step:
// if they drift, Start looks in a directory the script never fills and
// every S3 test is skipped.
func TestVersionMatchesInstallScript(t *testing.T) {
	b, err := os.ReadFile("../../.ci/install-minio")
	if err != nil {
		t.Fatal(err)
	}
	if want := "version=" + Version + "\n"; !strings.Contains(string(b), want) {
		t.Errorf(".ci/install-minio does not contain %q; update Version or the script", want)
	}
}

func TestCachedPathFollowsScript(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/x")
	if got, want := cachedPath(), "/x/saas-export/minio-"+Version+"/minio"; got != want {
		t.Errorf("with XDG_CACHE_HOME: %s, want %s", got, want)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/h")
	if got, want := cachedPath(), "/h/.cache/saas-export/minio-"+Version+"/minio"; got != want {
		t.Errorf("without XDG_CACHE_HOME: %s, want %s", got, want)
	}
}

// fakeTB records how findBinary ends the test instead of ending it.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// find runs findBinary on its own goroutine, since a fake Fatalf or
// Skipf ends it there.
func find(t *testing.T) (bin string, f *fakeTB) {
	f = &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		bin = findBinary(f)
	}()
	<-done
	return bin, f
}

func TestFindBinary(t *testing.T) {
	dir := t.TempDir()
	exe := func(path string) string {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	explicit := exe(filepath.Join(dir, "explicit", "minio"))
	cached := exe(filepath.Join(dir, "cache", "saas-export", "minio-"+Version, "minio"))
	onPath := exe(filepath.Join(dir, "bin", "minio"))

	for _, tc := range []struct {
		name, export, cache, path, ci string
		bin, fatal, skip              string // what is wanted; fatal and skip are substrings
	}{
		{name: "explicit", export: explicit, cache: dir + "/cache", path: dir + "/bin", bin: explicit},
		{name: "explicit missing", export: dir + "/nothing", cache: dir + "/cache", fatal: "EXPORT_MINIO"},
		{name: "explicit not executable", export: plain, cache: dir + "/cache", fatal: "EXPORT_MINIO"},
		{name: "cached", cache: dir + "/cache", path: dir + "/bin", bin: cached},
		{name: "on path", cache: dir + "/empty", path: dir + "/bin", bin: onPath},
		{name: "none", cache: dir + "/empty", path: dir + "/empty", skip: "bash .ci/install-minio"},
		{name: "none in CI", cache: dir + "/empty", path: dir + "/empty", ci: "true", fatal: "bash .ci/install-minio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("EXPORT_MINIO", tc.export)
			t.Setenv("XDG_CACHE_HOME", tc.cache)
			t.Setenv("PATH", tc.path)
			t.Setenv("CI", tc.ci)
			bin, f := find(t)
			if bin != tc.bin {
				t.Errorf("binary %q, want %q", bin, tc.bin)
			}
			if !strings.Contains(f.fatal, tc.fatal) || (tc.fatal == "") != (f.fatal == "") {
				t.Errorf("fatal %q, want one containing %q", f.fatal, tc.fatal)
			}
			if !strings.Contains(f.skip, tc.skip) || (tc.skip == "") != (f.skip == "") {
				t.Errorf("skip %q, want one containing %q", f.skip, tc.skip)
			}
		})
	}
}

// TestStartReportsEarlyExit runs a "MinIO" that prints its environment
// and exits, as a real one does when its port was taken: Start retries,
// then fails with the output, and the output shows what the server got.
func TestStartReportsEarlyExit(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "minio")
	script := "#!/bin/sh\necho \"started $*\"; env | sort; echo 'port already in use' >&2; exit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EXPORT_MINIO", fake)
	t.Setenv("AWS_PROFILE", "users")
	t.Setenv("MINIO_ROOT_USER", "users")
	t.Setenv("HOME", "/users/home")
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(f)
	}()
	<-done
	for _, want := range []string{"attempt 3:", "port already in use", "started server --address 127.0.0.1:", " --quiet ", "MINIO_ROOT_USER=u", "MINIO_KMS_SECRET_KEY=miniotest-key:", "MINIO_BROWSER=off", "MINIO_UPDATE=off"} {
		if !strings.Contains(f.fatal, want) {
			t.Errorf("failure does not contain %q:\n%s", want, f.fatal)
		}
	}
	for _, unwanted := range []string{"AWS_PROFILE", "MINIO_ROOT_USER=users", "HOME=/users/home"} {
		if strings.Contains(f.fatal, unwanted) {
			t.Errorf("server got %q from the parent:\n%s", unwanted, f.fatal)
		}
	}
}

func TestChildEnvDropsMinIOAndAWS(t *testing.T) {
	got := childEnv([]string{"PATH=/bin", "MINIO_ROOT_USER=x", "AWS_PROFILE=p", "HOME=/h", "XAWS_=1"})
	if want := []string{"PATH=/bin", "HOME=/h", "XAWS_=1"}; !slices.Equal(got, want) {
		t.Errorf("childEnv = %q, want %q", got, want)
	}
}

func TestObjectsAndUploads(t *testing.T) {
	s := Start(t)
	if len(s.AccessKey) < 3 || len(s.SecretKey) < 8 {
		t.Fatalf("credentials too short for MinIO: %q %q", s.AccessKey, s.SecretKey)
	}
	c := s.Client(t)
	bucket := s.NewBucket(t)
	if keys := s.Keys(t, bucket, ""); len(keys) != 0 {
		t.Fatalf("new bucket holds %q", keys)
	}

	for _, k := range []string{"a/2.txt", "a/b/1.txt", "c.txt"} {
		_, err := c.PutObject(t.Context(), &s3.PutObjectInput{
			Bucket: aws.String(bucket),
			Key:    aws.String(k),
			Body:   strings.NewReader("content of " + k),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, want := s.Keys(t, bucket, ""), []string{"a/2.txt", "a/b/1.txt", "c.txt"}; !slices.Equal(got, want) {
		t.Errorf("Keys(\"\") = %q, want %q", got, want)
	}
	if got, want := s.Keys(t, bucket, "a/"), []string{"a/2.txt", "a/b/1.txt"}; !slices.Equal(got, want) {
		t.Errorf("Keys(a/) = %q, want %q", got, want)
	}
	if got := s.Get(t, bucket, "a/b/1.txt"); string(got) != "content of a/b/1.txt" {
		t.Errorf("Get = %q", got)
	}
	h := s.Head(t, bucket, "c.txt")
	if aws.ToInt64(h.ContentLength) != int64(len("content of c.txt")) {
		t.Errorf("Head length = %d", aws.ToInt64(h.ContentLength))
	}
	// The client sends a CRC32 by default, as LoadDefaultConfig's
	// would, and Head asks for it back.
	sum := crc32.ChecksumIEEE([]byte("content of c.txt"))
	if got, want := aws.ToString(h.ChecksumCRC32), base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, sum)); got != want {
		t.Errorf("Head CRC32 = %q, want %q", got, want)
	}

	up, err := c.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{
		Bucket: aws.String(bucket),
		Key:    aws.String("big/part.bin"),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UploadPart(t.Context(), &s3.UploadPartInput{
		Bucket:     aws.String(bucket),
		Key:        aws.String("big/part.bin"),
		UploadId:   up.UploadId,
		PartNumber: aws.Int32(1),
		Body:       bytes.NewReader(make([]byte, 1024)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.PendingUploads(t, bucket), []string{"big/part.bin"}; !slices.Equal(got, want) {
		t.Errorf("PendingUploads = %q, want %q", got, want)
	}
	if keys := s.Keys(t, bucket, "big/"); len(keys) != 0 {
		t.Errorf("unfinished upload is listed as objects %q", keys)
	}
	_, err = c.AbortMultipartUpload(t.Context(), &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(bucket),
		Key:      aws.String("big/part.bin"),
		UploadId: up.UploadId,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.PendingUploads(t, bucket); len(got) != 0 {
		t.Errorf("PendingUploads after abort = %q", got)
	}
}

func TestServerSideEncryption(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	bucket := s.NewBucket(t)
	for _, tc := range []struct {
		name string
		in   s3.PutObjectInput
		sse  types.ServerSideEncryption
	}{
		{name: "sse-s3", in: s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAes256}, sse: types.ServerSideEncryptionAes256},
		{name: "sse-kms", in: s3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(s.KMSKeyID)}, sse: types.ServerSideEncryptionAwsKms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Bucket = aws.String(bucket)
			in.Key = aws.String(tc.name)
			in.Body = strings.NewReader("secret " + tc.name)
			if _, err := c.PutObject(t.Context(), &in); err != nil {
				t.Fatalf("put: %v\nMinIO output:\n%s", err, s.Output())
			}
			h := s.Head(t, bucket, tc.name)
			if h.ServerSideEncryption != tc.sse {
				t.Errorf("encryption = %q, want %q", h.ServerSideEncryption, tc.sse)
			}
			if tc.sse == types.ServerSideEncryptionAwsKms && !strings.HasSuffix(aws.ToString(h.SSEKMSKeyId), s.KMSKeyID) {
				t.Errorf("KMS key id = %q, want (an ARN ending in) %q", aws.ToString(h.SSEKMSKeyId), s.KMSKeyID)
			}
			if got := s.Get(t, bucket, tc.name); string(got) != "secret "+tc.name {
				t.Errorf("Get = %q", got)
			}
		})
	}
}

func TestSetEnv(t *testing.T) {
	s := Start(t)
	t.Setenv("AWS_PROFILE", "someone-elses")
	t.Setenv("AWS_ENDPOINT_URL", "https://example.invalid")
	s.SetEnv(t)
	for k, want := range map[string]string{
		"AWS_ACCESS_KEY_ID":         s.AccessKey,
		"AWS_SECRET_ACCESS_KEY":     s.SecretKey,
		"AWS_REGION":                s.Region,
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		if got := os.Getenv(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"} {
		if v, ok := os.LookupEnv(k); ok {
			t.Errorf("%s is still set, to %q", k, v)
		}
	}
	for _, k := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		if _, err := os.Stat(os.Getenv(k)); !os.IsNotExist(err) {
			t.Errorf("%s = %q exists or is unset (%v)", k, os.Getenv(k), err)
		}
	}

	// What SetEnv is for: the default chain, as code under test loads
	// it, signs with this server's credentials.
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != s.AccessKey || cfg.Region != s.Region {
		t.Errorf("default chain gives key %q region %q, want %q %q", creds.AccessKeyID, cfg.Region, s.AccessKey, s.Region)
	}
	bucket := s.NewBucket(t)
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
	})
	if _, err := c.HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Errorf("request with the default chain: %v", err)
	}
}

func TestStop(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	bucket := s.NewBucket(t)
	s.Stop()
	s.Stop() // idempotent, and the cleanup calls it once more
	_, err := c.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String("after-stop"),
		Body:   strings.NewReader("x"),
	})
	if err == nil {
		t.Fatal("PutObject after Stop succeeded")
	}

	// Restart brings the same server back: address, credentials, data.
	s.Restart(t)
	if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("after-restart"), Body: strings.NewReader("y"),
	}); err != nil {
		t.Fatalf("PutObject after Restart: %v", err)
	}
	if got := string(s.Get(t, bucket, "after-restart")); got != "y" {
		t.Errorf("after Restart, read %q", got)
	}
}
