package pipeline

import (
	"slices"
	"testing"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/httpsource"
)

// TestEveryProviderMapsEveryColumnToRaw checks the registry: for each
// provider, every column a job may drop or hash has a RawFields entry
// (an empty one for a column the provider does not read from its
// records), no other column has one, and every path compiles.
func TestEveryProviderMapsEveryColumnToRaw(t *testing.T) {
	var droppable, hashable []schema.Column
	for _, c := range complianceColumns {
		if checkDroppable(c) == "" {
			droppable = append(droppable, c)
		}
		if checkHashable(c) == "" {
			hashable = append(hashable, c)
		}
	}
	if len(droppable) < 15 || len(hashable) < 10 {
		t.Fatalf("%d droppable and %d hashable columns: the checks changed", len(droppable), len(hashable))
	}
	for _, p := range sources.All() {
		for _, c := range slices.Concat(droppable, hashable) {
			if _, ok := p.RawFields[c.ID]; !ok {
				t.Errorf("%s: no RawFields entry for %s", p.Name, c.Name)
			}
		}
		for id := range p.RawFields {
			if !slices.ContainsFunc(droppable, func(c schema.Column) bool { return c.ID == id }) {
				t.Errorf("%s: RawFields has an entry for column %d, which no job can drop", p.Name, id)
			}
		}
		if _, err := newRawScrubber(p.RawFields, droppable, nil); err != nil {
			t.Errorf("%s, every column dropped: %v", p.Name, err)
		}
		if _, err := newRawScrubber(p.RawFields, nil, hashable); err != nil {
			t.Errorf("%s, every column hashed: %v", p.Name, err)
		}
	}
}

// TestIncludeRawNeedsRawFields checks that a provider without a RawFields
// entry for a dropped or hashed column makes an include_raw job a config
// error, and nothing else does.
func TestIncludeRawNeedsRawFields(t *testing.T) {
	fake := sources.Provider{Name: "fake", DefaultBaseURL: "https://fake.example",
		PageSize:  httpsource.PageSizes{Default: 10},
		RawFields: map[schema.ColumnID][]string{schema.ColEmail: {"mail"}, schema.ColPhone: {}}}
	yml := "version: 1\njobs:\n" +
		"  - {name: a, provider: fake, include_raw: true, columns: {drop: [phone, last_name]}, hash: [email, username], hash_key: " + testHashKey + "}\n" +
		"  - {name: b, provider: fake, include_raw: true, columns: {drop: [phone]}, hash: [email], hash_key: " + testHashKey + "}\n" +
		"  - {name: c, provider: fake, columns: {drop: [last_name]}}\n"
	_, err := parse("jobs.yaml", []byte(yml), nil, []sources.Provider{fake})
	const prefix = `jobs.yaml:3:44: jobs[0].include_raw: job "a": provider fake does not say which raw members `
	assertLines(t, errorLines(t, err), []string{
		prefix + "last_name is read from, so raw cannot be scrubbed of it",
		prefix + "username is read from, so raw cannot be scrubbed of it",
	})
}
