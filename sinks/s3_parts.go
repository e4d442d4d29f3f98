package sinks

import "sync"

// smallPartLimit is how far the first part of an object grows on the Go
// heap before it moves to a whole part buffer: manifests, markers and
// small jobs never take one.
const smallPartLimit = 1 << 20

// partPool hands out whole part buffers and keeps them for reuse.
//
// On Unix they are mapped outside the Go heap. A part is large and lives
// long, and on the heap it would count towards the garbage collector's
// goal, which lets the heap grow to twice what is live: seven 16 MiB parts
// would let a run's memory reach well over 200 MiB. Off the heap, memory is
// the bytes held in parts plus a small heap: a kept part's pages are
// returned to the system until it is written again.
type partPool struct {
	size int
	mu   sync.Mutex
	free [][]byte
}

func newPartPool(size int) *partPool {
	return &partPool{size: size}
}

func (p *partPool) get() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b[:0]
	}
	return allocPart(p.size)[:0]
}

// put keeps b for reuse; buffers that are not whole parts (a first part
// still on the heap) are left to the garbage collector.
func (p *partPool) put(b []byte) {
	if cap(b) != p.size {
		return
	}
	b = b[:cap(b)]
	idlePart(b)
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}

// release frees every kept buffer; the pool must not be used after.
func (p *partPool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.free {
		freePart(b)
	}
	p.free = nil
}
