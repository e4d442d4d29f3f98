package httpsource

import (
	"context"
	"hash/maphash"
	"sync"
)

// PageMemo remembers the pages of a job's first read by a hash of their
// bodies, for the confirming read that follows (Paging.Remember, then
// Paging.Recall): a page whose body comes back byte for byte the same
// decodes the same, so that read takes what the first one decoded of it
// instead of decoding it again. Against an API that answers alike twice,
// the confirming read then costs its requests and little else; a body
// that differs in any byte (a user renamed, a timestamp in the envelope)
// is decoded as before.
type PageMemo struct {
	seed maphash.Seed

	mu    sync.Mutex
	pages map[pageKey]memoPage
}

type pageKey struct{ listing, index int }

type memoPage struct {
	hash uint64 // of the body
	page Page   // Users nil, Same set
}

// SamePage is what a page held, read again byte for byte as before: its
// users' count and the digest of their ids.
type SamePage struct {
	N      int
	Digest IDDigest
	ids    []string // page 0's, which drift checking compares; nil for other pages
}

// NewPageMemo returns an empty memo.
func NewPageMemo() *PageMemo {
	return &PageMemo{seed: maphash.MakeSeed(), pages: map[pageKey]memoPage{}}
}

// Reset empties the memo for another pair of reads, whose pages' digests
// will have seed. Not while a read uses it.
func (m *PageMemo) Reset(seed maphash.Seed) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seed, m.pages = seed, map[pageKey]memoPage{}
}

func (m *PageMemo) remember(key pageKey, hash uint64, p Page) {
	same := &SamePage{N: len(p.Users), Digest: NewIDDigest(m.seed)}
	same.Digest.Add(p.Users)
	if key.index == 0 {
		same.ids = userIDs(p)
	}
	p.Users, p.Same = nil, same
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pages[key] = memoPage{hash: hash, page: p}
}

// recall is the page remembered under key, if its body hashed to hash.
func (m *PageMemo) recall(key pageKey, hash uint64) (Page, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.pages[key]
	return e.page, ok && e.hash == hash
}

// memoSlot is one page's request's part in a PageMemo, carried by its
// context to the client, which hashes the body it read: to remember it
// once decoded, or to recall it instead of decoding.
type memoSlot struct {
	memo   *PageMemo
	key    pageKey
	recall bool

	hash   uint64 // the decoded body's, when remembering
	hashed bool
	same   *Page // the page recalled; nil: the body was decoded
}

type memoKey struct{}

func withMemoSlot(ctx context.Context, s *memoSlot) context.Context {
	return context.WithValue(ctx, memoKey{}, s)
}

// recalled reports whether ctx's page, body, is one its memo holds: the
// client then skips decoding it.
func recalled(ctx context.Context, body []byte) bool {
	s, _ := ctx.Value(memoKey{}).(*memoSlot)
	if s == nil || !s.recall {
		return false
	}
	if p, ok := s.memo.recall(s.key, maphash.Bytes(s.memo.seed, body)); ok {
		s.same = &p
	}
	return s.same != nil
}

// decoded tells ctx's page, when it is being remembered, the body it was
// decoded from.
func decoded(ctx context.Context, body []byte) {
	if s, _ := ctx.Value(memoKey{}).(*memoSlot); s != nil && !s.recall {
		s.hash, s.hashed = maphash.Bytes(s.memo.seed, body), true
	}
}

// done turns the provider's answer into the page: the one recalled, if
// the body was the memo's (the provider decoded nothing), else p, which
// is remembered when the read remembers.
func (s *memoSlot) done(p Page) Page {
	switch {
	case s == nil:
		return p
	case s.same != nil:
		return *s.same
	case s.hashed:
		s.memo.remember(s.key, s.hash, p)
	}
	return p
}
