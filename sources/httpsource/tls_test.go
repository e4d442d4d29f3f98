package httpsource

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// certPEM is the PEM of the test server's certificate, which is its own CA.
func certPEM(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func newTLSServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Host-Seen", r.Host)
		ok(w)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestParseCABundle(t *testing.T) {
	one := certPEM(newTLSServer(t))
	two := append(append([]byte("# a comment\n"), one...), certPEM(newTLSServer(t))...)
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("k")})
	bad := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	cases := []struct {
		name  string
		data  []byte
		certs int
		err   string
	}{
		{"one", one, 1, ""},
		{"two, text around", two, 2, ""},
		{"a key beside the certificate", append(key, one...), 1, ""},
		{"empty", nil, 0, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"},
		{"DER, not PEM", newTLSServer(t).Certificate().Raw, 0, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"},
		{"a key only", key, 0, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"},
		{"a certificate that does not parse", append(one, bad...), 0, "holds a certificate that does not parse (number 2): x509: malformed certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := ParseCABundle(tc.data)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.err || len(certs) != tc.certs {
				t.Errorf("got %d certificates, error %q; want %d, %q", len(certs), got, tc.certs, tc.err)
			}
		})
	}
}

func TestTransportTrustsTheSystemRootsAndTheGivenCA(t *testing.T) {
	srv := newTLSServer(t)
	tr, err := NewTransport(TransportConfig{CAPEM: certPEM(srv)})
	if err != nil {
		t.Fatal(err)
	}
	want, err := x509.SystemCertPool()
	if err != nil {
		t.Fatal(err)
	}
	want.AddCert(srv.Certificate())
	if c := tr.TLSClientConfig; c.InsecureSkipVerify || !c.RootCAs.Equal(want) {
		t.Errorf("TLS config: InsecureSkipVerify %v, roots are the system's plus the CA: %v", c.InsecureSkipVerify, c.RootCAs.Equal(want))
	}
	if _, err := NewTransport(TransportConfig{CAPEM: []byte("nothing")}); err == nil ||
		err.Error() != "the CA bundle holds no PEM certificate (-----BEGIN CERTIFICATE-----)" {
		t.Errorf("bad bundle: %v", err)
	}
}

func TestDoUnknownAuthorityFailsAtOnceWithAHint(t *testing.T) {
	srv := newTLSServer(t)
	tr, err := NewTransport(TransportConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Transport = tr
	_, err = NewClient(cfg).Do(context.Background(), get(srv.URL+"/users"))
	want := "medipim page 3: GET " + srv.URL + "/users: tls: failed to verify certificate: x509: certificate signed by unknown authority" +
		" (if a private CA or a TLS-inspecting proxy signs it, set the job's tls.ca_file to that CA's PEM bundle)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); !ok {
		t.Errorf("%T does not wrap x509.UnknownAuthorityError", err)
	}

	tr, err = NewTransport(TransportConfig{CAPEM: certPEM(srv)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Transport = tr
	if _, err := NewClient(cfg).Do(context.Background(), get(srv.URL+"/users")); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
}

// connectProxy is an HTTP proxy on loopback that tunnels every CONNECT to
// target, whatever host it names, so that no test traffic leaves
// 127.0.0.1. With auth set it wants that Proxy-Authorization.
type connectProxy struct {
	*httptest.Server
	target, auth string

	mu    sync.Mutex
	hosts []string // method and host of each request, in order
	auths []string // the Proxy-Authorization of each
}

func newConnectProxy(t *testing.T, target, auth string) *connectProxy {
	t.Helper()
	p := &connectProxy{target: target, auth: auth}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *connectProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.hosts = append(p.hosts, r.Method+" "+r.Host)
	p.auths = append(p.auths, r.Header.Get("Proxy-Authorization"))
	p.mu.Unlock()
	switch {
	case r.Method != http.MethodConnect:
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	case p.auth != "" && r.Header.Get("Proxy-Authorization") != p.auth:
		w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
		http.Error(w, "who are you?", http.StatusProxyAuthRequired)
		return
	}
	upstream, err := net.Dial("tcp", p.target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer upstream.Close()
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	go func() {
		io.Copy(upstream, buf) // the client's side, with what the server read ahead
		upstream.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(conn, upstream)
}

func (p *connectProxy) seen() (hosts, auth []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.hosts), slices.Clone(p.auths)
}

// guardDials makes tr dial loopback only, and records every address it
// is asked to dial: the machine must send nothing elsewhere.
func guardDials(tr *http.Transport) func() []string {
	var mu sync.Mutex
	var dialed []string
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, addr)
		mu.Unlock()
		host, _, err := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("test refuses to dial %s", addr)
		}
		return d.DialContext(ctx, network, addr)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(dialed)
	}
}

// setProxyEnv sets the proxy variables, clearing the lowercase forms,
// which httpproxy reads first, and any the machine has.
func setProxyEnv(t *testing.T, httpsProxy, noProxy string) {
	for _, name := range []string{"https_proxy", "http_proxy", "no_proxy", "HTTP_PROXY", "REQUEST_METHOD"} {
		t.Setenv(name, "")
	}
	t.Setenv("HTTPS_PROXY", httpsProxy)
	t.Setenv("NO_PROXY", noProxy)
}

// proxiedClient builds a client as a job does when it starts: the proxy
// from the environment as it is now, the test server's CA trusted.
func proxiedClient(t *testing.T, srv *httptest.Server, cfg ClientConfig) (*Client, func() []string) {
	t.Helper()
	proxy, err := ProxyFromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTransport(TransportConfig{CAPEM: certPEM(srv), Proxy: proxy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections) // ends the tunnels
	dialed := guardDials(tr)
	cfg.Transport = tr
	return NewClient(cfg), dialed
}

// exampleURL names the TLS test server as example.com, which its
// certificate is valid for: Go never proxies a loopback address.
func exampleURL(srv *httptest.Server) (url, hostPort string) {
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	hostPort = net.JoinHostPort("example.com", port)
	return "https://" + hostPort + "/users", hostPort
}

func TestProxyFromEnvironmentTunnelsThroughTheProxy(t *testing.T) {
	srv := newTLSServer(t)
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:p@ss"))
	proxy := newConnectProxy(t, srv.Listener.Addr().String(), wantAuth)
	setProxyEnv(t, "http://user:p%40ss@"+proxy.Listener.Addr().String(), "localhost,.internal")

	client, dialed := proxiedClient(t, srv, testConfig())
	target, hostPort := exampleURL(srv)
	resp, err := client.Do(context.Background(), get(target))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("X-Host-Seen"); got != hostPort {
		t.Errorf("server saw Host %q, want %q", got, hostPort)
	}
	hosts, auth := proxy.seen()
	if !slices.Equal(hosts, []string{"CONNECT " + hostPort}) || !slices.Equal(auth, []string{wantAuth}) {
		t.Errorf("proxy saw %q with Proxy-Authorization %q, want one CONNECT %s with %q", hosts, auth, hostPort, wantAuth)
	}
	if got := dialed(); !slices.Equal(got, []string{proxy.Listener.Addr().String()}) {
		t.Errorf("dialed %q, want the proxy only", got)
	}
}

// TestProxyFromEnvironmentIsReadAtEachBuild changes NO_PROXY between two
// clients of one process: net/http's ProxyFromEnvironment would keep the
// first value for good.
func TestProxyFromEnvironmentIsReadAtEachBuild(t *testing.T) {
	srv := newTLSServer(t)
	proxy := newConnectProxy(t, srv.Listener.Addr().String(), "")
	target, hostPort := exampleURL(srv)
	cfg := testConfig()
	cfg.Retry.MaxAttempts = 1

	setProxyEnv(t, proxy.URL, "example.com")
	direct, dialed := proxiedClient(t, srv, cfg)
	_, err := direct.Do(context.Background(), get(target))
	if err == nil || !strings.Contains(err.Error(), "test refuses to dial "+hostPort) {
		t.Errorf("NO_PROXY=example.com: err = %v, want a direct dial of %s", err, hostPort)
	}
	if got := dialed(); !slices.Equal(got, []string{hostPort}) {
		t.Errorf("NO_PROXY=example.com: dialed %q, want %s direct", got, hostPort)
	}
	if hosts, _ := proxy.seen(); len(hosts) != 0 {
		t.Errorf("NO_PROXY=example.com: the proxy saw %q", hosts)
	}

	t.Setenv("NO_PROXY", "")
	proxied, _ := proxiedClient(t, srv, cfg)
	if _, err := proxied.Do(context.Background(), get(target)); err != nil {
		t.Fatalf("NO_PROXY unset: %v", err)
	}
	if hosts, _ := proxy.seen(); !slices.Equal(hosts, []string{"CONNECT " + hostPort}) {
		t.Errorf("NO_PROXY unset: the proxy saw %q, want one CONNECT", hosts)
	}
}

func TestProxyCredentialsStayOutOfErrorsAndLogs(t *testing.T) {
	const secret = "hunter2-proxy"
	srv := newTLSServer(t)
	proxy := newConnectProxy(t, srv.Listener.Addr().String(), "Basic "+base64.StdEncoding.EncodeToString([]byte("someone:else")))
	setProxyEnv(t, "http://user:"+secret+"@"+proxy.Listener.Addr().String(), "")

	var logs bytes.Buffer
	cfg := testConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	client, _ := proxiedClient(t, srv, cfg)
	target, _ := exampleURL(srv)
	_, err := client.Do(context.Background(), get(target))
	if err == nil || !strings.Contains(err.Error(), "Proxy Authentication Required") {
		t.Fatalf("err = %v, want the proxy's 407", err)
	}
	if hosts, _ := proxy.seen(); len(hosts) == 0 {
		t.Fatal("the proxy saw no request")
	}
	for what, text := range map[string]string{"error": err.Error(), "logs": logs.String()} {
		if strings.Contains(text, secret) {
			t.Errorf("%s show the proxy password: %s", what, text)
		}
	}
}

func TestProxyFromEnvironmentRefusesWhatIsNotAProxyURL(t *testing.T) {
	const secret = "hunter2"
	notShown := " is not a proxy URL like http://[user:password@]host:port " +
		"(value not shown: it may hold a password; percent-encode any : / ? # @ in the password)"
	cases := []struct{ https, http, err string }{
		{https: "http://user:" + secret + "/x@proxy:3128", err: "HTTPS_PROXY" + notShown},
		{https: "http://user:" + secret + "?@proxy:3128", err: "HTTPS_PROXY" + notShown},
		{https: "http://user:" + secret + "#@proxy:3128", err: "HTTPS_PROXY" + notShown},
		{https: "http://user:" + secret + "@[::1", err: "HTTPS_PROXY" + notShown},
		{https: "ftp://user:" + secret + "@proxy:21", err: "HTTPS_PROXY" + notShown},
		{http: "user:" + secret + "@", err: "HTTP_PROXY" + notShown},
		{https: "proxy.corp:3128", http: "http://proxy.corp:3128/"},
		{https: "http://user:p%2F" + secret + "@proxy.corp:3128"},
		{https: "https://proxy.corp", http: "socks5h://127.0.0.1:1080"},
	}
	for _, tc := range cases {
		t.Run(tc.https+" "+tc.http, func(t *testing.T) {
			setProxyEnv(t, tc.https, "")
			t.Setenv("HTTP_PROXY", tc.http)
			proxy, err := ProxyFromEnvironment()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.err || (err == nil) != (proxy != nil) {
				t.Errorf("err = %q, want %q", got, tc.err)
			}
		})
	}
}

// Rounds of MaxInFlight requests at once reuse the connections of the
// first round: the transport keeps as many idle as it may have busy, where
// net/http's default pool (GOMAXPROCS+1 a host) would close the rest after
// each round and pay a TLS handshake for each again.
func TestTransportKeepsAConnectionForEachRequestInFlight(t *testing.T) {
	const inFlight, rounds = 8, 5
	var mu sync.Mutex
	dialled := 0
	arrived := make(chan struct{}, inFlight)
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release // every request of the round is in flight at once
		ok(w)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			dialled++
			mu.Unlock()
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tr, err := NewTransport(TransportConfig{CAPEM: certPEM(srv), MaxInFlight: inFlight})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: tr}
	for round := range rounds {
		var wg sync.WaitGroup
		for range inFlight {
			wg.Go(func() {
				resp, err := client.Get(srv.URL + "/users")
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		for range inFlight {
			<-arrived
		}
		for range inFlight {
			release <- struct{}{}
		}
		wg.Wait()
		if t.Failed() {
			t.Fatalf("round %d failed", round)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if dialled != inFlight {
		t.Errorf("%d connections dialled for %d rounds of %d requests at once, want %d", dialled, rounds, inFlight, inFlight)
	}
}
