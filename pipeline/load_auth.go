package pipeline

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/saas-export/export/sources/httpsource"
)

// authTypes maps each auth type to the credential keys it needs.
var authTypes = map[string][]string{
	"basic":  {"username", "password"},
	"bearer": {"token"},
	"header": {"name", "value"},
}

const authTypeNames = "basic, bearer, header"

// credentialKeys are the auth keys that hold a credential; all but name
// (a header name) may instead be read from a file with a *_file twin.
var credentialKeys = []string{"username", "password", "token", "name", "value"}

// maxSecretFile bounds what a *_file may hold: a credential is short, and
// pointing at the wrong file (a log, /dev/zero) must not eat memory.
const maxSecretFile = 64 << 10

// auth decodes a job's credentials. Every value under auth is secret:
// errors point at it but never quote it; only *_file paths are named.
func (d *decoder) auth(v value) httpsource.Auth {
	v.secret = true
	m := d.mapping(v, authKeys...)
	var a httpsource.Auth
	// Which credential keys belong depends on the type: with an invalid
	// one, checking them would only add noise.
	if typ, ok := d.authType(m["type"]); ok {
		a.Type = typ
		d.credentials(v, m, &a)
	}
	a.Headers = d.headers(m["headers"], a)
	return a
}

func (d *decoder) credentials(auth value, m map[string]value, a *httpsource.Auth) {
	dst := map[string]*string{
		"username": &a.Username, "password": &a.Password, "token": &a.Token, "name": &a.Name, "value": &a.Value,
	}
	for _, key := range credentialKeys {
		d.credential(auth, m, a.Type, key, dst[key])
	}
	if a.Name != "" && !validHeaderName(a.Name) {
		d.errorf(m["name"], "not a valid HTTP header name")
		a.Name = ""
	}
}

// authType returns the type, "" (no credential) when absent or empty.
func (d *decoder) authType(v value) (string, bool) {
	s, ok := d.text(v, "one of "+authTypeNames)
	switch {
	case !ok:
		return "", !v.present()
	case s != "" && authTypes[s] == nil:
		d.typeError(v, "one of "+authTypeNames, s)
		return "", false
	}
	return s, true
}

// credential sets one credential key that the type needs from its value
// or its *_file twin, and reports one the type does not use.
func (d *decoder) credential(auth value, m map[string]value, typ, key string, dst *string) {
	direct, file := m[key], m[key+"_file"]
	given := direct.present() || file.present()
	needed := slices.Contains(authTypes[typ], key)
	switch {
	case given && !needed:
		at := direct
		if !direct.present() {
			at = file
		}
		if typ == "" {
			d.errorf(at, "needs an auth type: set type to one of %s", authTypeNames)
		} else {
			d.errorf(at, "not used by auth type %s", typ)
		}
	case needed && !given:
		d.missing(auth, key, "required for auth type %s", typ)
	case needed:
		if s, ok := d.secretValue(direct, file, key); ok {
			*dst = s
		}
	}
}

func (d *decoder) secretValue(direct, file value, key string) (string, bool) {
	if direct.present() && file.present() {
		d.errorf(file, "set %s or %s_file, not both", key, key)
		return "", false
	}
	s, ok := "", false
	at := direct
	if file.present() {
		s, ok = d.readSecret(file)
		at = file
	} else {
		s, ok = d.str(direct)
	}
	switch {
	case !ok:
		return "", false
	case s == "":
		d.errorf(at, "must not be empty")
		return "", false
	case key != "username" && key != "password" && strings.ContainsAny(s, "\r\n\x00"):
		// Sent as a header value: a line break would split the request.
		d.errorf(at, "must not contain line breaks")
		return "", false
	}
	return s, true
}

// readSecret reads a *_file secret. Relative paths are relative to the
// config file; trailing line breaks (echo, editors) are not part of it.
func (d *decoder) readSecret(v value) (string, bool) {
	v.secret = false // the path is no secret, and naming it helps
	name, ok := d.str(v)
	if !ok {
		return "", false
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(d.dir, name)
	}
	data, err := readSmallFile(name, maxSecretFile)
	if err != nil {
		d.errorf(v, "cannot read %q: %v", name, err)
		return "", false
	}
	return strings.TrimRight(string(data), "\r\n"), true
}

func readSmallFile(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the caller names the path
		}
		return nil, err
	}
	defer f.Close() // read-only: Close has nothing to report
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d KiB: not a credential", limit>>10)
	}
	return data, nil
}

// credentialHeader is the header the auth type sets itself, if any.
func credentialHeader(a httpsource.Auth) string {
	switch a.Type {
	case "basic", "bearer":
		return "Authorization"
	case "header":
		return a.Name
	}
	return ""
}

// headers decodes auth.headers, extra headers sent on every request.
// Their values are secret (Kare's x-session-token is one); their names,
// which appear in key paths, are not.
func (d *decoder) headers(v value, a httpsource.Auth) map[string]string {
	if !v.present() {
		return nil
	}
	if v.node.Kind != yaml.MappingNode {
		d.typeError(v, "a mapping of header names to values", "")
		return nil
	}
	reserved := credentialHeader(a)
	out := map[string]string{}
	first := map[string]int{} // canonical name → line
	for _, e := range d.entries(v) {
		name, key := e.key.Value, value{at: e.key, path: e.path}
		canonical := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			d.errorf(key, "%q is not a valid HTTP header name", name)
		case reserved != "" && strings.EqualFold(name, reserved):
			d.errorf(key, "%s is already set by auth type %s", name, a.Type)
		case first[canonical] != 0:
			d.errorf(key, "duplicate header %q: names are case-insensitive (first at line %d)", name, first[canonical])
		default:
			first[canonical] = e.key.Line
			if s, ok := d.headerValue(e); ok {
				out[name] = s
			}
		}
	}
	return out
}

func (d *decoder) headerValue(v value) (string, bool) {
	s, ok := d.str(v)
	if ok && strings.ContainsAny(s, "\r\n\x00") {
		d.errorf(v, "must not contain line breaks")
		return "", false
	}
	return s, ok
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 5.1).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= 0x80 || !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}
