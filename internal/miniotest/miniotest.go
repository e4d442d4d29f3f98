// Package miniotest runs a real MinIO server for tests that need an
// S3-compatible endpoint (sinks, pipeline, cmd/export), and gives them a
// client and a few helpers to inspect what the code under test wrote.
// It is for tests only.
//
// The binary comes from .ci/install-minio; without it the tests using
// Start are skipped locally and fail in CI.
package miniotest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Version is the MinIO version .ci/install-minio builds. It names the
// cache directory Start looks in, so it must match the script (a test
// checks that it does).
const Version = "v0.0.0-20260212201848-7aac2a2c5b7c"

// installHint tells how to get the binary; it is in every "not found"
// message.
const installHint = "run `bash .ci/install-minio` once, ~3 min"

const (
	// startAttempts bounds the restarts when MinIO exits right away,
	// which is what it does when another process took a port between
	// picking it and MinIO binding it.
	startAttempts = 3
	// readyTimeout is generous: MinIO is up in about 0.4 s, but a loaded
	// CI machine running many packages at once can be much slower.
	readyTimeout = 30 * time.Second
	pollInterval = 20 * time.Millisecond
)

// Server is one running MinIO, private to the test that started it.
type Server struct {
	// Endpoint is the S3 API's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// AccessKey and SecretKey are the root credentials, random per
	// server so nothing can depend on fixed ones.
	AccessKey, SecretKey string
	// Region is the region clients sign for; MinIO accepts us-east-1
	// by default.
	Region string
	// KMSKeyID is the one key MinIO's built-in KMS holds, so SSE-S3
	// (AES256) works and so does SSE-KMS naming this key.
	KMSKeyID string

	bin  string
	args []string
	env  []string
	out  *syncBuffer

	mu   sync.Mutex
	cmd  *exec.Cmd     // nil while stopped
	done chan struct{} // closed once cmd has exited and been waited for
}

// Start runs a MinIO server for the test, with its data in a temporary
// directory, and stops it when the test ends. It skips the test when no
// MinIO binary is found, unless CI is set, where it fails instead so a
// broken install cannot pass silently.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := findBinary(t)
	var errs []string
	for attempt := 1; attempt <= startAttempts; attempt++ {
		s, err := start(t, bin)
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		errs = append(errs, fmt.Sprintf("attempt %d: %v", attempt, err))
	}
	t.Fatalf("miniotest: starting %s failed:\n%s", bin, strings.Join(errs, "\n"))
	return nil
}

// findBinary returns the MinIO to run: EXPORT_MINIO if set, else the one
// .ci/install-minio cached, else minio on PATH.
func findBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("EXPORT_MINIO"); p != "" {
		// An explicit path that does not work is a mistake to report,
		// not a reason to quietly fall back to another binary.
		bin, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("miniotest: EXPORT_MINIO=%q: %v", p, err)
		}
		return bin
	}
	if p := cachedPath(); p != "" {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if bin, err := exec.LookPath("minio"); err == nil {
		return bin
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("miniotest: MinIO not found (%s; or set EXPORT_MINIO); CI must run the S3 tests", installHint)
	}
	t.Skipf("MinIO not found (%s): skipping S3 tests", installHint)
	return ""
}

// cachedPath is where .ci/install-minio puts the binary. It mirrors the
// script's ${XDG_CACHE_HOME:-$HOME/.cache} rather than os.UserCacheDir,
// which differs on macOS.
func cachedPath() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home := os.Getenv("HOME")
		if home == "" {
			return ""
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "saas-export", "minio-"+Version, "minio")
}

// start makes one attempt to run MinIO and wait until it is ready. An
// error means the process exited early and is worth retrying; anything
// else fails the test.
func start(t testing.TB, bin string) (*Server, error) {
	t.Helper()
	addr, console := freeAddr(t), freeAddr(t)
	s := &Server{
		Endpoint:  "http://" + addr,
		AccessKey: "u" + randHex(t, 8),
		SecretKey: randHex(t, 16),
		Region:    "us-east-1",
		KMSKeyID:  "miniotest-key",
		out:       &syncBuffer{},
	}
	kmsKey := make([]byte, 32)
	if _, err := rand.Read(kmsKey); err != nil {
		t.Fatal(err)
	}
	// certs-dir is private too: MinIO otherwise reads ~/.minio/certs and
	// would serve TLS if the user keeps certificates there. HOME is a
	// temporary directory because MinIO creates ~/.minio even so.
	s.args = []string{"server",
		"--address", addr,
		"--console-address", console,
		"--certs-dir", t.TempDir(),
		"--quiet",
		t.TempDir()}
	s.bin = bin
	s.env = append(childEnv(os.Environ()),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_KMS_SECRET_KEY="+s.KMSKeyID+":"+base64.StdEncoding.EncodeToString(kmsKey),
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"HOME="+t.TempDir(), // the last HOME in Env wins
	)
	return s, s.launch(t)
}

// launch runs the server process and waits until it serves requests.
func (s *Server) launch(t testing.TB) error {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = s.env
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	// Stop waits for the output to be copied; a stray child holding the
	// pipe must not hang the test.
	cmd.WaitDelay = 5 * time.Second
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("miniotest: %v", err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("MinIO exited early (%v); output:\n%s", waitErr, s.out)
		default:
		}
		if ready(client, s.Endpoint) {
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			s.cmd = nil
			t.Fatalf("miniotest: MinIO not ready at %s after %v; output:\n%s", s.Endpoint, readyTimeout, s.out)
		}
		time.Sleep(pollInterval)
	}
}

// ready reports whether MinIO serves S3 requests. Its liveness probe
// answers 200 before the object layer is up, when requests still fail
// with 503 XMinioServerNotInitialized; the cluster probe waits for it.
func ready(c *http.Client, endpoint string) bool {
	resp, err := c.Get(endpoint + "/minio/health/cluster")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// childEnv is env without MINIO_* and AWS_* variables, so neither the
// user's MinIO settings nor their AWS ones change the server.
func childEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, "MINIO_") || strings.HasPrefix(kv, "AWS_")
	})
}

// freeAddr returns a loopback address with a port that was free a moment
// ago. Another process may take it before MinIO binds it; Start retries
// for that.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("miniotest: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("miniotest: %v", err)
	}
	return addr
}

// randHex returns n random bytes in hex, for names and secrets.
func randHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Stop kills the server and waits for it to exit, for tests of what
// happens when S3 goes away mid-run. It is idempotent, and the cleanup
// Start registers calls it too.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	// Kill fails only when the process is already gone, which is what
	// Stop wants anyway.
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts a stopped server again on the same address, data and
// credentials, so a test can look at what a run left behind after the
// server went away under it.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.launch(t); err != nil {
		t.Fatalf("miniotest: restart: %v", err)
	}
}

// Output is what MinIO printed so far, for failure messages.
func (s *Server) Output() string { return s.out.String() }

// Client returns an S3 client for this server. It is built from an
// aws.Config literal, so no shared config or credentials file and no
// environment variable of the user's can change where it goes or how
// it signs.
func (s *Server) Client(t testing.TB) *s3.Client {
	t.Helper()
	cfg := aws.Config{
		Region:      s.Region,
		Credentials: credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		// A literal leaves these unset, which sends and checks no
		// checksums; config.LoadDefaultConfig, as the code under test
		// uses it, defaults to WhenSupported, and so does this client.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		// MinIO serves buckets as paths, not as DNS names.
		o.UsePathStyle = true
	})
}

// NewBucket creates an empty bucket with a random name, so tests sharing
// a server do not see each other's objects.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := "test-" + randHex(t, 8)
	if _, err := s.Client(t).CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		s.fatalf(t, "create bucket %s: %v", name, err)
	}
	return name
}

// SetEnv points the AWS default credential chain of the code under test
// at this server's credentials and at nothing of the user's: every other
// AWS_* variable is unset, the shared config and credentials files are
// ones that do not exist, and EC2 metadata is off so the chain cannot
// stall probing it. The endpoint is not set; code under test gets
// Endpoint through its own configuration. Like t.Setenv, it cannot be
// used in parallel tests, and the environment is restored when the test
// ends.
func (s *Server) SetEnv(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	set := map[string]string{
		"AWS_ACCESS_KEY_ID":           s.AccessKey,
		"AWS_SECRET_ACCESS_KEY":       s.SecretKey,
		"AWS_REGION":                  s.Region,
		"AWS_CONFIG_FILE":             filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
	// The SDK treats some empty variables as set (an empty profile name
	// is not the default profile everywhere), so they are removed, not
	// emptied. t.Setenv first, so that cleanup restores them.
	unset := []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; strings.HasPrefix(k, "AWS_") && !ok {
			unset = append(unset, k)
		}
	}
	for _, k := range unset {
		t.Setenv(k, "")
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range set {
		t.Setenv(k, v)
	}
}

// Keys lists every object key under prefix, at any depth, sorted.
func (s *Server) Keys(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.Client(t), &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket),
		Prefix: aws.String(prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			s.fatalf(t, "list %s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	slices.Sort(keys)
	return keys
}

// Get returns an object's content.
func (s *Server) Get(t testing.TB, bucket, key string) []byte {
	t.Helper()
	out, err := s.Client(t).GetObject(t.Context(), &s3.GetObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		s.fatalf(t, "get %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		s.fatalf(t, "read %s/%s: %v", bucket, key, err)
	}
	return b
}

// Head returns an object's metadata, checksums included, so tests can
// check the encryption, content type and checksums the code under test
// asked for.
func (s *Server) Head(t testing.TB, bucket, key string) *s3.HeadObjectOutput {
	t.Helper()
	out, err := s.Client(t).HeadObject(t.Context(), &s3.HeadObjectInput{
		Bucket:       aws.String(bucket),
		Key:          aws.String(key),
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		s.fatalf(t, "head %s/%s: %v", bucket, key, err)
	}
	return out
}

// PendingUploads lists the keys of multipart uploads started in bucket
// and neither completed nor aborted, sorted, so tests can check that a
// failed upload cleaned up after itself.
func (s *Server) PendingUploads(t testing.TB, bucket string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListMultipartUploadsPaginator(s.Client(t), &s3.ListMultipartUploadsInput{
		Bucket: aws.String(bucket),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			s.fatalf(t, "list multipart uploads in %s: %v", bucket, err)
		}
		for _, u := range page.Uploads {
			keys = append(keys, aws.ToString(u.Key))
		}
	}
	slices.Sort(keys)
	return keys
}

// fatalf fails the test with MinIO's output appended, since a failing
// request is often explained only there.
func (s *Server) fatalf(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Fatalf("miniotest: %s\nMinIO output:\n%s", fmt.Sprintf(format, args...), s.out)
}

// syncBuffer collects MinIO's output. The exec package copies stdout and
// stderr on its own goroutines while a test may read the buffer, so it
// needs a lock.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
