package simdata

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// MaxInserts bounds the people one Population inserts over its life, so
// that every Number stays positive.
const MaxInserts = 999

// Snapshot is who was present in a population at one version, in natural
// order: ascending Number, so the people inserted last come first.
type Snapshot struct {
	Version uint64 // mutations before this snapshot
	n       int
	indexes []int // nil: 0..n-1; never modified once shared
}

// Len is how many people are present.
func (s Snapshot) Len() int {
	if s.indexes == nil {
		return s.n
	}
	return len(s.indexes)
}

// Index is the person index at position k (0 <= k < Len).
func (s Snapshot) Index(k int) int {
	if s.indexes == nil {
		return k
	}
	return s.indexes[k]
}

// Population is a set of people that changes: initially 0..N-1 of its
// People, then as Delete, Insert and Touch make it. It is safe for
// concurrent use; a Snapshot stays valid after later mutations.
type Population struct {
	people People // its Population is this one

	// Now is the clock Insert stamps new people with; nil: time.Now. Set
	// it before the population is shared.
	Now func() time.Time

	mu    sync.Mutex
	snap  Snapshot
	next  int           // index of the next person inserted
	times map[int]times // set by Insert and Touch, by person index
}

// times overrides a generated person's timestamps; a zero one keeps the
// generated value.
type times struct {
	created, updated time.Time
}

// NewPopulation returns the population of n people of seed, all present.
func NewPopulation(n int, seed uint64) *Population {
	pop := &Population{snap: Snapshot{n: max(n, 0)}, next: max(n, 0), times: map[int]times{}}
	pop.people = People{N: n, Seed: seed, Population: pop}
	return pop
}

// People is the population's people, for a simulator to serve.
func (pop *Population) People() *People { return &pop.people }

// Snapshot returns who is present now.
func (pop *Population) Snapshot() Snapshot {
	pop.mu.Lock()
	defer pop.mu.Unlock()
	return pop.snap
}

// Version counts the mutations so far.
func (pop *Population) Version() uint64 { return pop.Snapshot().Version }

// Delete removes k present people (all of them if fewer are present),
// chosen from the seed and the mutation's number, so the same sequence of
// mutations deletes the same people. It returns their indexes.
func (pop *Population) Delete(k int) []int {
	pop.mu.Lock()
	defer pop.mu.Unlock()
	present := pop.present()
	k = min(max(k, 0), len(present))
	r := rand.New(rand.NewPCG(pop.people.Seed^0x64656c657465, pop.snap.Version))
	gone := map[int]bool{}
	deleted := make([]int, 0, k)
	for _, pos := range r.Perm(len(present))[:k] {
		gone[present[pos]] = true
		deleted = append(deleted, present[pos])
	}
	pop.commit(slices.DeleteFunc(slices.Clone(present), func(i int) bool { return gone[i] }))
	return deleted
}

// Insert adds k new people, indexes N, N+1, ... in insertion order, and
// returns their indexes. Their Numbers are below everyone's, so they come
// first in natural order. It panics past MaxInserts.
func (pop *Population) Insert(k int) []int {
	pop.mu.Lock()
	defer pop.mu.Unlock()
	k = max(k, 0)
	if pop.next+k-pop.people.N > MaxInserts {
		panic(fmt.Sprintf("simdata: more than %d people inserted", MaxInserts))
	}
	inserted := make([]int, k)
	for j := range inserted {
		inserted[j] = pop.next + j
	}
	pop.next += k
	now := time.Now
	if pop.Now != nil {
		now = pop.Now
	}
	at := wireTime(now())
	for _, i := range inserted { // a new user is a change an incremental run must see
		pop.times[i] = times{created: at, updated: at}
	}
	present := make([]int, 0, k+pop.snap.Len())
	for j := k - 1; j >= 0; j-- { // the last inserted has the lowest Number
		present = append(present, inserted[j])
	}
	pop.commit(append(present, pop.present()...))
	return inserted
}

// Touch marks k present people (all of them if fewer are present) as
// updated at at, to the second, chosen from the seed and the mutation's
// number as Delete chooses. It returns their indexes.
func (pop *Population) Touch(k int, at time.Time) []int {
	pop.mu.Lock()
	defer pop.mu.Unlock()
	present := pop.present()
	k = min(max(k, 0), len(present))
	r := rand.New(rand.NewPCG(pop.people.Seed^0x746f756368, pop.snap.Version))
	at = wireTime(at)
	touched := make([]int, 0, k)
	for _, pos := range r.Perm(len(present))[:k] {
		i := present[pos]
		t := pop.times[i]
		t.updated = at
		pop.times[i] = t
		touched = append(touched, i)
	}
	pop.snap.Version++ // same people, new data: simulators' caches must not serve the old
	return touched
}

// wireTime is t in UTC to the second, as generated times are: Medipim's
// wire format has seconds only.
func wireTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// stamp applies the times Insert and Touch set on person p.
func (pop *Population) stamp(p *Person) {
	pop.mu.Lock()
	t, ok := pop.times[p.Index]
	pop.mu.Unlock()
	if !ok {
		return
	}
	if !t.created.IsZero() {
		p.CreatedAt = t.created
	}
	if !t.updated.IsZero() {
		p.UpdatedAt = t.updated
	}
}

// present is the current indexes, materialized; callers must not modify it.
func (pop *Population) present() []int {
	if pop.snap.indexes == nil {
		out := make([]int, pop.snap.n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	return pop.snap.indexes
}

func (pop *Population) commit(indexes []int) {
	if indexes == nil {
		indexes = []int{} // nil would mean everyone
	}
	pop.snap = Snapshot{Version: pop.snap.Version + 1, indexes: indexes}
}
