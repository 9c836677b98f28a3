package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/nwc-go/nwc/nip47"
)

// ErrBadMix is wrapped by every ParseMix error.
var ErrBadMix = errors.New("bench: bad method mix")

// Supported are the methods the generator knows how to call with sensible params.
var Supported = []nip47.Method{
	nip47.MethodGetBalance, nip47.MethodGetInfo, nip47.MethodGetBudget, nip47.MethodMakeInvoice,
	nip47.MethodPayInvoice, nip47.MethodLookupInvoice, nip47.MethodListTransactions,
}

// Weighted is one method of a mix and its relative weight.
type Weighted struct {
	Method nip47.Method
	Weight int
}

// Mix is a weighted choice of methods.
type Mix []Weighted

// ParseMix reads "get_balance" or "get_balance=8,make_invoice=1,pay_invoice=1".
// A method without a weight weighs 1; a method named twice is an error.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := map[nip47.Method]bool{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, hasW := strings.Cut(part, "=")
		weight := 1
		if hasW {
			n, err := strconv.Atoi(strings.TrimSpace(w))
			if err != nil || n <= 0 || n > 1_000_000 {
				return nil, fmt.Errorf("%w: weight of %q must be a positive integer", ErrBadMix, name)
			}
			weight = n
		}
		method := nip47.Method(strings.TrimSpace(name))
		if !supported(method) {
			return nil, fmt.Errorf("%w: method %q is not one of %v", ErrBadMix, method, Supported)
		}
		if seen[method] {
			return nil, fmt.Errorf("%w: method %q named twice", ErrBadMix, method)
		}
		seen[method] = true
		m = append(m, Weighted{method, weight})
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%w: no method", ErrBadMix)
	}
	return m, nil
}

func supported(m nip47.Method) bool {
	for _, s := range Supported {
		if s == m {
			return true
		}
	}
	return false
}

// String is the mix in ParseMix's syntax.
func (m Mix) String() string {
	parts := make([]string, len(m))
	for i, w := range m {
		parts[i] = fmt.Sprintf("%s=%d", w.Method, w.Weight)
	}
	return strings.Join(parts, ",")
}

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w.Weight
	}
	return t
}

// Share is the fraction of requests that call method.
func (m Mix) Share(method nip47.Method) float64 {
	t := m.total()
	if t == 0 {
		return 0
	}
	for _, w := range m {
		if w.Method == method {
			return float64(w.Weight) / float64(t)
		}
	}
	return 0
}

// pick returns the method for a uniform random number in [0, total).
func (m Mix) pick(r *rand.Rand) nip47.Method {
	n := r.IntN(m.total())
	for _, w := range m {
		if n < w.Weight {
			return w.Method
		}
		n -= w.Weight
	}
	return m[len(m)-1].Method
}
