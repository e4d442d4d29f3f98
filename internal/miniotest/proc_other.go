//go:build !linux

package miniotest

import "os/exec"

// setPdeathsig does nothing here: only Linux has a parent-death signal,
// so elsewhere a crashed test binary may leave MinIO running.
func setPdeathsig(*exec.Cmd) {}
