package simulator

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
)

// answerCacheBytes bounds the bodies one provider's answerCache keeps:
// every page of 3 × 50,000 users in bench/run.sh (Requestor's 75 MB the
// most), the first few hundred pages of a million.
const answerCacheBytes = 128 << 20

// maxKeyedBody is the largest request body a request is cached by; a
// query is under 1 KB.
const maxKeyedBody = 64 << 10

// answerCache keeps the answers a provider gave at its population's
// current version, by request, so that a request asked again (the
// confirming read, a page retried) costs a lookup instead of generating
// and encoding its users again. An API's work is done on its own
// machines; the simulator's is done on the cores of the exporter a
// benchmark measures beside it, and there twice the encoding of every
// page made the confirming read cost the exporter a tenth more CPU time.
// Only the first answerCacheBytes of a version are kept: a second read
// in the order of the first then finds its first pages.
type answerCache struct {
	limit int

	mu      sync.Mutex
	version uint64
	size    int
	byKey   map[string]keptAnswer
}

// keptAnswer is an answer as given: shared by every request it answers,
// so never written to.
type keptAnswer struct {
	code   int
	header http.Header
	body   []byte
}

func keep(rec *httptest.ResponseRecorder) keptAnswer {
	return keptAnswer{code: rec.Code, header: rec.Header().Clone(), body: rec.Body.Bytes()}
}

func newAnswerCache(limit int) *answerCache {
	return &answerCache{limit: limit, byKey: map[string]keptAnswer{}}
}

// get is the answer kept for key at version.
func (c *answerCache) get(version uint64, key string) (keptAnswer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.byKey[key]
	return a, ok && c.version == version
}

// put keeps a, the answer to key at version, while there is room; a
// newer version drops every answer of the older.
func (c *answerCache) put(version uint64, key string, a keptAnswer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case version < c.version:
		return
	case version > c.version:
		c.version, c.size = version, 0
		clear(c.byKey)
	}
	if _, kept := c.byKey[key]; !kept && c.size+len(a.body) <= c.limit { // two at once may both miss
		c.byKey[key] = a
		c.size += len(a.body)
	}
}

// requestKey is what an answer depends on in r: its method, URI, headers
// and body. It reads the body and gives r another with the same bytes. ok
// is false for a body too large to key by, or one that cannot be read:
// such a request is answered afresh.
func requestKey(r *http.Request) (key string, ok bool) {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxKeyedBody+1))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		if err != nil || len(body) > maxKeyedBody {
			return "", false
		}
	}
	var b strings.Builder
	b.WriteString(r.Method + " " + r.URL.RequestURI() + "\n")
	for _, name := range slices.Sorted(maps.Keys(r.Header)) {
		for _, v := range r.Header[name] {
			b.WriteString(name + ": " + v + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(body)
	return b.String(), true
}
