package wallet

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MSat is an amount in millisatoshis, the unit of every NIP-47 amount.
type MSat int64

// MaxMSat is the largest representable amount; Budget.Remaining returns it
// for a connection without a budget.
const MaxMSat = MSat(math.MaxInt64)

// FromSats converts whole satoshis to millisatoshis (saturating at MaxMSat).
func FromSats(sats int64) MSat {
	if sats > math.MaxInt64/1000 {
		return MaxMSat
	}
	return MSat(sats * 1000)
}

// Sats returns the amount in whole satoshis, rounded down.
func (m MSat) Sats() int64 { return int64(m) / 1000 }

// String formats the amount as "1234 msat".
func (m MSat) String() string { return strconv.FormatInt(int64(m), 10) + " msat" }

// Compact formats the amount in the form ParseAmount reads: "50000sat" when
// it is a whole number of sats, else "1234msat".
func (m MSat) Compact() string {
	if m%1000 == 0 {
		return strconv.FormatInt(int64(m)/1000, 10) + "sat"
	}
	return strconv.FormatInt(int64(m), 10) + "msat"
}

// ParseAmount reads a non-negative amount: "<n>sat", "<n>sats", "<n>msat" or
// a bare "<n>" (millisats). n is plain decimal digits.
func ParseAmount(s string) (MSat, error) {
	s = strings.TrimSpace(s)
	num, mul := s, int64(1)
	switch {
	case strings.HasSuffix(s, "msat"):
		num = s[:len(s)-4]
	case strings.HasSuffix(s, "sats"):
		num, mul = s[:len(s)-4], 1000
	case strings.HasSuffix(s, "sat"):
		num, mul = s[:len(s)-3], 1000
	}
	if num == "" || len(num) > 19 {
		return 0, fmt.Errorf("%w: %q", ErrInvalidAmount, s)
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q", ErrInvalidAmount, s)
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mul {
		return 0, fmt.Errorf("%w: %q out of range", ErrInvalidAmount, s)
	}
	return MSat(n * mul), nil
}

// MinFeeReserve is the smallest fee reserve held for a payment: 10 sat.
const MinFeeReserve MSat = 10_000

// FeeReserve is the routing fee held back while a payment is in flight:
// max(1% of amount, 10 sat), like Alby Hub. Self-payments use no reserve
// (the caller passes 0 instead).
func FeeReserve(amount MSat) MSat {
	return max(amount/100, MinFeeReserve)
}
