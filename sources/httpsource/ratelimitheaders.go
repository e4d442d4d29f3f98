package httpsource

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// advertised is what an answer's rate-limit headers say about the
// account's budget, whichever of the styles below the API sends.
type advertised struct {
	// perSecond is the strictest request rate of the quota policies
	// stated (quota over window); 0 when none is.
	perSecond float64
	// exhausted is how long until a quota with nothing left resets: the
	// longest such wait the headers state; 0 when none is exhausted, or
	// when an exhausted quota does not say when it resets.
	exhausted time.Duration
}

// Bounds on what the headers are taken to say.
const (
	// maxPolicyWindow is the longest window whose quota is taken as a
	// rate. Longer windows are daily or monthly quotas: spread evenly,
	// they would slow a job far below what the API allows today, so they
	// only hold the budget once exhausted.
	maxPolicyWindow = time.Hour
	// unixResetFrom tells the two forms of a reset apart: delta seconds
	// below it, a Unix time in seconds at or above it (X-RateLimit-Reset
	// is either, by API). A delta of 10^9 seconds would be 31 years; a
	// Unix time below it is before 2001.
	unixResetFrom = 1e9
	// maxReset bounds a reset read from a header, so that no value, a
	// Unix time in milliseconds taken for seconds included, overflows a
	// Duration; the budget holds for far less (see Budget.observe).
	maxReset = 24 * time.Hour
)

// readRateLimitHeaders reads, from one answer, each style of rate-limit
// header that APIs send:
//
//   - the IETF draft (draft-ietf-httpapi-ratelimit-headers-08 and later):
//     RateLimit-Policy: "default";q=100;w=60 and RateLimit: "default";r=0;t=30,
//     lists of policies; the policy name may be left out, and an integer
//     item is the quota, as in drafts up to -07 (RateLimit-Policy: 100;w=60);
//   - the earlier drafts' RateLimit-Limit, RateLimit-Remaining and
//     RateLimit-Reset, the limit optionally with policies (10, 10;w=1);
//   - the de facto X-RateLimit-Limit, X-RateLimit-Remaining and
//     X-RateLimit-Reset, the reset in delta seconds or as a Unix time
//     (see unixResetFrom).
//
// Where several styles or policies are sent they are all taken, and the
// strictest wins: each describes a limit that the API, or a gateway in
// front of it, enforces, and a request must pass all of them. A limit
// without a window (X-RateLimit-Limit: 5000) is no rate; a quota unit
// other than requests (qu="content-bytes") is not ours to count. What
// does not parse is ignored: a header never fails a request.
func readRateLimitHeaders(h http.Header, now time.Time) advertised {
	var a advertised
	policy := func(quota float64, window string) {
		w, ok := decimal(window)
		if !ok || quota <= 0 || w <= 0 || w > maxPolicyWindow.Seconds() {
			return
		}
		if r := quota / w; !math.IsInf(r, 0) && (a.perSecond == 0 || r < a.perSecond) {
			a.perSecond = r
		}
	}
	exhausted := func(remaining, reset string) {
		if r, ok := decimal(remaining); !ok || r != 0 {
			return
		}
		if d, ok := resetIn(reset, now); ok {
			a.exhausted = max(a.exhausted, d)
		}
	}

	for _, m := range structuredList(h.Values("RateLimit-Policy")) {
		if qu, ok := m.params["qu"]; ok && qu != "requests" {
			continue
		}
		quota, ok := decimal(m.params["q"])
		if !ok {
			quota, _ = decimal(m.item)
		}
		policy(quota, m.params["w"])
	}
	for _, m := range structuredList(h.Values("RateLimit")) {
		exhausted(m.params["r"], m.params["t"])
	}
	for _, prefix := range []string{"RateLimit-", "X-RateLimit-"} {
		for _, m := range structuredList(h.Values(prefix + "Limit")) {
			if quota, ok := decimal(m.item); ok {
				policy(quota, m.params["w"])
			}
		}
		exhausted(h.Get(prefix+"Remaining"), h.Get(prefix+"Reset"))
	}
	return a
}

// resetIn reads a reset: delta seconds, or a Unix time at or after
// unixResetFrom; one in the past is a reset now.
func resetIn(v string, now time.Time) (time.Duration, bool) {
	secs, ok := decimal(v)
	if !ok {
		return 0, false
	}
	if secs >= unixResetFrom {
		secs -= float64(now.UnixNano()) / 1e9
	}
	return time.Duration(min(max(secs, 0), maxReset.Seconds()) * float64(time.Second)), true
}

// decimal reads a non-negative decimal number (digits and at most one
// point, as Structured Fields write one); anything else is not a count.
func decimal(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	digits := 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !strings.ContainsRune(s[:i], '.'):
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// member is one member of a Structured Fields list: its item and its
// parameters, strings unquoted.
type member struct {
	item   string
	params map[string]string
}

// structuredList reads Structured Fields lists (RFC 9651) leniently:
// members split at commas and parameters at semicolons outside quoted
// strings, keys lowercased, and a member that starts with a parameter
// (q=100;w=60) taken as one with no item. Several field lines are one
// list, as HTTP combines them.
func structuredList(values []string) []member {
	var out []member
	for _, raw := range splitOutsideQuotes(strings.Join(values, ","), ',') {
		m := member{params: map[string]string{}}
		for i, part := range splitOutsideQuotes(raw, ';') {
			key, value, isParam := strings.Cut(part, "=")
			if i == 0 && (!isParam || strings.HasPrefix(strings.TrimSpace(key), `"`)) {
				m.item = unquote(part)
				continue
			}
			if !isParam {
				value = "?1" // a bare key is the boolean true
			}
			m.params[strings.ToLower(strings.TrimSpace(key))] = unquote(value)
		}
		out = append(out, m)
	}
	return out
}

// splitOutsideQuotes splits s at sep where it is not within a quoted
// string; a backslash escapes the next character within one.
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unquote trims s and, when it is a quoted string, removes the quotes and
// the backslashes that escape within it.
func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	escaped := false
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; c == '\\' && !escaped {
			escaped = true
		} else {
			b.WriteByte(c)
			escaped = false
		}
	}
	return b.String()
}
