package pipeline

import (
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

	"github.com/saas-export/export/sources"
)

// The checks below return the problem with a value as a message, "" when
// it is fine; the decoder places it.

// checkLocation checks an output destination or state directory: a local
// directory, a file:///abs/dir URL, or (later) s3://bucket/prefix. what
// names the setting in the plural.
func checkLocation(s, what string) string {
	switch {
	case s == "":
		return "must not be empty"
	case strings.HasPrefix(s, "s3://"):
		return fmt.Sprintf("s3 %s are not supported yet", what)
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

// placeholders are what an output path may contain in braces.
var (
	placeholders = []string{"{job}", "{provider}", "{date}", "{run_id}"}
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
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("expected an absolute http(s) URL, got %q", s)
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
	return strconv.Quote(filepath.Clean(o.Destination)) + " " + path.Clean(dir)
}
