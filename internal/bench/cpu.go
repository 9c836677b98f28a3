package bench

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/nip44"
)

// ErrNoCPUClock is returned where the per-process or per-thread CPU clocks are unknown.
var ErrNoCPUClock = errors.New("bench: CPU time is only measured on Linux")

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every Linux port Go supports.
const clockTicks = 100

// ProcessCPU returns the user+system CPU time used so far by every thread of process pid,
// read from /proc/PID/stat (10 ms resolution).
func ProcessCPU(pid int) (time.Duration, error) {
	if runtime.GOOS != "linux" {
		return 0, ErrNoCPUClock
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: read CPU time of process %d: %w", pid, err)
	}
	return parseProcStat(string(data))
}

// parseProcStat extracts utime+stime (fields 14 and 15) from a /proc/PID/stat line. The
// command name (field 2) is in parentheses and may hold spaces: fields count from the
// last ')'.
func parseProcStat(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: malformed /proc stat line")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): utime is field 14 = f[11], stime field 15 = f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: malformed /proc stat line")
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bench: malformed /proc stat line")
	}
	return time.Duration(u+st) * time.Second / clockTicks, nil
}

// CPUReport compares the CPU time a service process spent per request with the CPU time of
// the cryptography no implementation can avoid (verify the request, decrypt it, encrypt
// and sign the response), measured on this machine in the same run.
type CPUReport struct {
	PID               int     `json:"pid"`
	ProcessCPUSeconds float64 `json:"process_cpu_seconds"`
	Requests          uint64  `json:"requests"`
	PerRequestMicros  float64 `json:"process_cpu_per_request_us"`
	CryptoMicros      float64 `json:"crypto_per_request_us"`
	Ratio             float64 `json:"ratio"` // process CPU per request / crypto per request
	CryptoBreakdown   struct {
		Verify  float64 `json:"verify_us"`
		Decrypt float64 `json:"decrypt_us"`
		Encrypt float64 `json:"encrypt_us"`
		Sign    float64 `json:"sign_us"`
	} `json:"crypto_breakdown"`
}

// cryptoRounds is how many rounds CryptoCost splits its iterations into.
const cryptoRounds = 5

// CryptoCost measures, on one locked OS thread and with its own CPU clock, the four
// operations a wallet service must do for a get_balance request with a cached NIP-44
// conversation key, n times each in cryptoRounds rounds. It returns the CPU time per
// operation of its fastest round: other processes (the service still draining, the relay)
// can only add to a round's time, so the least is the steadiest estimate — and the
// strictest baseline for a ratio.
func CryptoCost(n int) (verify, decrypt, encrypt, sign time.Duration, err error) {
	if n <= 0 {
		n = 1
	}
	app, wallet := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	req, err := nip47.NewRequest(nip47.MethodGetBalance, nil)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	reqEv, err := nip47.NewCipher(4).SealRequest(app, wallet.Public(), nip47.EncryptionNIP44, req, time.Now())
	if err != nil {
		return 0, 0, 0, 0, err
	}
	key, err := nip44.ConversationKey(wallet, app.Public())
	if err != nil {
		return 0, 0, 0, 0, err
	}
	resp, err := nip47.NewResult(nip47.MethodGetBalance, nip47.GetBalanceResult{Balance: 1_000_000_000})
	if err != nil {
		return 0, 0, 0, 0, err
	}
	respJSON := string(resp.AppendJSON(nil))
	respEv := &nostr.Event{CreatedAt: time.Now().Unix(), Kind: nip47.KindResponse,
		Tags: nostr.Tags{{"p", app.Public().String()}, {"e", reqEv.ID.String()}}}
	if respEv.Content, err = nip44.Encrypt(respJSON, key); err != nil {
		return 0, 0, 0, 0, err
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	measure := func(op func() error) (time.Duration, error) {
		if err := op(); err != nil { // warm up, and fail early
			return 0, err
		}
		per := max(1, n/cryptoRounds)
		best := time.Duration(-1)
		for range cryptoRounds {
			t0, err := threadCPU()
			if err != nil {
				return 0, err
			}
			for range per {
				if err := op(); err != nil {
					return 0, err
				}
			}
			t1, err := threadCPU()
			if err != nil {
				return 0, err
			}
			if d := (t1 - t0) / time.Duration(per); best < 0 || d < best {
				best = d
			}
		}
		return best, nil
	}
	if verify, err = measure(reqEv.VerifyNoCache); err != nil {
		return
	}
	if decrypt, err = measure(func() error { _, err := nip44.Decrypt(reqEv.Content, key); return err }); err != nil {
		return
	}
	if encrypt, err = measure(func() error { _, err := nip44.Encrypt(respJSON, key); return err }); err != nil {
		return
	}
	sign, err = measure(func() error { return respEv.Sign(wallet) })
	return
}
