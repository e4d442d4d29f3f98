package httpsource

import (
	"context"
	"sync"

	"golang.org/x/sync/semaphore"
)

// flight is a page's claim on the places in flight of its Sequence
// (Paging.InFlight), carried to the transport by the page's context: each
// attempt of its request, retries included, takes a place from the moment
// it is sent until its body is read, so that decoding the page, and its
// wait for the pages before it, leave the place to the next request.
//
// Pages queue for places in the order they were started: one queues only
// once the page started before it has its place (or gave up), since Go's
// semaphore serves its waiters in turn but goroutines reach it in any
// order, and a page that lost its turn to a later one would hold up the
// pages emitted after it.
type flight struct {
	places *semaphore.Weighted
	prev   <-chan struct{} // closed once the page started before has its place; nil: none
	queued chan struct{}   // closed once this page has its place, or gave up
	once   sync.Once
}

type flightKey struct{}

// newFlight is the claim of the page started after the one whose claim is
// prev (nil for the first).
func newFlight(places *semaphore.Weighted, prev *flight) *flight {
	f := &flight{places: places, queued: make(chan struct{})}
	if prev != nil {
		f.prev = prev.queued
	}
	return f
}

func withFlight(ctx context.Context, f *flight) context.Context {
	return context.WithValue(ctx, flightKey{}, f)
}

// pass lets the next page queue; every page passes once, whether or not
// it ever sent a request.
func (f *flight) pass() { f.once.Do(func() { close(f.queued) }) }

// takePlace waits for a place in flight for one attempt of the request of
// ctx's page, if it has a claim; release gives it back.
func takePlace(ctx context.Context) (release func(), err error) {
	f, _ := ctx.Value(flightKey{}).(*flight)
	if f == nil {
		return func() {}, nil
	}
	defer f.pass()
	if f.prev != nil {
		select {
		case <-f.prev:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := f.places.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	return func() { f.places.Release(1) }, nil
}
