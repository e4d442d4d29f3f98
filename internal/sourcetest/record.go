package sourcetest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Recorder is a handler that keeps every request it is sent, then has
// Next answer it. Mounted, it sees the path with the mount point
// stripped.
type Recorder struct {
	Next http.Handler

	mu   sync.Mutex
	reqs []Recorded
}

// Recorded is a request a Recorder kept: a clone of it, and its body as
// sent (which stands for the clone's, read already).
type Recorded struct {
	*http.Request
	Body string
}

func (rec *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, Recorded{r.Clone(context.Background()), string(body)})
	rec.mu.Unlock()
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	rec.Next.ServeHTTP(w, r)
}

// Take returns the requests kept since the last Take, in the order they
// came, and forgets them.
func (rec *Recorder) Take() []Recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	reqs := rec.reqs
	rec.reqs = nil
	return reqs
}

// JSON is a handler that answers every request with body, as JSON: an
// API's answer that a test makes up.
func JSON(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	})
}
