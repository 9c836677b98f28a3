//go:build !linux

package bench

import "time"

func threadCPU() (time.Duration, error) { return 0, ErrNoCPUClock }
