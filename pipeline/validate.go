package pipeline

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/saas-export/export/sources"
)

// The checks below return the problem with a value as a message, "" when
// it is fine; the decoder places it.

// checkLocation checks an output destination or state directory: a local
// directory, a file:///abs/dir URL, or s3://bucket/prefix.
func checkLocation(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case isS3Location(s):
		if _, _, err := ParseS3URL(s); err != nil {
			return err.Error()
		}
		return ""
	case !strings.Contains(s, "://"):
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme != "file":
		return fmt.Sprintf("expected a directory, file:///abs/dir or s3://bucket/prefix, got %q", s)
	case u.Host != "" && u.Host != "localhost", !path.IsAbs(u.Path), u.RawQuery != "", u.Fragment != "":
		return fmt.Sprintf("a file URL takes an absolute path and nothing else, as in file:///abs/dir; got %q", s)
	}
	return ""
}

// isS3Location reports whether a destination or state directory is in S3.
func isS3Location(s string) bool { return strings.HasPrefix(s, "s3://") }

// ParseS3URL splits s3://bucket/prefix into the bucket and the prefix,
// which has no leading or trailing slash ("" for the whole bucket):
// s3://b, s3://b/ and s3://b/a/c/ give ("b", ""), ("b", "") and ("b", "a/c").
// The URL is taken as written, with no percent-decoding. The bucket must
// follow the naming rules of S3 general purpose buckets; the prefix must
// not start with a slash nor hold an empty, "." or ".." segment, and the
// URL carries no user info, query or fragment. The error says what is
// wrong, for a config error message.
func ParseS3URL(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("expected s3://bucket/prefix, got %q", s)
	}
	authority, prefix, _ := strings.Cut(rest, "/")
	switch {
	case strings.Contains(authority, "@"):
		// The part before @ may well be a secret: never quote it.
		return "", "", errors.New("an s3 URL must not contain credentials: they come from the AWS chain (environment, profile, role)")
	case strings.ContainsAny(s, "?#"):
		return "", "", fmt.Errorf("an s3 URL takes no query or fragment (? or #), got %q", s)
	case authority == "":
		return "", "", fmt.Errorf("expected s3://bucket/prefix, got %q: the bucket is missing", s)
	}
	if problem := checkS3Bucket(authority); problem != "" {
		return "", "", fmt.Errorf("invalid bucket name %q: %s", authority, problem)
	}
	if problem := checkS3Prefix(prefix); problem != "" {
		return "", "", fmt.Errorf("invalid prefix %q: %s", prefix, problem)
	}
	return authority, strings.TrimSuffix(prefix, "/"), nil
}

// checkS3Bucket applies the naming rules of S3 general purpose buckets.
func checkS3Bucket(b string) string {
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	switch {
	case len(b) < 3 || len(b) > 63:
		return fmt.Sprintf("must be 3 to 63 characters long, got %d", len(b))
	case strings.IndexFunc(b, func(r rune) bool { return !(r < utf8.RuneSelf && alnum(byte(r)) || r == '.' || r == '-') }) >= 0:
		return "use only lowercase letters, digits, '.' and '-'"
	case !alnum(b[0]) || !alnum(b[len(b)-1]):
		return "must begin and end with a lowercase letter or a digit"
	case strings.Contains(b, ".."):
		return `must not contain ".."`
	case net.ParseIP(b) != nil:
		return "must not be formatted as an IP address"
	}
	// Names S3 keeps for its own kinds of bucket and access point aliases.
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, p) {
			return fmt.Sprintf("the prefix %q is reserved by S3", p)
		}
	}
	for _, p := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(b, p) {
			return fmt.Sprintf("the suffix %q is reserved by S3", p)
		}
	}
	return ""
}

// checkS3Prefix checks the key prefix after the bucket, as written; one
// trailing slash is allowed and means the same as none.
func checkS3Prefix(p string) string {
	if p == "" {
		return ""
	}
	if strings.HasPrefix(p, "/") {
		return "must not start with '/'"
	}
	if strings.IndexFunc(p, unicode.IsControl) >= 0 {
		return "must not contain control characters"
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		switch seg {
		case "":
			return `must not contain an empty segment ("//")`
		case ".", "..":
			return `must not contain "." or ".." segments`
		}
	}
	return ""
}

// placeholders are what an output path may contain in braces.
var (
	placeholders = []string{"{job}", "{provider}", "{format}", "{date}", "{run_id}"}
	braced       = regexp.MustCompile(`\{[^{}]*\}`)
)

// checkPathTemplate checks output.path: relative to the destination,
// never climbing out of it, with known placeholders only.
func checkPathTemplate(s string) string {
	var unknown []string
	for _, p := range braced.FindAllString(s, -1) {
		if !slices.Contains(placeholders, p) && !slices.Contains(unknown, p) {
			unknown = append(unknown, p)
		}
	}
	rest := braced.ReplaceAllString(s, "x")
	switch {
	case len(unknown) > 0:
		return fmt.Sprintf("unknown placeholder %s (allowed: %s)", strings.Join(unknown, ", "), strings.Join(placeholders, " "))
	case strings.ContainsAny(rest, "{}"):
		return fmt.Sprintf("unbalanced { or } in %q", s)
	case strings.TrimSpace(s) == "":
		return "must not be empty"
	case strings.HasPrefix(s, "/"), slices.Contains(strings.Split(s, "/"), ".."):
		return fmt.Sprintf("must be a relative path that stays inside the destination, got %q", s)
	}
	return ""
}

// checkEndpoint checks a custom S3 endpoint (MinIO, LocalStack and the
// like), which may well be plain http on a private network.
func checkEndpoint(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "expected an absolute http(s) URL, got an unparsable URL"
	case u.User != nil:
		return "must not contain credentials: they come from the AWS chain (environment, profile, role)"
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Sprintf("expected an absolute http(s) URL, got %q", s)
	}
	return ""
}

// regionName is the shape of an AWS region (eu-west-1, us-gov-west-1) and
// of the names S3-compatible stores use (MinIO's us-east-1, Garage's garage).
var regionName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// checkRegion checks an S3 region; "" leaves it to AWS's own chain.
func checkRegion(s string) string {
	if s != "" && !regionName.MatchString(s) {
		return fmt.Sprintf("expected a region like eu-west-1 (lowercase letters, digits and -), got %q", s)
	}
	return ""
}

// S3's limits on object tags, in Unicode characters.
const (
	maxTagKey   = 128
	maxTagValue = 256
)

// tagText is what S3 allows in a tag key or value.
var tagText = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

const tagChars = "letters, digits, spaces and + - = . _ : / @"

func checkTagKey(k string) string {
	switch n := utf8.RuneCountInString(k); {
	case n < 1 || n > maxTagKey:
		return fmt.Sprintf("invalid tag key %q: must be 1 to %d characters long, got %d", k, maxTagKey, n)
	case !tagText.MatchString(k):
		return fmt.Sprintf("invalid tag key %q: use only %s", k, tagChars)
	case strings.HasPrefix(strings.ToLower(k), "aws:"):
		return fmt.Sprintf("invalid tag key %q: the aws: prefix is reserved by AWS", k)
	}
	return ""
}

func checkTagValue(v string) string {
	switch n := utf8.RuneCountInString(v); {
	case n > maxTagValue:
		return fmt.Sprintf("invalid tag value: must be at most %d characters long, got %d", maxTagValue, n)
	case !tagText.MatchString(v):
		return fmt.Sprintf("invalid tag value %q: use only %s", v, tagChars)
	}
	return ""
}

// checkBaseURL checks a job's base_url and returns it without a trailing
// slash, as providers append their endpoint path to it. The URL is quoted
// redacted: it must not carry credentials, but users do try.
func checkBaseURL(s string, allowInsecure bool) (string, string) {
	if s == SimulatorURL {
		return s, ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", "expected an absolute http(s) URL or simulator, got an unparsable URL"
	}
	switch {
	case u.User != nil:
		return "", "must not contain credentials: set them under auth"
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "", fmt.Sprintf("expected an absolute http(s) URL or simulator, got %q", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Sprintf("must not have a query or fragment (the endpoint path is appended to it), got %q", u.Redacted())
	case u.Scheme == "http" && !allowInsecure && !isLoopback(u.Hostname()):
		return "", fmt.Sprintf("plain http:// is refused except on loopback: use https:// or set allow_insecure_http: true; got %q", u.Redacted())
	}
	return strings.TrimRight(s, "/"), ""
}

// isLoopback reports whether host is localhost, 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// providerProblems runs the provider's own check of the job (filter,
// sort, page size) and places each problem at the key it names, or at
// the closest key present in the file.
func (d *decoder) providerProblems(item value, j Job, p sources.Provider) {
	if p.CheckConfig == nil {
		return
	}
	for _, problem := range p.CheckConfig(j.SourceJob(j.BaseURL, time.Time{})) {
		full := joinPath(item.path, problem.Path)
		if d.reported(full) {
			continue // a value already reported, maybe decoded to a placeholder
		}
		line, col := d.nearest(full, item).pos()
		d.errs = append(d.errs, ConfigError{File: d.file, Line: line, Col: col, Path: full, Msg: problem.Message})
	}
}

// reported reports whether an error was already recorded at path or one
// of its ancestors.
func (d *decoder) reported(path string) bool {
	return slices.ContainsFunc(d.errs, func(e ConfigError) bool {
		return e.Path == path || strings.HasPrefix(path, e.Path+".") || strings.HasPrefix(path, e.Path+"[")
	})
}

// nearest returns the value at path or its closest ancestor within item.
func (d *decoder) nearest(path string, item value) value {
	for len(path) > len(item.path) {
		if v, ok := d.positions[path]; ok {
			return v
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return item
}

// outputFolder is where a job's files go, up to the run: two jobs with the
// same folder would overwrite each other's files.
func outputFolder(o Output, job, provider string) string {
	dir := strings.NewReplacer("{job}", job, "{provider}", provider).Replace(o.Path)
	if bucket, prefix, err := ParseS3URL(o.Destination); err == nil {
		return "s3://" + path.Join(bucket, prefix, dir)
	}
	return strconv.Quote(filepath.Clean(o.Destination)) + " " + path.Clean(dir)
}

// s3Problems checks the settings of each job's effective s3 block against
// one another, for the jobs that write to S3: a job that writes to a local
// directory leaves the block unused. A problem is placed at the key the
// job sets that makes it, or else at the top-level key it inherits, once.
func (d *decoder) s3Problems(jobs []decodedJob) {
	reportedTop := false
	for _, j := range jobs {
		if !isS3Location(j.Output.Destination) {
			continue
		}
		if d.kmsKeyProblem(j, reportedTop) {
			reportedTop = true
		}
		d.tagCountProblem(j)
	}
}

// written returns the value at path when the file sets it.
func (d *decoder) written(path string) (value, bool) {
	v, ok := d.positions[path]
	return v, ok && v.present()
}

// failedAt reports whether a problem was reported at exactly one of paths.
func (d *decoder) failedAt(paths ...string) bool {
	return slices.ContainsFunc(d.errs, func(e ConfigError) bool { return slices.Contains(paths, e.Path) })
}

// kmsKeyProblem reports a kms_key_id that the job's sse does not use; it
// returns whether it reported the top-level one.
func (d *decoder) kmsKeyProblem(j decodedJob, reportedTop bool) bool {
	s := j.Output.S3
	if s.KMSKeyID == "" || s.SSE == "aws:kms" || s.SSE == "aws:kms:dsse" {
		return false
	}
	const topKMS, topSSE = "output.s3.kms_key_id", "output.s3.sse"
	jobKMS, jobSSE := joinPath(j.item.path, topKMS), joinPath(j.item.path, topSSE)
	if d.failedAt(jobKMS, jobSSE, topKMS, topSSE) {
		return false // decoded to a value that was not written
	}
	const needs = "kms_key_id needs sse: aws:kms (or aws:kms:dsse)"
	sseIs := func(paths ...string) string {
		for _, p := range paths {
			if v, ok := d.written(p); ok {
				line, _ := v.pos()
				return fmt.Sprintf("sse is %q (line %d)", s.SSE, line)
			}
		}
		return "sse is not set"
	}
	if v, ok := d.written(jobKMS); ok {
		d.errorf(v, "%s, but %s", needs, sseIs(jobSSE, topSSE))
		return false
	}
	top, _ := d.written(topKMS)
	if v, ok := d.written(jobSSE); ok {
		line, _ := top.pos()
		d.errorf(v, "the kms_key_id of output.s3 (line %d) needs sse: aws:kms (or aws:kms:dsse): "+
			`set kms_key_id: "" in this job's output.s3 to drop it`, line)
		return false
	}
	if !reportedTop {
		d.errorf(top, "%s, but %s", needs, sseIs(topSSE))
	}
	return true
}

// tagCountProblem reports a job whose tags, merged with the top-level
// ones, are more than an object can carry. Either set alone is checked
// where it is written.
func (d *decoder) tagCountProblem(j decodedJob) {
	const topTags = "output.s3.tags"
	jobTags := joinPath(j.item.path, topTags)
	v, ok := d.written(jobTags)
	if len(j.Output.S3.Tags) <= maxS3Tags || !ok || d.failedAt(jobTags, topTags) {
		return
	}
	top, _ := d.written(topTags)
	line, _ := top.pos()
	d.errorf(v, "at most %d tags per object (the S3 limit), got %d once merged with those of output.s3 (line %d)",
		maxS3Tags, len(j.Output.S3.Tags), line)
}
