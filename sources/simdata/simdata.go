// Package simdata generates the deterministic people that every provider's
// simulator renders in its own wire format. Person i depends only on the
// seed and i, so any page can be served without generating the others.
package simdata

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// People is a deterministic population of N people.
type People struct {
	N    int
	Seed uint64
}

// Person is one generated user, with fields every provider can map from.
type Person struct {
	Index       int    // 0-based position in the population
	Number      int    // numeric id, 1-based and increasing
	UUID        string // stable UUID-shaped id
	FirstName   string
	LastName    string
	Email       string
	Phones      []string // one or two; empty for a few people
	Language    string   // en, fr, nl, de, cs
	OrgID       int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ExpiresAt   time.Time // zero: never expires
	LastLoginAt time.Time // zero: never logged in
	Inactive    bool      // disabled, expired or deleted by the provider's own rule
}

// Names include commas, quotes, apostrophes and non-ASCII letters so that
// every format's escaping is exercised by the default run.
var (
	firstNames = []string{"John", "Jane", "Zoë", "Łukasz", "Anaïs", "Jan", "Marie", "Søren", "Chloé", "Ahmed",
		"Elif", "Noah", "Olivia", "Björn", "José", "Ana \"Nan\"", "Mei", "Ingrid", "Pieter", "Dvořák"}
	lastNames = []string{"Doe", "Janssens", "O'Brien", "Müller", "Peeters", "Novák", "Smith, Jr.", "Dubois",
		"Van den Berg", "García", "Kowalski", "Çelik", "Nguyen", "Fischer", "Maes", "Lefèvre", "Ødegaard", "Svoboda"}
	languages = []string{"en", "fr", "nl", "de", "cs"}
	domains   = []string{"example.com", "example.org", "example.net"}
)

// epoch anchors generated timestamps so output does not depend on today.
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Person returns person i (0 <= i < N).
func (p *People) Person(i int) Person {
	r := rand.New(rand.NewPCG(p.Seed, uint64(i)))
	first := firstNames[r.IntN(len(firstNames))]
	last := lastNames[r.IntN(len(lastNames))]
	created := epoch.Add(time.Duration(r.Int64N(int64(4 * 365 * 24 * time.Hour)))).Truncate(time.Second)
	updated := created.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Second)
	per := Person{
		Index:     i,
		Number:    1000 + i,
		UUID:      uuid(r),
		FirstName: first,
		LastName:  last,
		Email:     fmt.Sprintf("%s.%s%d@%s", emailPart(first), emailPart(last), i, domains[r.IntN(len(domains))]),
		Language:  languages[r.IntN(len(languages))],
		OrgID:     1 + r.IntN(25),
		CreatedAt: created,
		UpdatedAt: updated,
	}
	switch n := r.IntN(10); {
	case n == 0:
		per.Phones = []string{}
	case n < 8:
		per.Phones = []string{phone(r)}
	default:
		per.Phones = []string{phone(r), phone(r)}
	}
	if r.IntN(3) == 0 {
		per.LastLoginAt = updated.Add(time.Duration(r.Int64N(int64(90 * 24 * time.Hour)))).Truncate(time.Second)
	}
	// About one in eight is inactive: expired in the past. The others expire
	// far in the future or never.
	switch n := r.IntN(8); {
	case n == 0:
		per.Inactive = true
		per.ExpiresAt = updated.Add(24 * time.Hour)
	case n < 4:
		per.ExpiresAt = time.Date(2050, 12, 25, 0, 0, 0, 0, time.UTC)
	}
	return per
}

// All returns every person, in order.
func (p *People) All() []Person {
	out := make([]Person, p.N)
	for i := range out {
		out[i] = p.Person(i)
	}
	return out
}

func uuid(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, 0x8000|(b>>48)&0x3fff, b&0xffffffffffff)
}

func phone(r *rand.Rand) string {
	return fmt.Sprintf("+32 4%02d %02d %02d %02d", r.IntN(100), r.IntN(100), r.IntN(100), r.IntN(100))
}

// emailPart lowercases a name and keeps only ASCII letters.
func emailPart(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "user"
	}
	return b.String()
}
