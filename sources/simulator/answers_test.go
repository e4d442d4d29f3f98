package simulator

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// counted wraps each provider's API so that a test sees how many answers
// it produced, as against those the cache gave.
func counted(t *testing.T, h *Handler, provider string) *atomic.Int64 {
	t.Helper()
	p := h.providers[provider]
	if p == nil {
		t.Fatalf("no provider %s", provider)
	}
	var n atomic.Int64
	inner := p.sim
	p.sim = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		inner.ServeHTTP(w, r)
	})
	return &n
}

func ask(t *testing.T, h http.Handler, method, target, body string, header http.Header) (int, []byte) {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

// TestAnswersAskedAgainAreKept checks that a request asked again is
// answered byte for byte as before without the API producing it again,
// that any other method, URI, header or body is answered afresh, and that
// a change to the population (a touch) is never hidden by a kept answer.
func TestAnswersAskedAgainAreKept(t *testing.T) {
	h := NewHandler(Options{Users: 300, Seed: 4})
	produced := counted(t, h, "nameshield")
	bearer := http.Header{"Authorization": {"Bearer t"}}
	page := "/nameshield/user/v1/users?limit=100&offset=100"

	code, first := ask(t, h, "GET", page, "", bearer)
	if code != 200 {
		t.Fatalf("HTTP %d: %s", code, first)
	}
	if _, again := ask(t, h, "GET", page, "", bearer); !bytes.Equal(again, first) || produced.Load() != 1 {
		t.Fatalf("asked again: %d answers produced, same bytes %v; want 1, true", produced.Load(), bytes.Equal(again, first))
	}
	if got := h.Stats().Pages["nameshield"]; got != 2 {
		t.Errorf("Stats counts %d pages, want 2: a kept answer is still a page served", got)
	}
	ask(t, h, "GET", "/nameshield/user/v1/users?limit=100&offset=200", "", bearer)
	ask(t, h, "GET", page, "", http.Header{"Authorization": {"Bearer u"}})
	if produced.Load() != 3 {
		t.Errorf("another URI and another token: %d answers produced in all, want 3", produced.Load())
	}

	touched := h.Touch("nameshield", 300)
	_, after := ask(t, h, "GET", page, "", bearer)
	if produced.Load() != 4 || bytes.Equal(after, first) {
		t.Fatalf("after touching %d people: %d answers produced, same bytes %v; want 4, false", len(touched), produced.Load(), bytes.Equal(after, first))
	}

	// A POST is told apart by its body, which reaches the API whole.
	produced = counted(t, h, "requestor")
	json := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Basic dTpw"}}
	var bodies [][]byte
	for _, body := range []string{`{"PageIndex": 0, "PageSize": 50}`, `{"PageIndex": 1, "PageSize": 50}`, `{"PageIndex": 0, "PageSize": 50}`} {
		code, b := ask(t, h, "POST", "/requestor/api/Account/GetUsers", body, json)
		if code != 200 {
			t.Fatalf("%s: HTTP %d: %s", body, code, b)
		}
		bodies = append(bodies, b)
	}
	if produced.Load() != 2 || bytes.Equal(bodies[0], bodies[1]) || !bytes.Equal(bodies[0], bodies[2]) {
		t.Errorf("pages 0, 1, 0: %d answers produced, want 2, page 0 twice the same and page 1 another", produced.Load())
	}
}

// TestAnswersAreNotKeptWhileDriftIsPending: drift counts the pages the API
// produces, so until it has fired, each request is answered afresh.
func TestAnswersAreNotKeptWhileDriftIsPending(t *testing.T) {
	faults, err := ParseFaults("nameshield/drift:1/0@3")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(Options{Users: 300, Seed: 4, Faults: faults})
	produced := counted(t, h, "nameshield")
	bearer := http.Header{"Authorization": {"Bearer t"}}
	var totals []string
	for range 4 {
		_, b := ask(t, h, "GET", "/nameshield/user/v1/users?limit=10", "", bearer)
		totals = append(totals, string(b[bytes.Index(b, []byte(`"total"`)):][:12]))
	}
	if produced.Load() != 4 || totals[2] != `"total":300,` || totals[3] != `"total":299,` {
		t.Errorf("%d answers produced for 4 requests, totals %q; want 4, the 4th after the drift", produced.Load(), totals)
	}
}

// TestAnswerCacheKeepsTheFirstAnswersOfAVersion checks the bound and the
// versions: answers beyond the limit are not kept, and a newer version
// drops the older's.
func TestAnswerCacheKeepsTheFirstAnswersOfAVersion(t *testing.T) {
	answer := func(body string) keptAnswer { return keptAnswer{code: http.StatusOK, body: []byte(body)} }
	c := newAnswerCache(10)
	c.put(1, "a", answer("123456"))
	c.put(1, "b", answer("123456")) // 12 bytes: over
	c.put(1, "a", answer("123456")) // again: kept once
	c.put(1, "c", answer("1234"))
	for key, want := range map[string]bool{"a": true, "b": false, "c": true} {
		if _, ok := c.get(1, key); ok != want {
			t.Errorf("version 1, %s kept: %v, want %v", key, ok, want)
		}
	}
	if _, ok := c.get(2, "a"); ok {
		t.Error("an answer of version 1 served at version 2")
	}
	c.put(2, "b", answer("123456"))
	c.put(1, "d", answer("1"))
	if _, ok := c.get(2, "b"); !ok {
		t.Error("version 2's answer not kept once version 1's were dropped")
	}
	if _, ok := c.get(1, "a"); ok {
		t.Error("version 1's answers kept after version 2's")
	}
	if _, ok := c.get(1, "d"); ok {
		t.Error("an answer of an older version kept")
	}
}
