package sources

import (
	"github.com/saas-export/export/sources/medipim"
	"github.com/saas-export/export/sources/nameshield"
)

// All returns every provider, sorted by name. Each call builds fresh
// values, so a caller may modify what it gets.
func All() []Provider {
	return []Provider{
		{
			Name:           medipim.Name,
			DefaultBaseURL: medipim.DefaultBaseURL,
			Method:         medipim.Method,
			Endpoint:       medipim.Endpoint,
			DefaultRate:    medipim.DefaultRate(),
			PageSize:       PageSizes{Default: medipim.DefaultPageSize, Max: medipim.MaxPageSize, Allowed: medipim.PageSizes()},
			AuthKinds:      medipim.AuthKinds(),
			Filters:        filterDocs(medipim.Filters()),
			Sort:           medipim.SortSyntax,
			CheckConfig:    medipim.CheckConfig,
			New:            medipim.New,
			Simulator:      medipim.Simulator,
		},
		{
			Name:           nameshield.Name,
			DefaultBaseURL: nameshield.DefaultBaseURL,
			Method:         nameshield.Method,
			Endpoint:       nameshield.Endpoint,
			DefaultRate:    nameshield.DefaultRate(),
			PageSize:       PageSizes{Default: nameshield.DefaultPageSize, Max: nameshield.MaxPageSize},
			AuthKinds:      nameshield.AuthKinds(),
			Filters:        filterDocs(nameshield.Filters()),
			Sort:           nameshield.SortSyntax,
			CheckConfig:    nameshield.CheckConfig,
			New:            nameshield.New,
			Simulator:      nameshield.Simulator,
		},
	}
}

// filterDocs converts a provider package's filter docs, which have the
// same fields as FilterDoc: the provider packages cannot import this one.
func filterDocs[D ~struct{ Key, Type, Doc string }](docs []D) []FilterDoc {
	out := make([]FilterDoc, len(docs))
	for i, d := range docs {
		out[i] = FilterDoc(d)
	}
	return out
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
