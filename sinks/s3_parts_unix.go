//go:build unix

package sinks

import "golang.org/x/sys/unix"

// allocPart maps an anonymous region for a part, outside the Go heap; the
// heap is the fallback if the kernel refuses. Pages take memory only once
// written.
func allocPart(size int) []byte {
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]byte, size)
	}
	return b
}

// idlePart gives a kept part's pages back to the system: the next part
// written into it takes memory as it fills, so a half-full part costs
// half a part. The mapping stays, so a late reader sees zeros, not a
// fault.
func idlePart(b []byte) {
	_ = unix.Madvise(b, unix.MADV_DONTNEED)
}

// freePart unmaps a part from allocPart; a heap fallback fails to unmap
// (EINVAL) and is left to the garbage collector.
func freePart(b []byte) {
	_ = unix.Munmap(b)
}
