package httpsource

import (
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestReadRateLimitHeaders(t *testing.T) {
	now := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	epoch := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	for _, tc := range []struct {
		name          string
		header        map[string][]string
		wantPerSecond float64
		wantExhausted time.Duration
	}{
		{"none", nil, 0, 0},
		// The IETF draft, -08 and later.
		{"ietf policy", map[string][]string{"RateLimit-Policy": {`"default";q=100;w=60`}}, 100.0 / 60, 0},
		{"ietf policy without a name", map[string][]string{"RateLimit-Policy": {`q=100;w=60`}}, 100.0 / 60, 0},
		{"ietf policy as a token", map[string][]string{"RateLimit-Policy": {`burst;q=10;w=1`}}, 10, 0},
		{"ietf policies: the strictest", map[string][]string{"RateLimit-Policy": {`"burst";q=100;w=1, "minute";q=600;w=60`}}, 10, 0},
		{"ietf policies over field lines", map[string][]string{"RateLimit-Policy": {`"burst";q=100;w=1`, `"minute";q=600;w=60`}}, 10, 0},
		{"ietf policy: a daily quota is no rate", map[string][]string{"RateLimit-Policy": {`"day";q=1000;w=86400`}}, 0, 0},
		{"ietf policy: an hour is", map[string][]string{"RateLimit-Policy": {`"hour";q=3600;w=3600`}}, 1, 0},
		{"ietf policy: no window, no rate", map[string][]string{"RateLimit-Policy": {`"default";q=100`}}, 0, 0},
		{"ietf policy: bytes are not requests", map[string][]string{"RateLimit-Policy": {`"bytes";q=1000;w=1;qu="content-bytes", "default";q=50;w=1;qu="requests"`}}, 50, 0},
		{"ietf policy: a quoted name with separators", map[string][]string{"RateLimit-Policy": {`"a,b;c=\"d\"";q=5;w=1`}}, 5, 0},
		{"ietf policy: other parameters kept apart", map[string][]string{"RateLimit-Policy": {`"default";q=20;w=2;pk=:cHsdsRa894==:`}}, 10, 0},
		{"ietf: exhausted", map[string][]string{"RateLimit": {`"default";r=0;t=30`}}, 0, 30 * time.Second},
		{"ietf: not exhausted", map[string][]string{"RateLimit": {`"default";r=5;t=30`}}, 0, 0},
		{"ietf: exhausted without a reset", map[string][]string{"RateLimit": {`"default";r=0`}}, 0, 0},
		{"ietf: the longest of the exhausted", map[string][]string{"RateLimit": {`"burst";r=0;t=1, "day";r=0;t=3600, "minute";r=4;t=50`}}, 0, time.Hour},
		{"ietf both", map[string][]string{"RateLimit-Policy": {`"default";q=10;w=1`}, "RateLimit": {`"default";r=0;t=1`}}, 10, time.Second},
		// Drafts up to -07.
		{"draft -07 policy", map[string][]string{"RateLimit-Policy": {`10;w=1, 50;w=60`}}, 50.0 / 60, 0},
		{"older draft", map[string][]string{"RateLimit-Limit": {"100"}, "RateLimit-Remaining": {"0"}, "RateLimit-Reset": {"7"}}, 0, 7 * time.Second},
		{"older draft with policies", map[string][]string{"RateLimit-Limit": {"10, 10;w=1, 300;w=60"}}, 5, 0},
		{"older draft, remaining left", map[string][]string{"RateLimit-Remaining": {"3"}, "RateLimit-Reset": {"7"}}, 0, 0},
		// X-RateLimit-*.
		{"x: delta seconds", map[string][]string{"X-RateLimit-Limit": {"60"}, "X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {"12"}}, 0, 12 * time.Second},
		{"x: a Unix time", map[string][]string{"X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {epoch(42 * time.Second)}}, 0, 42 * time.Second},
		{"x: a Unix time with a fraction", map[string][]string{"X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {epoch(2*time.Second) + ".5"}}, 0, 2500 * time.Millisecond},
		{"x: a Unix time past", map[string][]string{"X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {epoch(-time.Minute)}}, 0, 0},
		{"x: milliseconds, bounded", map[string][]string{"X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {strconv.FormatInt(now.UnixMilli(), 10)}}, 0, maxReset},
		{"x: a limit with a window", map[string][]string{"X-RateLimit-Limit": {"40;w=2"}}, 20, 0},
		{"x: a limit without one is no rate", map[string][]string{"X-RateLimit-Limit": {"5000"}, "X-RateLimit-Remaining": {"4999"}}, 0, 0},
		{"x: remaining 0 without a reset", map[string][]string{"X-RateLimit-Remaining": {"0"}}, 0, 0},
		// Every style at once: the strictest of them.
		{"styles together", map[string][]string{
			"RateLimit-Policy": {`"default";q=100;w=10`}, "RateLimit": {`"default";r=0;t=2`},
			"RateLimit-Limit": {"5;w=1"}, "RateLimit-Remaining": {"0"}, "RateLimit-Reset": {"3"},
			"X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {"1"},
		}, 5, 3 * time.Second},
		// Malformed: ignored, the rest still read.
		{"garbage", map[string][]string{"RateLimit-Policy": {`;;,=,"`}, "RateLimit": {`"`}, "X-RateLimit-Reset": {"soon"}}, 0, 0},
		{"negative", map[string][]string{"RateLimit-Policy": {`q=-1;w=1`}, "X-RateLimit-Remaining": {"-0"}, "X-RateLimit-Reset": {"1"}}, 0, 0},
		{"not decimals", map[string][]string{"RateLimit-Policy": {`q=1e3;w=1, q=Inf;w=1, q=0x10;w=1, q=NaN;w=1`}}, 0, 0},
		{"zero quota, zero window", map[string][]string{"RateLimit-Policy": {`q=0;w=1, q=5;w=0`}}, 0, 0},
		{"a huge quota", map[string][]string{"RateLimit-Policy": {"q=10000000000000000000000000000000000000000;w=1"}}, 1e40, 0},
		{"a bad member beside a good one", map[string][]string{"RateLimit-Policy": {`"x";q=abc;w=1, "y";q=4;w=2`}}, 2, 0},
		{"a reset beyond a day, bounded", map[string][]string{"RateLimit": {`r=0;t=999999999`}}, 0, maxReset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, vs := range tc.header {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
			got := readRateLimitHeaders(h, now)
			if math.Abs(got.perSecond-tc.wantPerSecond) > 1e-9*tc.wantPerSecond || got.exhausted != tc.wantExhausted {
				t.Errorf("%v: got %v/s, exhausted for %s; want %v/s, %s", tc.header, got.perSecond, got.exhausted, tc.wantPerSecond, tc.wantExhausted)
			}
		})
	}
}

// FuzzRateLimitHeaders holds the reading of any header values to what the
// budget can use: a finite positive rate or none, a wait within a day.
func FuzzRateLimitHeaders(f *testing.F) {
	for _, seed := range [][5]string{
		{`"default";q=100;w=60`, `"default";r=0;t=30`, "", "", ""},
		{`10;w=1, 50;w=60`, "", "10, 10;w=1", "0", "7"},
		{"", "", "", "0", "1767225600"},
		{`"a\";b";q=1;w=1`, `r=0;t=1e9`, `;;`, `0.`, `.5`},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3], seed[4])
	}
	now := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, policy, current, limit, remaining, reset string) {
		h := http.Header{}
		h.Set("RateLimit-Policy", policy)
		h.Set("RateLimit", current)
		for _, prefix := range []string{"RateLimit-", "X-RateLimit-"} {
			h.Set(prefix+"Limit", limit)
			h.Set(prefix+"Remaining", remaining)
			h.Set(prefix+"Reset", reset)
		}
		a := readRateLimitHeaders(h, now)
		if a.perSecond < 0 || math.IsNaN(a.perSecond) || math.IsInf(a.perSecond, 0) {
			t.Errorf("rate %v", a.perSecond)
		}
		if a.exhausted < 0 || a.exhausted > maxReset {
			t.Errorf("exhausted for %s", a.exhausted)
		}
		if b := readRateLimitHeaders(h, now); b != a {
			t.Errorf("read %+v, then %+v", a, b)
		}
	})
}
