//go:build !unix

package httpsource

// mapWords has no mapping to offer here: the caller allocates on the heap.
func mapWords[T uint32 | uint64](int) ([]T, bool) { return nil, false }

func unmapWords[T uint32 | uint64]([]T) {}
