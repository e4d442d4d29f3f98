package simulator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/simdata"
)

// Faults is a parsed faults spec: failures injected into requests, and
// drift applied to the population while a client pages.
type Faults struct {
	Requests []Fault // in spec order
	Drift    []Drift // in spec order
}

// Fault is one kind of failure and the requests it hits: a share of them
// (Rate), or every one from a request number on (From). Requests are
// numbered per provider from 1.
type Fault struct {
	Provider string  // "": every provider
	Kind     string  // see ParseFaults
	Rate     float64 // 0..1, when From is 0
	From     uint64  // >= 1: every request from this one on; 0: Rate applies
}

// Drift deletes and inserts people once, right after the provider's
// After-th data page (a 200 from its endpoint, no fault) was produced and
// before the next request is answered.
type Drift struct {
	Provider       string // "": every provider, each its own population
	Delete, Insert int
	After          uint64 // >= 1
}

// Fault kinds other than an HTTP error status.
const (
	Kind429NoRetry       = "429-noretry"       // 429 without Retry-After
	KindTimeout          = "timeout"           // no answer until the client gives up
	KindSlow             = "slow"              // the same as timeout
	KindReset            = "reset"             // the connection is reset, no answer
	KindTruncate         = "truncate"          // half the body, then the connection closes short of Content-Length
	KindTruncateNoLength = "truncate-nolength" // half the body, no Content-Length, then a clean close
	KindMalformed        = "malformed"         // the body's first half overwritten, so it does not parse
)

var kinds = []string{Kind429NoRetry, KindTimeout, KindSlow, KindReset, KindTruncate, KindTruncateNoLength, KindMalformed}

// ParseFaults reads a comma-separated faults spec such as
// "429:0.05,500:0.02,timeout:0.01,nameshield/401@40,drift:5/3@2". Entries:
//
//	[PROVIDER/]KIND:RATE       a share RATE (0 to 1) of requests fail with KIND
//	[PROVIDER/]KIND@K          every request from the K-th on fails with KIND
//	[PROVIDER/]drift:DEL/INS@K right after the K-th data page, delete DEL
//	                           people and insert INS new ones, once
//
// KIND is an HTTP error status (400-599; 429 and 503 come with
// Retry-After: 1, 401 with {"message":"token expired"}) or one of
// 429-noretry, timeout (no answer for 5 minutes, or until the client
// gives up), slow (an alias of timeout), reset, truncate,
// truncate-nolength and malformed. Requests are numbered per provider from
// 1, faulted or not; its pages are its 200s without a fault. Without
// PROVIDER/ an entry applies to every provider, each with its own count
// and population. Which requests a rate hits depends on the request
// number, the provider and the seed; the rates that apply to one provider
// must add up to 1 at most.
func ParseFaults(spec string) (Faults, error) {
	var out Faults
	if strings.TrimSpace(spec) == "" {
		return out, nil
	}
	for _, part := range strings.Split(spec, ",") {
		text := strings.TrimSpace(part)
		entry, provider := text, ""
		if scope, rest, ok := strings.Cut(entry, "/"); ok && !strings.ContainsAny(scope, ":@") {
			if !slices.Contains(providerNames(), scope) {
				return Faults{}, fmt.Errorf("faults: %q: unknown provider %q; providers: %s", text, scope, strings.Join(providerNames(), ", "))
			}
			provider, entry = scope, rest
		}
		if rest, ok := strings.CutPrefix(entry, "drift:"); ok {
			d, err := parseDrift(rest)
			if err != nil {
				return Faults{}, fmt.Errorf("faults: %q: %w", text, err)
			}
			d.Provider = provider
			out.Drift = append(out.Drift, d)
			continue
		}
		f, err := parseFault(entry)
		if err != nil {
			return Faults{}, fmt.Errorf("faults: %q: %w", text, err)
		}
		f.Provider = provider
		out.Requests = append(out.Requests, f)
	}
	if err := out.check(); err != nil {
		return Faults{}, err
	}
	return out, nil
}

func parseFault(entry string) (Fault, error) {
	if kind, rate, ok := strings.Cut(entry, ":"); ok {
		r, err := strconv.ParseFloat(rate, 64)
		if err != nil || r < 0 || r > 1 {
			return Fault{}, fmt.Errorf("rate must be a number from 0 to 1")
		}
		return Fault{Kind: kind, Rate: r}, checkKind(kind)
	}
	if kind, from, ok := strings.Cut(entry, "@"); ok {
		k, err := strconv.ParseUint(from, 10, 64)
		if err != nil || k < 1 {
			return Fault{}, fmt.Errorf("the request number after @ must be an integer from 1")
		}
		return Fault{Kind: kind, From: k}, checkKind(kind)
	}
	return Fault{}, fmt.Errorf("want KIND:RATE, KIND@K or drift:DEL/INS@K, e.g. 429:0.05")
}

func checkKind(kind string) error {
	if slices.Contains(kinds, kind) {
		return nil
	}
	if code, err := strconv.Atoi(kind); err == nil && code >= 400 && code <= 599 {
		return nil
	}
	return fmt.Errorf("kind must be an HTTP error status (400-599) or one of %s", strings.Join(kinds, ", "))
}

// parseDrift reads DEL/INS@K.
func parseDrift(s string) (Drift, error) {
	const want = "want drift:DEL/INS@K, e.g. drift:5/3@2"
	counts, after, ok := strings.Cut(s, "@")
	del, ins, ok2 := strings.Cut(counts, "/")
	if !ok || !ok2 {
		return Drift{}, fmt.Errorf("%s", want)
	}
	var d Drift
	var err1, err2, err3 error
	d.Delete, err1 = strconv.Atoi(del)
	d.Insert, err2 = strconv.Atoi(ins)
	d.After, err3 = strconv.ParseUint(after, 10, 64)
	switch {
	case err1 != nil || err2 != nil || d.Delete < 0 || d.Insert < 0:
		return Drift{}, fmt.Errorf("DEL and INS must be integers from 0; %s", want)
	case err3 != nil || d.After < 1:
		return Drift{}, fmt.Errorf("the page number after @ must be an integer from 1; %s", want)
	}
	return d, nil
}

// check refuses what would silently not happen: rates beyond 1 in total
// leave later kinds unreachable, and inserts beyond simdata.MaxInserts
// would give people Numbers of 0 or less.
func (fs Faults) check() error {
	for _, name := range providerNames() {
		rates, inserts := 0.0, 0
		for _, f := range fs.Requests {
			if f.appliesTo(name) && f.From == 0 {
				rates += f.Rate
			}
		}
		for _, d := range fs.Drift {
			if d.Provider == "" || d.Provider == name {
				inserts += d.Insert
			}
		}
		if rates > 1+1e-9 {
			return fmt.Errorf("faults: the rates for %s add up to %g, more than 1", name, rates)
		}
		if inserts > simdata.MaxInserts {
			return fmt.Errorf("faults: drift inserts %d people into %s, more than %d", inserts, name, simdata.MaxInserts)
		}
	}
	return nil
}

func (f *Fault) appliesTo(provider string) bool { return f.Provider == "" || f.Provider == provider }

// providerNames lists the providers a simulator serves.
func providerNames() []string {
	var names []string
	for _, p := range sources.All() {
		if p.Simulator != nil {
			names = append(names, p.Name)
		}
	}
	return names
}

// pick returns the fault for request n of a provider, nil for none. A
// permanent fault wins; each rate draws from its own slice of [0,1), so
// the rates add up.
func pick(permanent, rates []Fault, salt, n uint64) *Fault {
	for i := range permanent {
		if n >= permanent[i].From {
			return &permanent[i]
		}
	}
	x := float64(mix(salt+n)%1_000_000) / 1_000_000
	lo := 0.0
	for i := range rates {
		if x >= lo && x < lo+rates[i].Rate {
			return &rates[i]
		}
		lo += rates[i].Rate
	}
	return nil
}

// inject answers r with fault f. answer produces the real response, for
// the kinds that corrupt it.
func inject(w http.ResponseWriter, r *http.Request, f *Fault, answer func() *httptest.ResponseRecorder) {
	switch f.Kind {
	case KindTimeout, KindSlow:
		// Hold the request until the client gives up.
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Minute):
		}
	case KindReset:
		conn := hijack(w)
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // an RST rather than a FIN
		}
		_ = conn.Close()
	case KindTruncate:
		rec := answer()
		body := rec.Body.Bytes()
		maps.Copy(w.Header(), rec.Header())
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		// net/http closes a connection whose body falls short of its
		// Content-Length.
		_, _ = w.Write(body[:len(body)/2])
	case KindTruncateNoLength:
		rec := answer()
		body := rec.Body.Bytes()
		conn := hijack(w)
		defer conn.Close()
		h := rec.Header().Clone()
		h.Del("Content-Length")
		h.Set("Connection", "close")
		raw := bufio.NewWriter(conn)
		fmt.Fprintf(raw, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
		_ = h.Write(raw)
		_, _ = raw.WriteString("\r\n")
		_, _ = raw.Write(body[:len(body)/2])
		_ = raw.Flush() // the client has gone if this fails
	case KindMalformed:
		rec := answer()
		body := bytes.Clone(rec.Body.Bytes())
		copy(body, bytes.Repeat([]byte("<"), len(body)/2)) // neither JSON nor XML, even to a lenient decoder
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	default:
		code, _ := strconv.Atoi(strings.TrimSuffix(f.Kind, "-noretry"))
		if f.Kind == "429" || code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		message := fmt.Sprintf("simulated fault %d", code)
		if code == http.StatusUnauthorized {
			message = "token expired"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(struct {
			Message string `json:"message"`
		}{message}) // the client has gone if this fails
	}
}

// hijack takes the connection over; it aborts the request where that is
// impossible (HTTP/2), which closes the stream without an answer too.
func hijack(w http.ResponseWriter) net.Conn {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	return conn
}

// mix is SplitMix64's finalizer: request numbers to well-spread values.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
