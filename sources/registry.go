package sources

// All returns every provider, sorted by name.
func All() []Provider {
	return []Provider{}
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
