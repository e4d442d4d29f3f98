// Package sources is the registry of providers. Each provider lives in its
// own sub-package; what they share (the HTTP client, paging, the Provider
// description) is sources/httpsource.
package sources

import (
	"github.com/saas-export/export/sources/httpsource"
	"github.com/saas-export/export/sources/kare"
	"github.com/saas-export/export/sources/mctime"
	"github.com/saas-export/export/sources/medipim"
	"github.com/saas-export/export/sources/nameshield"
	"github.com/saas-export/export/sources/requestor"
)

// Provider describes one SaaS API.
type Provider = httpsource.Provider

// All returns every provider, sorted by name. Each call builds fresh
// values, so a caller may modify what it gets.
func All() []Provider {
	return []Provider{
		kare.Provider(),
		mctime.Provider(),
		medipim.Provider(),
		nameshield.Provider(),
		requestor.Provider(),
	}
}

// Lookup returns the provider called name.
func Lookup(name string) (Provider, bool) {
	for _, p := range All() {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}
