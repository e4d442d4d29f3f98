package miniotest

import (
	"os/exec"
	"syscall"
)

// setPdeathsig has the kernel kill MinIO when the test binary dies, so a
// crashed or killed `go test` does not leave servers running. The signal
// follows the OS thread that started the process; Go only ends a thread
// when a goroutine exits while locked to it, which tests do not do.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
