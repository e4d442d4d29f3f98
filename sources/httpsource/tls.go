package httpsource

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"

	"github.com/hashicorp/go-cleanhttp"
)

// ParseCABundle returns the certificates of a PEM bundle. Unlike
// x509.CertPool.AppendCertsFromPEM it fails on a certificate that does
// not parse: a CA the user configured must not be dropped in silence.
// Blocks of other types (a key kept in the same file) are skipped.
func ParseCABundle(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("holds a certificate that does not parse (number %d): %w", len(certs)+1, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	return certs, nil
}

// NewTransport returns go-cleanhttp's pooled transport with cfg's trust
// and proxy. Certificates are always verified: a CA bundle is trusted in
// addition to the system roots, never instead of them.
func NewTransport(cfg TransportConfig) (*http.Transport, error) {
	t := cleanhttp.DefaultPooledTransport()
	t.Proxy = cfg.Proxy
	// cleanhttp keeps GOMAXPROCS+1 idle connections a host: fewer than
	// the pages in flight on a small machine.
	t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, cfg.MaxInFlight)
	if cfg.CAPEM == nil {
		return t, nil
	}
	certs, err := ParseCABundle(cfg.CAPEM)
	if err != nil {
		return nil, fmt.Errorf("the CA bundle %w", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		// Without the system roots every public host would fail: say so
		// now rather than on each request.
		return nil, fmt.Errorf("loading the system's trusted certificates: %w", err)
	}
	for _, c := range certs {
		roots.AddCert(c)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: roots}
	return t, nil
}
