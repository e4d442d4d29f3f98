// Package simdata generates the deterministic people that every provider's
// simulator renders in its own wire format. Person i depends only on the
// seed, i and N (and on the times a Population's Insert and Touch set), so
// any page can be served without generating the others. A Population lets
// people come, go and change while a client pages.
package simdata

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// People is a deterministic population of N people: 0..N-1, or those its
// Population holds at the moment.
type People struct {
	N    int
	Seed uint64
	// Population, when set, is who is present now; nil: 0..N-1, always.
	Population *Population
}

// Person is one generated user, with fields every provider can map from.
type Person struct {
	Index       int    // 0-based; N and up for people inserted later
	Number      int    // numeric id: 1000+Index, or 999, 998, ... for people inserted later
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

// Person returns person i (i >= 0). People from N on are those a
// Population inserts: their Numbers count down from 999, so they sort
// before everyone else by Number, the order that is hardest on a client
// paging by offset, and they were created and updated when inserted. A
// Population's Touch changes UpdatedAt alone.
func (p *People) Person(i int) Person {
	r := rand.New(rand.NewPCG(p.Seed, uint64(i)))
	first := firstNames[r.IntN(len(firstNames))]
	last := lastNames[r.IntN(len(lastNames))]
	created := epoch.Add(time.Duration(r.Int64N(int64(4 * 365 * 24 * time.Hour)))).Truncate(time.Second)
	updated := created.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Second)
	number := 1000 + i
	if i >= p.N {
		number = 999 - (i - p.N)
	}
	per := Person{
		Index:     i,
		Number:    number,
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
	if p.Population != nil {
		p.Population.stamp(&per)
	}
	return per
}

// All returns people 0..N-1, in order, whoever is present.
func (p *People) All() []Person {
	out := make([]Person, p.N)
	for i := range out {
		out[i] = p.Person(i)
	}
	return out
}

// Snapshot returns who is present now.
func (p *People) Snapshot() Snapshot {
	if p.Population != nil {
		return p.Population.Snapshot()
	}
	return Snapshot{n: max(p.N, 0)}
}

// Present returns the people present now, in natural order.
func (p *People) Present() []Person {
	snap := p.Snapshot()
	out := make([]Person, snap.Len())
	for k := range out {
		out[k] = p.Person(snap.Index(k))
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
