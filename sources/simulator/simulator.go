// Package simulator serves every provider's API from generated people, in
// each provider's own wire format: for `export simulate`, for jobs with
// `base_url: simulator`, and for tests.
package simulator

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/kare"
	"github.com/saas-export/export/sources/mctime"
	"github.com/saas-export/export/sources/medipim"
	"github.com/saas-export/export/sources/nameshield"
	"github.com/saas-export/export/sources/requestor"
	"github.com/saas-export/export/sources/simdata"
)

// Options shape the simulated data and behaviour.
type Options struct {
	Users   int           // people per provider, before drift
	Seed    uint64        // same seed, same people and the same requests faulted
	Latency time.Duration // how long every response takes, the simulator's own work included
	Faults  Faults        // injected failures and drift
	// RateLimit, when set, is each credential's budget at each provider:
	// a token bucket (see RateTolerance) over the requests with one
	// Authorization header and x-session-token header. A request over it
	// gets 429 with Retry-After and the provider's error body, and neither
	// reaches the API nor counts towards faults and drift. Header auth
	// other than x-session-token is not told apart: all such clients of a
	// provider share one budget.
	RateLimit httpsource.Rate
	// RateLimitHeaders is how the rate limit advertises itself on every
	// answer; by default it does not.
	RateLimitHeaders RateLimitHeaders
}

// DefaultUsers is the population the built-in simulator serves when a job
// uses `base_url: simulator`: enough for several pages at every page size.
const DefaultUsers = 2000

// Handler serves every registered provider under /<provider name>, so a
// provider's base_url is http://HOST/<name>. Each provider has its own
// population, which drift changes.
type Handler struct {
	latency   time.Duration
	mux       *http.ServeMux
	providers map[string]*provider

	mu     sync.Mutex
	faults map[string]uint64 // injected, by kind
}

// provider is one provider's simulator with its population, faults and
// counters.
type provider struct {
	h          *Handler
	name       string
	sim        http.Handler
	refuse     func(w http.ResponseWriter, r *http.Request, status int, message string) // the provider's error answer
	pop        *simdata.Population
	ids        func(*simdata.People) []string
	permanent  []Fault // KIND@K
	rates      []Fault // KIND:RATE
	salt       uint64  // so that seeds and providers fault different requests
	requests   atomic.Uint64
	pages      atomic.Uint64
	driftsDone atomic.Int64
	accounts   *accounts
	answers    *answerCache

	// While drift is pending, data pages are produced one at a time, so
	// that the K-th is the K-th produced and the next sees the change.
	drifting atomic.Bool
	mu       sync.Mutex
	drift    []Drift // pending, in firing order
}

// simulatedIDs lists each provider's ids as the exporter writes them.
var simulatedIDs = map[string]func(*simdata.People) []string{
	kare.Name:       kare.SimulatedIDs,
	mctime.Name:     mctime.SimulatedIDs,
	medipim.Name:    medipim.SimulatedIDs,
	nameshield.Name: nameshield.SimulatedIDs,
	requestor.Name:  requestor.SimulatedIDs,
}

// NewHandler returns a simulator of every provider.
func NewHandler(opts Options) *Handler {
	h := &Handler{latency: opts.Latency, mux: http.NewServeMux(), providers: map[string]*provider{}, faults: map[string]uint64{}}
	for _, sp := range sources.All() {
		if sp.Simulator == nil {
			continue
		}
		pop := simdata.NewPopulation(opts.Users, opts.Seed)
		p := &provider{
			h: h, name: sp.Name, sim: sp.Simulator(pop.People()), refuse: sp.SimulatorRefusal, pop: pop, ids: simulatedIDs[sp.Name],
			salt:     mix(opts.Seed ^ hashName(sp.Name)),
			accounts: &accounts{limit: opts.RateLimit, headers: opts.RateLimitHeaders, byKey: map[string]*account{}},
			answers:  newAnswerCache(answerCacheBytes),
		}
		for _, f := range opts.Faults.Requests {
			switch {
			case !f.appliesTo(sp.Name):
			case f.From > 0:
				p.permanent = append(p.permanent, f)
			default:
				p.rates = append(p.rates, f)
			}
		}
		for _, d := range opts.Faults.Drift {
			if d.Provider == "" || d.Provider == sp.Name {
				p.drift = append(p.drift, d)
			}
		}
		slices.SortStableFunc(p.drift, func(a, b Drift) int { return cmp.Compare(a.After, b.After) })
		p.drifting.Store(len(p.drift) > 0)
		h.providers[sp.Name] = p
		prefix := "/" + sp.Name
		h.mux.Handle(prefix+"/", http.StripPrefix(prefix, p))
	}
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.latency <= 0 {
		h.mux.ServeHTTP(w, r)
		return
	}
	pw := &pacedWriter{ResponseWriter: w, ctx: r.Context(), due: time.Now().Add(h.latency)}
	h.mux.ServeHTTP(pw, r)
	pw.wait() // an answer with nothing written is due then too
}

// pacedWriter holds a response back until it is due, so that the time
// the simulator spends producing it counts towards the latency, as an
// API's own work does: a client measuring the API sees the latency asked
// for, not that plus the simulator's.
type pacedWriter struct {
	http.ResponseWriter
	ctx    context.Context
	due    time.Time
	waited bool
}

func (w *pacedWriter) wait() {
	if w.waited {
		return
	}
	w.waited = true
	t := time.NewTimer(time.Until(w.due))
	defer t.Stop()
	select {
	case <-t.C:
	case <-w.ctx.Done():
	}
}

func (w *pacedWriter) WriteHeader(code int) {
	w.wait()
	w.ResponseWriter.WriteHeader(code)
}

func (w *pacedWriter) Write(b []byte) (int, error) {
	w.wait()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (a fault
// hijacks it), once the response is due.
func (w *pacedWriter) Unwrap() http.ResponseWriter {
	w.wait()
	return w.ResponseWriter
}

func (p *provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The limit stands in front of the API, as a provider's gateway does:
	// a refused request takes no request number, so the same seed still
	// faults the same requests the API serves.
	if ok, retryAfter := p.accounts.admit(w.Header(), r); !ok {
		p.writeLimited(w, r, retryAfter)
		return
	}
	n := p.requests.Add(1)
	if f := pick(p.permanent, p.rates, p.salt, n); f != nil {
		p.h.mu.Lock()
		p.h.faults[f.Kind]++
		p.h.mu.Unlock()
		inject(w, r, f, func() *httptest.ResponseRecorder { return p.answer(r, false) })
		return
	}
	a := p.cachedAnswer(r)
	maps.Copy(w.Header(), a.header.Clone()) // w's may be added to; a's is shared
	w.WriteHeader(a.code)
	_, _ = w.Write(a.body) // the client has gone if this fails
}

// cachedAnswer is answer(r, true), the answer kept for r when the
// population has not changed since it was given. Not while drift is
// pending: that counts the pages produced, one at a time.
func (p *provider) cachedAnswer(r *http.Request) keptAnswer {
	if p.drifting.Load() {
		return keep(p.answer(r, true))
	}
	key, ok := requestKey(r)
	if !ok {
		return keep(p.answer(r, true))
	}
	version := p.pop.Version()
	if a, ok := p.answers.get(version, key); ok {
		if a.code == http.StatusOK {
			p.pages.Add(1)
		}
		return a
	}
	a := keep(p.answer(r, true))
	if p.pop.Version() == version { // else a may be of either
		p.answers.put(version, key, a)
	}
	return a
}

// answer produces the provider's response to r. A data page counts
// towards drift when count is set, and the drift due after it is applied
// before anyone else is answered.
func (p *provider) answer(r *http.Request, count bool) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	if !p.drifting.Load() {
		p.sim.ServeHTTP(rec, r)
		if count && rec.Code == http.StatusOK {
			p.pages.Add(1)
		}
		return rec
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sim.ServeHTTP(rec, r)
	if !count || rec.Code != http.StatusOK {
		return rec
	}
	page := p.pages.Add(1)
	for len(p.drift) > 0 && p.drift[0].After <= page {
		p.pop.Delete(p.drift[0].Delete)
		p.pop.Insert(p.drift[0].Insert)
		p.drift = p.drift[1:]
		p.driftsDone.Add(1)
	}
	p.drifting.Store(len(p.drift) > 0)
	return rec
}

// Users returns the people present now at provider, in natural order; nil
// for an unknown provider.
func (h *Handler) Users(provider string) []simdata.Person {
	p, ok := h.providers[provider]
	if !ok {
		return nil
	}
	return p.pop.People().Present()
}

// IDs returns the ids of the people present now at provider, as the
// exporter writes them, in the order of Users: everyone, active or not and
// deleted or not by the provider's own rule. It is what an export of the
// provider's default listings without a filter holds once drift is over.
func (h *Handler) IDs(provider string) []string {
	p, ok := h.providers[provider]
	if !ok {
		return nil
	}
	return p.ids(p.pop.People())
}

// Touch marks k people present at provider (see simdata.Population.Touch)
// as updated now, to the second, and returns their ids as the exporter
// writes them; nil for an unknown provider. An incremental run whose window
// starts at or before the second Touch ran in sees them.
func (h *Handler) Touch(provider string, k int) []string {
	p, ok := h.providers[provider]
	if !ok {
		return nil
	}
	// Drift mutates the population only under p.mu: holding it, the ids
	// below are listed in the order of snap.
	p.mu.Lock()
	defer p.mu.Unlock()
	touched := map[int]bool{}
	for _, i := range p.pop.Touch(k, time.Now()) {
		touched[i] = true
	}
	snap := p.pop.Snapshot()
	var ids []string
	for k, id := range p.ids(p.pop.People()) {
		if touched[snap.Index(k)] {
			ids = append(ids, id)
		}
	}
	return ids
}

// Stats counts what a simulator did.
type Stats struct {
	Requests map[string]uint64 // by provider: every request under /<name>/ that the rate limit let through
	Pages    map[string]uint64 // by provider: data pages answered without a fault, as drift counts them
	Drifts   map[string]int    // by provider: drift entries applied
	Faults   map[string]uint64 // by kind, as the spec names it: "429", "reset", ...
	// Accounts counts each credential's requests, served and refused by
	// Options.RateLimit, by provider and then credential fingerprint.
	Accounts []AccountStats
}

// Stats returns the counts so far.
func (h *Handler) Stats() Stats {
	st := Stats{Requests: map[string]uint64{}, Pages: map[string]uint64{}, Drifts: map[string]int{}, Faults: map[string]uint64{}}
	for name, p := range h.providers {
		st.Requests[name] = p.requests.Load()
		st.Pages[name] = p.pages.Load()
		st.Drifts[name] = int(p.driftsDone.Load())
	}
	for _, name := range slices.Sorted(maps.Keys(h.providers)) {
		st.Accounts = append(st.Accounts, h.providers[name].accounts.stats(name)...)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	maps.Copy(st.Faults, h.faults)
	return st
}

// hashName puts a provider's name into the fault hash.
func hashName(name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name)) // a hash.Hash never fails
	return h.Sum64()
}

// Server is a running simulator.
type Server struct {
	URL string // http://HOST:PORT
	*Handler
	srv *http.Server
}

// Start listens on addr ("127.0.0.1:0" for any free port) and serves until
// Close.
func Start(addr string, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simulator: listen on %s: %w", addr, err)
	}
	h := NewHandler(opts)
	s := &Server{
		URL:     "http://" + ln.Addr().String(),
		Handler: h,
		srv:     &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
	}
	go func() { _ = s.srv.Serve(ln) }() // Serve returns ErrServerClosed on Close
	return s, nil
}

// BaseURL is the base_url a job uses to reach provider on this server.
func (s *Server) BaseURL(provider string) string { return s.URL + "/" + provider }

// Close stops the server at once. Graceful shutdown would wait for
// connections a client opened but never used, and a simulator has no
// request worth finishing once its caller is done.
func (s *Server) Close() error { return s.srv.Close() }
