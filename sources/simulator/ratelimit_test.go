package simulator

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/saas-export/export/sources/httpsource"
)

// paced sends n GETs to url with token, spaced by a limiter of perSecond
// and a burst of 1, as export's client spaces them, and returns the
// status and Retry-After of each.
func paced(t *testing.T, url, token string, perSecond float64, n int) (statuses []int, retryAfter []string) {
	t.Helper()
	lim := rate.NewLimiter(rate.Limit(perSecond), 1)
	for range n {
		if err := lim.Wait(context.Background()); err != nil {
			t.Error(err)
			return
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		retryAfter = append(retryAfter, resp.Header.Get("Retry-After"))
	}
	return statuses, retryAfter
}

// TestRateLimitServesTheRateAndRefusesTwice runs a client at exactly the
// limit and another at twice it, at once, on two tokens: the first is
// never refused, and the second's budget is its own.
func TestRateLimitServesTheRateAndRefusesTwice(t *testing.T) {
	const perSecond, seconds = 40, 1.5
	srv, err := Start("127.0.0.1:0", Options{Users: 5, Seed: 1, RateLimit: httpsource.Rate{N: perSecond, Per: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	url := srv.BaseURL("nameshield") + "/user/v1/users?limit=10"

	var exact, double []int
	var doubleRetry []string
	var wg sync.WaitGroup
	wg.Go(func() { exact, _ = paced(t, url, "exact", perSecond, perSecond*seconds) })
	wg.Go(func() { double, doubleRetry = paced(t, url, "double", 2*perSecond, 2*perSecond*seconds) })
	wg.Wait()

	count := func(statuses []int, code int) (n uint64) {
		for _, s := range statuses {
			if s == code {
				n++
			}
		}
		return n
	}
	if n := count(exact, 429); n != 0 || count(exact, 200) != perSecond*seconds {
		t.Errorf("at exactly the rate: %d of %d refused, statuses %v", n, len(exact), exact)
	}
	refused := count(double, 429)
	if refused == 0 || refused+count(double, 200) != 2*perSecond*seconds {
		t.Errorf("at twice the rate: %d of %d refused, statuses %v", refused, len(double), double)
	}
	for i, s := range double {
		if s != 429 {
			continue
		}
		if secs, err := strconv.Atoi(doubleRetry[i]); err != nil || secs < 1 {
			t.Errorf("request %d: 429 with Retry-After %q, want whole seconds from 1", i, doubleRetry[i])
		}
	}

	st := srv.Stats()
	if len(st.Accounts) != 2 {
		t.Fatalf("accounts %+v, want the two tokens", st.Accounts)
	}
	var limited, served uint64
	for _, a := range st.Accounts {
		if a.Provider != "nameshield" || len(a.Credential) != 16 || strings.Contains(a.Credential, "exact") || !a.Last.After(a.First) {
			t.Errorf("account %+v", a)
		}
		limited, served = limited+a.Limited, served+a.Served
	}
	if limited != refused || served != count(exact, 200)+count(double, 200) || st.Requests["nameshield"] != served {
		t.Errorf("stats: %d served, %d limited, %d requests; the clients saw %d refused", served, limited, st.Requests["nameshield"], refused)
	}
}

// TestRateLimitAnswersInTheProvidersErrorFormat checks each provider's 429:
// its own error body and content type, and Retry-After rounded up to the
// time the bucket next holds a token.
func TestRateLimitAnswersInTheProvidersErrorFormat(t *testing.T) {
	srv, err := Start("127.0.0.1:0", Options{Users: 5, Seed: 1, RateLimit: httpsource.Rate{N: 1, Per: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	const message = "rate limit exceeded: 1/1m per token"
	for _, tc := range []struct {
		provider, method, path, accept string
		contentType, body              string
	}{
		{"kare", "GET", "/users/v1/rs", "", "application/json",
			`{"statusCode":429,"message":"` + message + `","error":"Too Many Requests"}` + "\n"},
		{"mctime", "GET", "/users", "", "application/json", `{"items":[{"message":"` + message + `"}],"valid":false}` + "\n"},
		{"medipim", "POST", "/v4/users/query", "", "application/json",
			`{"error":{"code":"too_many_requests","message":"` + message + `"}}` + "\n"},
		{"nameshield", "GET", "/user/v1/users", "", "application/json", `{"message":"` + message + `"}` + "\n"},
		{"requestor", "POST", "/api/Account/GetUsers", "", "application/json; charset=utf-8", `{"Message":"` + message + `"}`},
		{"requestor", "POST", "/api/Account/GetUsers", "application/xml", "application/xml; charset=utf-8",
			"<Error>\n  <Message>" + message + "</Message>\n</Error>"},
	} {
		t.Run(tc.provider+tc.accept, func(t *testing.T) {
			// A token of its own: its bucket holds 2 (1 + a sliver of a
			// request per RateTolerance), so the third request at once is
			// over the budget.
			token := tc.provider + tc.accept
			var resp *http.Response
			var body []byte
			for range 3 {
				req, _ := http.NewRequest(tc.method, srv.BaseURL(tc.provider)+tc.path, strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				if tc.accept != "" {
					req.Header.Set("Accept", tc.accept)
				}
				if resp, err = http.DefaultClient.Do(req); err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			// 59 s and some until the next token: 60 once rounded up.
			if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "60" ||
				resp.Header.Get("Content-Type") != tc.contentType || string(body) != tc.body {
				t.Errorf("HTTP %d, Retry-After %q, %s: %q\nwant %s: %q",
					resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), body, tc.contentType, tc.body)
			}
		})
	}
}

// TestRateLimitHeaders sends requests at once on one token until refused,
// in each header style: every answer advertises the limit and what is
// left of the token's bucket, down to none on the 429.
func TestRateLimitHeaders(t *testing.T) {
	const perSecond = 20 // a bucket of 1 + 20×250ms = 6
	for _, tc := range []struct {
		name    string
		headers RateLimitHeaders
		check   func(t *testing.T, h http.Header, remaining int, start time.Time)
	}{
		{"none", NoRateLimitHeaders, func(t *testing.T, h http.Header, _ int, _ time.Time) {
			for name := range h {
				if strings.Contains(strings.ToLower(name), "ratelimit") {
					t.Errorf("header %s: %q, want no rate-limit headers by default", name, h.Get(name))
				}
			}
		}},
		{"ietf", IETFRateLimitHeaders, func(t *testing.T, h http.Header, remaining int, _ time.Time) {
			if got := h.Get("RateLimit-Policy"); got != `"default";q=20;w=1` {
				t.Errorf("RateLimit-Policy %q", got)
			}
			// The bucket refills 20 a second: at most 1 s to be full.
			if got, want := h.Get("RateLimit"), fmt.Sprintf(`"default";r=%d;t=1`, remaining); got != want {
				t.Errorf("RateLimit %q, want %q", got, want)
			}
		}},
		{"x", XRateLimitHeaders, func(t *testing.T, h http.Header, remaining int, start time.Time) {
			reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
			if h.Get("X-RateLimit-Limit") != "20" || h.Get("X-RateLimit-Remaining") != strconv.Itoa(remaining) ||
				err != nil || reset < start.Unix() || reset > time.Now().Unix()+2 {
				t.Errorf("X-RateLimit-* %q %q %q, want 20, %d and a Unix time within 2 s",
					h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"), h.Get("X-RateLimit-Reset"), remaining)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := Start("127.0.0.1:0", Options{
				Users: 5, Seed: 1, RateLimit: httpsource.Rate{N: perSecond, Per: time.Second}, RateLimitHeaders: tc.headers,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Close() })
			start := time.Now()
			var headers []http.Header
			for status := 0; status != http.StatusTooManyRequests && len(headers) < 50; {
				req, _ := http.NewRequest(http.MethodGet, srv.BaseURL("nameshield")+"/user/v1/users?limit=10", nil)
				req.Header.Set("Authorization", "Bearer headers")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
				headers = append(headers, resp.Header)
			}
			if len(headers) < 6 || len(headers) == 50 {
				t.Fatalf("refused after %d requests, want about 7", len(headers))
			}
			// The 429 and the answer that took the last whole token have
			// none left; a refill between earlier requests, on a slow
			// machine, makes their counts uncertain.
			for _, h := range headers[len(headers)-2:] {
				tc.check(t, h, 0, start)
			}
			if tc.headers == NoRateLimitHeaders {
				tc.check(t, headers[0], 0, start)
			}
		})
	}
}
