package bench

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTime is CLOCK_THREAD_CPUTIME_ID: the calling thread's CPU time, in ns
// (getrusage(RUSAGE_THREAD) is adjusted from ticks and can stand still for milliseconds).
const clockThreadCPUTime = 3

// threadCPU is the CPU time (user+system) of the calling OS thread.
func threadCPU() (time.Duration, error) {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, errno
	}
	return time.Duration(ts.Nano()), nil
}
