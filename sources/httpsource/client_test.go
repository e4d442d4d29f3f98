package httpsource

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// recorded is what a test server saw of one request.
type recorded struct {
	at     time.Time
	header http.Header
	body   string
}

type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// newServer starts a real HTTP server that records every request and hands
// the handler the request's 0-based sequence number.
func newServer(t *testing.T, h func(n int, w http.ResponseWriter, r *http.Request)) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		n := len(rec.reqs)
		rec.reqs = append(rec.reqs, recorded{at: time.Now(), header: r.Header.Clone(), body: string(body)})
		rec.mu.Unlock()
		h(n, w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

// testConfig keeps waits short: tests that are not about Retry-After cap
// every backoff at 50ms.
func testConfig() ClientConfig {
	return ClientConfig{
		Job:      "medipim-be",
		Provider: "medipim",
		Timeout:  2 * time.Second,
		Retry:    Retry{MaxAttempts: 3, MaxBackoff: 50 * time.Millisecond},
	}
}

func get(url string) Request { return Request{Method: http.MethodGet, URL: url, Page: 3} }

func ok(w http.ResponseWriter) { fmt.Fprint(w, `{"ok":true}`) }

func TestDoSendsAuthHeadersAndUserAgent(t *testing.T) {
	extra := map[string]string{"X-Session-Token": "session-secret"}
	cases := []struct {
		name   string
		auth   Auth
		header string
		want   string
	}{
		{"basic", Auth{Type: AuthBasic, Username: "key-id", Password: "key-secret"},
			"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("key-id:key-secret"))},
		{"bearer", Auth{Type: AuthBearer, Token: "tok"}, "Authorization", "Bearer tok"},
		{"header", Auth{Type: AuthHeader, Name: "X-Api-Key", Value: "api-key"}, "X-Api-Key", "api-key"},
		{"none", Auth{}, "Authorization", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { ok(w) })
			cfg := testConfig()
			tc.auth.Headers = extra
			cfg.Auth, cfg.UserAgent = tc.auth, "export/1.2.3"
			req := get(srv.URL)
			req.Header = http.Header{"Accept": {"application/json"}}

			resp, err := NewClient(cfg).Do(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != http.StatusOK || string(resp.Body) != `{"ok":true}` {
				t.Errorf("response = %d %q", resp.Status, resp.Body)
			}
			h := rec.all()[0].header
			for name, want := range map[string]string{
				tc.header: tc.want, "X-Session-Token": "session-secret",
				"Accept": "application/json", "User-Agent": "export/1.2.3",
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestDoDefaultUserAgent(t *testing.T) {
	srv, rec := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { ok(w) })
	if _, err := NewClient(testConfig()).Do(t.Context(), get(srv.URL)); err != nil {
		t.Fatal(err)
	}
	if got := rec.all()[0].header.Get("User-Agent"); got != "export" {
		t.Errorf("User-Agent = %q, want export", got)
	}
}

func TestDoUnknownAuthFailsWithoutRequest(t *testing.T) {
	srv, rec := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { ok(w) })
	cfg := testConfig()
	cfg.Auth = Auth{Type: "oauth", Token: "tok"}
	_, err := NewClient(cfg).Do(t.Context(), get(srv.URL))
	if err == nil || !strings.Contains(err.Error(), `unknown auth type "oauth"`) {
		t.Fatalf("err = %v", err)
	}
	if n := len(rec.all()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestDoHonoursRetryAfterSeconds(t *testing.T) {
	srv, rec := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		ok(w)
	})
	cfg := testConfig()
	cfg.Retry.MaxBackoff = 5 * time.Second
	if _, err := NewClient(cfg).Do(t.Context(), get(srv.URL)); err != nil {
		t.Fatal(err)
	}
	reqs := rec.all()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 950*time.Millisecond {
		t.Errorf("retry came %s after the 429, want >= 1s", gap)
	}
}

func TestDoRetryAfterZeroDoesNotSpin(t *testing.T) {
	srv, rec := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	cfg := testConfig()
	cfg.Retry = Retry{MaxAttempts: 4, MaxBackoff: 100 * time.Millisecond} // floor: 100ms
	_, err := NewClient(cfg).Do(t.Context(), get(srv.URL))

	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusTooManyRequests || se.Attempts != 4 {
		t.Fatalf("err = %#v", err)
	}
	reqs := rec.all()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].at.Sub(reqs[i-1].at); gap < 90*time.Millisecond {
			t.Errorf("attempt %d came %s after the previous one, want >= the 100ms floor", i+1, gap)
		}
	}
}

func TestDoRetriesServerErrorAndResendsBody(t *testing.T) {
	srv, rec := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		ok(w)
	})
	req := Request{Method: http.MethodPost, URL: srv.URL, Body: []byte(`{"page":{"no":3}}`)}
	resp, err := NewClient(testConfig()).Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK {
		t.Errorf("status = %d", resp.Status)
	}
	reqs := rec.all()
	if len(reqs) != 2 || reqs[0].body != string(req.Body) || reqs[1].body != string(req.Body) {
		t.Errorf("requests = %+v, want the body twice", reqs)
	}
}

func TestDoGivesUpOnRepeated503(t *testing.T) {
	srv, rec := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	_, err := NewClient(testConfig()).Do(t.Context(), get(srv.URL))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusServiceUnavailable || se.Attempts != 3 {
		t.Fatalf("err = %#v", err)
	}
	for _, want := range []string{"medipim page 3", "after 3 attempts", "HTTP 503 Service Unavailable", "maintenance"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not contain %q", err, want)
		}
	}
	if n := len(rec.all()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestDoDoesNotRetryClientErrorsOr501(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 501} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv, rec := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(status)
			})
			_, err := NewClient(testConfig()).Do(t.Context(), get(srv.URL))
			var se *StatusError
			if !errors.As(err, &se) || se.Status != status || se.Attempts != 1 {
				t.Fatalf("err = %#v", err)
			}
			if n := len(rec.all()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestDoAuthErrorsNameJobAndHint(t *testing.T) {
	for status, want := range map[int]string{
		401: "HTTP 401 Unauthorized (check the job's auth: the credentials were rejected)",
		403: "HTTP 403 Forbidden (check the job's auth: the credentials may not do this)",
	} {
		srv, _ := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"error":"invalid key"}`, status)
		})
		_, err := NewClient(testConfig()).Do(t.Context(), get(srv.URL))
		wantErr := fmt.Sprintf(`medipim page 3: GET %s: %s: {"error":"invalid key"}`, srv.URL, want)
		if err == nil || err.Error() != wantErr {
			t.Errorf("err = %v\nwant %s", err, wantErr)
		}
	}
}

func TestDoBadRequestMessageExcerpt(t *testing.T) {
	long := strings.Repeat("x", 1000)
	srv, _ := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		if n == 0 {
			fmt.Fprint(w, "{\n  \"Message\":   \"PageSize must be\n\tat most 500\"\n}\n")
			return
		}
		fmt.Fprint(w, long)
	})
	c := NewClient(testConfig())
	_, err := c.Do(t.Context(), get(srv.URL))
	var se *StatusError
	if !errors.As(err, &se) || se.Message != `{ "Message": "PageSize must be at most 500" }` {
		t.Fatalf("err = %#v", err)
	}

	_, err = c.Do(t.Context(), get(srv.URL))
	if !errors.As(err, &se) || se.Message != long[:excerptBytes]+" …" {
		t.Fatalf("message of a long body = %q", se.Message)
	}
}

func TestDoAttemptTimeout(t *testing.T) {
	stall := func(r *http.Request) {
		select {
		case <-r.Context().Done(): // the client gave up
		case <-time.After(5 * time.Second):
		}
	}
	cases := map[string]func(w http.ResponseWriter, r *http.Request){
		"no headers": func(_ http.ResponseWriter, r *http.Request) { stall(r) },
		"body stalls": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			fmt.Fprint(w, `{"users":[`)
			w.(http.Flusher).Flush()
			stall(r)
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv, rec := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { h(w, r) })
			cfg := testConfig()
			cfg.Timeout, cfg.Retry.MaxAttempts = 100*time.Millisecond, 2
			_, err := NewClient(cfg).Do(t.Context(), get(srv.URL))

			var re *RequestError
			if !errors.As(err, &re) || re.Attempts != 2 {
				t.Fatalf("err = %#v", err)
			}
			var timeout interface{ Timeout() bool }
			if !errors.As(err, &timeout) || !timeout.Timeout() {
				t.Errorf("%v is not a timeout", err)
			}
			want := fmt.Sprintf(`medipim page 3: GET %s: after 2 attempts: timeout: no complete answer within 100ms`, srv.URL)
			if err.Error() != want {
				t.Errorf("err = %v\nwant %s", err, want)
			}
			if n := len(rec.all()); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}

func TestDoRetriesConnectionRefusedAndLogs(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens there any more

	var logs bytes.Buffer
	cfg := testConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	_, err := NewClient(cfg).Do(t.Context(), get(srv.URL))

	var re *RequestError
	if !errors.As(err, &re) || re.Attempts != 3 || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), `medipim page 3`) {
		t.Errorf("err = %v", err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log = %q, want one line per retry", logs.String())
	}
	for _, want := range []string{"level=WARN", "job=medipim-be", "provider=medipim", "page=3", "attempt=1", "wait=", "connection refused"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %q lacks %q", lines[0], want)
		}
	}
}

func TestDoStopsWhenCancelledDuringBackoff(t *testing.T) {
	first := make(chan struct{})
	var once sync.Once
	srv, rec := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		once.Do(func() { close(first) })
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	cfg := testConfig()
	cfg.Retry.MaxBackoff = time.Minute
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-first
		time.Sleep(50 * time.Millisecond) // well into the 30s wait
		cancel()
	}()
	start := time.Now()
	_, err := NewClient(cfg).Do(ctx, get(srv.URL))
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Do returned %s after the cancel", elapsed)
	}
	var re *RequestError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &re) || re.Job != "medipim-be" {
		t.Fatalf("err = %#v", err)
	}
	if n := len(rec.all()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestDoRateLimitSpacesRequests(t *testing.T) {
	srv, rec := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { ok(w) })
	cfg := testConfig()
	cfg.Rate = Rate{N: 20, Per: time.Second} // one every 50ms
	c := NewClient(cfg)
	start := time.Now()
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if _, err := c.Do(t.Context(), get(srv.URL)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if elapsed := time.Since(start); elapsed < 180*time.Millisecond {
		t.Errorf("5 requests at 20/s took %s, want >= 200ms", elapsed)
	}
	if n := len(rec.all()); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
}

func TestDoRetryTakesARateToken(t *testing.T) {
	srv, rec := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		ok(w)
	})
	cfg := testConfig()
	cfg.Rate = Rate{N: 5, Per: time.Second} // one every 200ms
	cfg.Retry.MaxBackoff = time.Millisecond // the limiter, not the backoff, sets the pace
	if _, err := NewClient(cfg).Do(t.Context(), get(srv.URL)); err != nil {
		t.Fatal(err)
	}
	reqs := rec.all()
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 180*time.Millisecond {
		t.Errorf("retry came %s after the first attempt, want >= 200ms", gap)
	}
}

func TestDoKeepsSecretsOutOfErrorsAndLogs(t *testing.T) {
	// The server echoes every credential it got, as some APIs do.
	srv, _ := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		status := http.StatusInternalServerError
		if n > 0 {
			status = http.StatusUnauthorized
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "rejected %s / %s", r.Header.Get("Authorization"), r.Header.Get("X-Session-Token"))
	})
	auth := Auth{Type: AuthBasic, Username: "key-id", Password: "pa55word", Headers: map[string]string{"X-Session-Token": "sess10n"}}
	secrets := []string{"pa55word", "sess10n", auth.basicToken(), "urlpa55"}

	var logs bytes.Buffer
	cfg := testConfig()
	cfg.Auth, cfg.Logger = auth, slog.New(slog.NewTextHandler(&logs, nil))
	withPassword := strings.Replace(srv.URL, "http://", "http://someone:urlpa55@", 1)
	_, err := NewClient(cfg).Do(t.Context(), get(withPassword))
	if err == nil || !strings.Contains(err.Error(), "rejected Basic [redacted] / [redacted]") {
		t.Fatalf("err = %v", err)
	}
	printed := fmt.Sprintf("%v %+v %#v %s %v", err, cfg, cfg, cfg.Auth, logs.String())
	for _, s := range secrets {
		if strings.Contains(printed, s) {
			t.Errorf("secret %q printed in %s", s, printed)
		}
	}
}

func TestDoFollowsRedirectsOnlyToTheSameHost(t *testing.T) {
	other, otherRec := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { ok(w) })
	srv, rec := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/here", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other.URL, http.StatusFound)
		default:
			ok(w)
		}
	})
	cfg := testConfig()
	cfg.Auth = Auth{Type: AuthHeader, Name: "X-Api-Key", Value: "api-key"}
	c := NewClient(cfg)

	if _, err := c.Do(t.Context(), get(srv.URL+"/moved")); err != nil {
		t.Fatal(err)
	}
	if reqs := rec.all(); len(reqs) != 2 || reqs[1].header.Get("X-Api-Key") != "api-key" {
		t.Errorf("same-host redirect: %+v", reqs)
	}

	_, err := c.Do(t.Context(), get(srv.URL+"/away"))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusFound {
		t.Fatalf("err = %#v", err)
	}
	if n := len(otherRec.all()); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
}

func TestRetryWait(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	floor, ceiling := 500*time.Millisecond, 10*time.Second
	answer := func(status int, retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	exact := []struct {
		name string
		resp *http.Response
		want time.Duration
	}{
		{"seconds", answer(429, "3"), 3 * time.Second},
		{"503 seconds", answer(503, "2"), 2 * time.Second},
		{"zero takes the floor", answer(429, "0"), floor},
		{"capped", answer(429, "3600"), ceiling},
		{"huge capped", answer(429, "99999999999999999"), ceiling},
		{"date", answer(503, now.Add(4*time.Second).Format(http.TimeFormat)), 4 * time.Second},
		{"past date takes the floor", answer(429, now.Add(-time.Hour).Format(http.TimeFormat)), floor},
	}
	for _, tc := range exact {
		if got := retryWait(floor, ceiling, 0, tc.resp, now); got != tc.want {
			t.Errorf("%s: wait = %s, want %s", tc.name, got, tc.want)
		}
	}

	backoff := []struct {
		name   string
		resp   *http.Response
		n      int
		lo, hi time.Duration
	}{
		{"connection error", nil, 0, floor, 2 * floor},
		{"500 ignores Retry-After", answer(500, "5"), 0, floor, 2 * floor},
		{"unparsable", answer(429, "soon"), 0, floor, 2 * floor},
		{"third retry", answer(502, ""), 2, 4 * floor, 8 * floor},
		{"capped", nil, 30, ceiling / 2, ceiling},
	}
	for _, tc := range backoff {
		for range 100 {
			if got := retryWait(floor, ceiling, tc.n, tc.resp, now); got < tc.lo || got > tc.hi {
				t.Fatalf("%s: wait = %s, want within [%s, %s]", tc.name, got, tc.lo, tc.hi)
			}
		}
	}
}

func TestStatusErrorFormat(t *testing.T) {
	err := &StatusError{
		Job: "medipim-be", Provider: "medipim", Page: 3, Method: "POST",
		URL: "https://host/v4/users/query", Status: 401, Message: "bad key", Attempts: 1,
	}
	want := `medipim page 3: POST https://host/v4/users/query: HTTP 401 Unauthorized (check the job's auth: the credentials were rejected): bad key`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

// decodeJSON is a Decode that accepts only a complete JSON document.
func decodeJSON(body []byte) error {
	var v any
	return json.Unmarshal(body, &v)
}

func TestDoRetriesAnAnswerDecodeRejects(t *testing.T) {
	srv, rec := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n < 2 {
			fmt.Fprint(w, `{"ok":tr`) // a 200 cut short: HTTP cannot tell
			return
		}
		ok(w)
	})
	req := get(srv.URL)
	var decoded string
	req.Decode = func(body []byte) error {
		if err := decodeJSON(body); err != nil {
			return err
		}
		decoded = string(body)
		return nil
	}
	resp, err := NewClient(testConfig()).Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if decoded != `{"ok":true}` || len(rec.all()) != 3 {
		t.Errorf("decoded %q after %d requests, want the good answer on the third", decoded, len(rec.all()))
	}
	if resp.Body != nil {
		t.Errorf("the response keeps the body Decode took: %q", resp.Body)
	}
}

func TestDoGivesUpOnAlwaysMalformedAnswers(t *testing.T) {
	// A 500 first: retries of either kind draw on the same attempts.
	srv, rec := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, `{"results": `)
	})
	req := get(srv.URL)
	req.Decode = decodeJSON
	_, err := NewClient(testConfig()).Do(t.Context(), req)
	var re *RequestError
	if !errors.As(err, &re) || re.Attempts != 3 {
		t.Fatalf("err = %#v, want a RequestError after 3 attempts", err)
	}
	for _, want := range []string{"medipim page 3: GET " + srv.URL, "after 3 attempts", "malformed answer: unexpected end of JSON input"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not contain %q", err, want)
		}
	}
	if n := len(rec.all()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// MaxRequests bounds what a client sends over all its calls, retries
// included: a retry past it is not sent (the last answer is the error),
// and a call with none left fails saying why.
func TestMaxRequestsBoundsEveryAttempt(t *testing.T) {
	srv, rec := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			ok(w)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	cfg := testConfig()
	cfg.Retry.MaxAttempts, cfg.MaxRequests = 6, 3
	c := NewClient(cfg)
	if _, err := c.Do(context.Background(), get(srv.URL)); err != nil {
		t.Fatal(err)
	}
	_, err := c.Do(context.Background(), get(srv.URL))
	if se, ok := errors.AsType[*StatusError](err); !ok || se.Status != http.StatusServiceUnavailable || se.Attempts != 2 {
		t.Fatalf("err = %v, want the 503 after 2 attempts", err)
	}
	_, err = c.Do(context.Background(), get(srv.URL))
	if err == nil || !strings.Contains(err.Error(), "at most 3 requests") {
		t.Fatalf("err = %v, want the bound named", err)
	}
	if n := len(rec.all()); n != 3 || c.Stats().Requests != 3 {
		t.Errorf("the server saw %d requests, the client counts %d; want 3", n, c.Stats().Requests)
	}
}
