// Package simulator serves every provider's API from generated people, in
// each provider's own wire format: for `export simulate`, for jobs with
// `base_url: simulator`, and for tests.
package simulator

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/simdata"
)

// Options shape the simulated data and behaviour.
type Options struct {
	Users   int           // people per provider
	Seed    uint64        // same seed, same people
	Latency time.Duration // added to every response
	Faults  Faults        // injected failures
}

// DefaultUsers is the population the built-in simulator serves when a job
// uses `base_url: simulator`: enough for several pages at every page size.
const DefaultUsers = 2000

// Handler serves every registered provider under /<provider name>, so a
// provider's base_url is http://HOST/<name>.
func Handler(opts Options) http.Handler {
	people := &simdata.People{N: opts.Users, Seed: opts.Seed}
	mux := http.NewServeMux()
	for _, p := range sources.All() {
		if p.Simulator == nil {
			continue
		}
		prefix := "/" + p.Name
		mux.Handle(prefix+"/", http.StripPrefix(prefix, p.Simulator(people)))
	}
	var requests atomic.Uint64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		if opts.Latency > 0 {
			select {
			case <-time.After(opts.Latency):
			case <-r.Context().Done():
				return
			}
		}
		if opts.Faults.inject(w, r, n) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Server is a running simulator.
type Server struct {
	URL string // http://HOST:PORT
	srv *http.Server
}

// Start listens on addr ("127.0.0.1:0" for any free port) and serves until
// Close.
func Start(addr string, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simulator: listen on %s: %w", addr, err)
	}
	s := &Server{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: Handler(opts), ReadHeaderTimeout: 10 * time.Second},
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

// Faults injects failures into a deterministic share of requests: each
// entry fails every request whose number, scaled by a fixed hash, falls
// under its rate, so a run with the same spec fails the same requests.
type Faults []Fault

// Fault is one kind of failure and the share of requests it hits.
type Fault struct {
	Kind string  // an HTTP status such as 429, 500, 503, or "timeout"
	Rate float64 // 0..1
}

// ParseFaults reads a spec like "429:0.05,500:0.02,timeout:0.01".
func ParseFaults(spec string) (Faults, error) {
	var out Faults
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(spec, ",") {
		kind, rate, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("faults: %q: want KIND:RATE, e.g. 429:0.05", part)
		}
		r, err := strconv.ParseFloat(rate, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("faults: %q: rate must be a number from 0 to 1", part)
		}
		if kind != "timeout" {
			code, err := strconv.Atoi(kind)
			if err != nil || code < 400 || code > 599 {
				return nil, fmt.Errorf("faults: %q: kind must be an HTTP error status (400-599) or timeout", part)
			}
		}
		out = append(out, Fault{Kind: kind, Rate: r})
	}
	return out, nil
}

func (fs Faults) inject(w http.ResponseWriter, r *http.Request, n uint64) bool {
	// Each fault draws from its own slice of [0,1) so rates add up.
	x := float64(mix(n)%1_000_000) / 1_000_000
	lo := 0.0
	for _, f := range fs {
		if x < lo || x >= lo+f.Rate {
			lo += f.Rate
			continue
		}
		if f.Kind == "timeout" {
			// Hold the request until the client gives up.
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Minute):
			}
			return true
		}
		code, _ := strconv.Atoi(f.Kind)
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"message":"simulated fault %d"}`, code)
		return true
	}
	return false
}

// mix is SplitMix64's finalizer: request numbers to well-spread values.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
