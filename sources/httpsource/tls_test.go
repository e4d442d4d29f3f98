package httpsource

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
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
		{"a certificate that does not parse", append(one, bad...), 0, "certificate 2 does not parse: x509: malformed certificate"},
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
		err.Error() != "CA bundle: holds no PEM certificate (-----BEGIN CERTIFICATE-----)" {
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
