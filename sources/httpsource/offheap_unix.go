//go:build unix

package httpsource

import (
	"syscall"
	"unsafe"
)

// mapWords returns n zeroed words outside the Go heap: an anonymous
// mapping, which the garbage collector neither scans nor counts towards
// its goal, so a large id set (9.1 MB at a million users) does not let the
// heap grow twice its size before the next collection. ok is false when
// the mapping fails; the caller then allocates on the heap.
func mapWords[T uint32 | uint64](n int) (words []T, ok bool) {
	size := n * int(unsafe.Sizeof(T(0)))
	if size == 0 {
		return nil, false
	}
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, false
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n), true
}

// unmapWords gives back what mapWords returned; words must not be used
// after.
func unmapWords[T uint32 | uint64](words []T) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), cap(words)*int(unsafe.Sizeof(T(0))))
	_ = syscall.Munmap(b) // only fails for a range not mapped
}
