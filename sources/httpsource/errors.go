package httpsource

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// excerptBytes bounds StatusError.Message: enough for an API's error
// message, short enough for a log line.
const excerptBytes = 300

// StatusError is a final non-2xx answer from the provider.
type StatusError struct {
	Job      string
	Provider string
	Page     int
	Method   string
	URL      string // credentials in the URL are redacted
	Status   int
	Message  string // start of the body, whitespace collapsed, secrets redacted
	Attempts int    // attempts made, retries included
}

func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString(where(e.Provider, e.Page, e.Method, e.URL))
	writeAttempts(&b, e.Attempts)
	fmt.Fprintf(&b, ": HTTP %d", e.Status)
	if text := http.StatusText(e.Status); text != "" {
		b.WriteString(" " + text)
	}
	if hint := statusHint(e.Status); hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// statusHint tells the user what to look at for the answers that are
// about the job's settings rather than the provider's health.
func statusHint(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "check the job's auth: the credentials were rejected"
	case status == http.StatusForbidden:
		return "check the job's auth: the credentials may not do this"
	case status == http.StatusTooManyRequests:
		return "over the API's rate limit: lower the job's rate_limit or max_in_flight"
	case status >= 300 && status < 400:
		return "redirect not followed: check the job's base_url"
	}
	return ""
}

// RequestError is a request that got no answer to report: a connection
// error, a timeout, a cancelled context, or a request that could not be
// sent at all.
type RequestError struct {
	Job      string
	Provider string
	Page     int
	Method   string
	URL      string // credentials in the URL are redacted
	Attempts int    // attempts made, retries included
	Err      error
}

func (e *RequestError) Error() string {
	var b strings.Builder
	b.WriteString(where(e.Provider, e.Page, e.Method, e.URL))
	writeAttempts(&b, e.Attempts)
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

func (e *RequestError) Unwrap() error { return e.Err }

// where names the request an error is about.
func where(provider string, page int, method, url string) string {
	return fmt.Sprintf("%s page %d: %s %s", provider, page, method, url)
}

// writeAttempts says how many attempts were made, once there was a retry.
func writeAttempts(b *strings.Builder, attempts int) {
	if attempts > 1 {
		fmt.Fprintf(b, ": after %d attempts", attempts)
	}
}

// timeoutError is an attempt that ran past ClientConfig.Timeout. It does not
// wrap context.DeadlineExceeded so that callers do not take it for the end
// of their own context.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("timeout: no complete answer within %s", e.after)
}

// Timeout lets callers test for it as they do for net.Error.
func (e *timeoutError) Timeout() bool { return true }

// permanentError marks a failure that sending the request again cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// excerpt is the start of a body with runs of whitespace collapsed, so an
// HTML or pretty-printed JSON error page stays on one line.
func excerpt(body string) string {
	cut := body
	if len(cut) > excerptBytes {
		cut = cut[:excerptBytes]
	}
	// The cut may split a multi-byte character; drop the fragment.
	s := strings.Join(strings.Fields(strings.ToValidUTF8(cut, "")), " ")
	if len(body) > excerptBytes {
		s += " …"
	}
	return s
}
