package simdata

import "sync"

// keptSelections is how many selections a Selections cache holds: a job
// pages up to two listings at once (McTime's active and inactive users,
// Kare's deleted and not), and a run may page one API from several jobs.
const keptSelections = 4

// Selections caches what a simulator computes from a whole population for
// one query (the users matching a filter, in the listing's order), by the
// query's key and the population's version: a listing is paged through
// with one query, and without the cache every page would regenerate and
// filter the whole population. It keeps the few most recently used, since
// listings paged concurrently would evict each other from a cache of one.
// The zero value is ready to use.
type Selections[T any] struct {
	mu      sync.Mutex
	entries []selection[T] // most recently used first
}

type selection[T any] struct {
	key     string
	version uint64
	value   T
}

// Get returns the selection for key at version, calling compute for it
// when it is not kept. Requests wait for each other's compute: the first
// page of a listing computes, the ones in flight beside it reuse.
func (c *Selections[T]) Get(key string, version uint64, compute func() T) T {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if e.key == key && e.version == version {
			copy(c.entries[1:i+1], c.entries[:i])
			c.entries[0] = e
			return e.value
		}
	}
	e := selection[T]{key: key, version: version, value: compute()}
	if len(c.entries) < keptSelections {
		c.entries = append(c.entries, selection[T]{})
	}
	copy(c.entries[1:], c.entries)
	c.entries[0] = e
	return e.value
}
