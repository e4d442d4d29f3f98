package httpsource

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Auth kinds a job may configure; "" is the same as AuthNone.
const (
	AuthNone   = "none"
	AuthBasic  = "basic"
	AuthBearer = "bearer"
	AuthHeader = "header"
)

// String names the kind of credential and the extra header names, never a
// secret, so an Auth (or a ClientConfig holding one) is safe to print.
func (a Auth) String() string {
	var b strings.Builder
	switch a.Type {
	case "", AuthNone:
		b.WriteString("no auth")
	case AuthHeader:
		fmt.Fprintf(&b, "header auth (%s)", a.Name)
	default:
		fmt.Fprintf(&b, "%s auth", a.Type)
	}
	if len(a.Headers) > 0 {
		fmt.Fprintf(&b, " + headers %s", strings.Join(slices.Sorted(maps.Keys(a.Headers)), ", "))
	}
	return b.String()
}

// GoString keeps %#v from printing the secrets too.
func (a Auth) GoString() string { return "httpsource.Auth(" + a.String() + ")" }

// check rejects an auth the client cannot send. NewClient cannot return an
// error, so Do reports it on the first request.
func (a Auth) check() error {
	switch a.Type {
	case "", AuthNone, AuthBasic, AuthBearer:
		return nil
	case AuthHeader:
		if a.Name == "" {
			return errors.New("header auth needs a header name")
		}
		return nil
	}
	return fmt.Errorf("unknown auth type %q (want %s, %s, %s or %s)", a.Type, AuthBasic, AuthBearer, AuthHeader, AuthNone)
}

// apply sets the credential and the extra headers on h. The credential is
// set last so that an extra header cannot silently replace it.
func (a Auth) apply(h http.Header) {
	for name, value := range a.Headers {
		h.Set(name, value)
	}
	switch a.Type {
	case AuthBasic:
		h.Set("Authorization", "Basic "+a.basicToken())
	case AuthBearer:
		h.Set("Authorization", "Bearer "+a.Token)
	case AuthHeader:
		h.Set(a.Name, a.Value)
	}
}

func (a Auth) basicToken() string {
	return base64.StdEncoding.EncodeToString([]byte(a.Username + ":" + a.Password))
}

// redactor replaces every secret this auth sends with "[redacted]", for
// text the server sends back (an API may echo a rejected token in its
// error message). Longer secrets go first so that a secret containing
// another is removed whole.
func (a Auth) redactor() *strings.Replacer {
	secrets := []string{a.Password, a.Token, a.Value}
	if a.Type == AuthBasic {
		secrets = append(secrets, a.basicToken())
	}
	secrets = append(secrets, slices.Collect(maps.Values(a.Headers))...)
	secrets = slices.DeleteFunc(secrets, func(s string) bool { return s == "" })
	slices.SortFunc(secrets, func(x, y string) int { return cmp.Compare(len(y), len(x)) })
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		pairs = append(pairs, s, "[redacted]")
	}
	return strings.NewReplacer(pairs...)
}
