package wallet

import (
	"fmt"
	"strings"
	"time"
)

// Renewal is how often a connection's budget starts afresh.
type Renewal string

// Renewal periods, as named by NIP-47 get_budget and NWA budget_renewal.
const (
	RenewalNever   Renewal = "never"
	RenewalDaily   Renewal = "daily"
	RenewalWeekly  Renewal = "weekly"
	RenewalMonthly Renewal = "monthly"
	RenewalYearly  Renewal = "yearly"
)

// ParseRenewal reads a renewal period (case-insensitive); "" means never.
func ParseRenewal(s string) (Renewal, error) {
	r := Renewal(strings.ToLower(strings.TrimSpace(s)))
	if r == "" {
		return RenewalNever, nil
	}
	if !r.Valid() {
		return "", fmt.Errorf("%w: unknown renewal %q", ErrInvalidBudget, s)
	}
	return r, nil
}

// Valid reports whether r is one of the five known periods.
func (r Renewal) Valid() bool {
	switch r {
	case RenewalNever, RenewalDaily, RenewalWeekly, RenewalMonthly, RenewalYearly:
		return true
	}
	return false
}

// WindowStart returns the start of the budget window that contains now:
// local midnight of the day, Monday of the week, the 1st of the month or
// 1 January, in loc (nil means time.Local). For never (or an unknown
// renewal) it returns the zero time: the window spans all history.
// Where a DST change skips midnight, the window starts at the first instant
// that exists on that day.
func WindowStart(r Renewal, now time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.Local
	}
	now = now.In(loc)
	y, m, d := now.Date()
	switch r {
	case RenewalDaily:
		return dayStart(y, m, d, loc)
	case RenewalWeekly:
		back := (int(now.Weekday()) + 6) % 7 // days since Monday
		return dayStart(y, m, d-back, loc)
	case RenewalMonthly:
		return dayStart(y, m, 1, loc)
	case RenewalYearly:
		return dayStart(y, time.January, 1, loc)
	}
	return time.Time{}
}

// NextRenewal returns when the window containing now ends and the budget
// renews; the zero time for never.
func NextRenewal(r Renewal, now time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.Local
	}
	start := WindowStart(r, now, loc)
	if start.IsZero() {
		return time.Time{}
	}
	// Calendar arithmetic on the (normalised) local date of the start.
	y, m, d := start.In(loc).Date()
	switch r {
	case RenewalDaily:
		return dayStart(y, m, d+1, loc)
	case RenewalWeekly:
		return dayStart(y, m, d+7, loc)
	case RenewalMonthly:
		return dayStart(y, m+1, 1, loc)
	case RenewalYearly:
		return dayStart(y+1, time.January, 1, loc)
	}
	return time.Time{}
}

// dayStart is the first instant of the local calendar day y-m-d (d and m
// may be out of range; time.Date normalises them).
func dayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	wy, wm, wd := time.Date(y, m, d, 12, 0, 0, 0, loc).Date() // the intended date, away from transitions
	if ty, tm, td := t.Date(); ty != wy || tm != wm || td != wd {
		// Midnight does not exist (clocks jumped forward over it) and
		// time.Date chose the previous day's offset: the day begins when that
		// zone period ends.
		_, end := t.ZoneBounds()
		if !end.IsZero() {
			t = end
		}
	}
	return t
}

// Budget is a spending limit per renewal window. Limit 0 means no budget.
type Budget struct {
	Limit   MSat
	Renewal Renewal
}

// Enabled reports whether a spending limit applies.
func (b Budget) Enabled() bool { return b.Limit > 0 }

// String formats the budget as ParseBudget reads it ("50000sat/monthly");
// "none" when no budget applies.
func (b Budget) String() string {
	if !b.Enabled() {
		return "none"
	}
	r := b.Renewal
	if r == "" {
		r = RenewalNever
	}
	return b.Limit.Compact() + "/" + string(r)
}

// ParseBudget reads "<amount>[/<renewal>]", e.g. "50000sat/monthly",
// "21000msat/daily" or "1000sat" (renewal never). "", "none" and "0" mean no budget.
func ParseBudget(s string) (Budget, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return Budget{}, nil
	}
	amt, per, hasPer := strings.Cut(s, "/")
	limit, err := ParseAmount(amt)
	if err != nil {
		return Budget{}, fmt.Errorf("%w: %w", ErrInvalidBudget, err)
	}
	r := RenewalNever
	if hasPer {
		if strings.TrimSpace(per) == "" {
			return Budget{}, fmt.Errorf("%w: empty renewal in %q", ErrInvalidBudget, s)
		}
		if r, err = ParseRenewal(per); err != nil {
			return Budget{}, err
		}
	}
	if limit == 0 {
		return Budget{}, nil
	}
	return Budget{Limit: limit, Renewal: r}, nil
}

// WindowStart is WindowStart(b.Renewal, now, loc).
func (b Budget) WindowStart(now time.Time, loc *time.Location) time.Time {
	return WindowStart(b.Renewal, now, loc)
}

// Remaining is what may still be spent (amount + fee reserve) in the window
// given what was used; MaxMSat when no budget applies, never negative.
func (b Budget) Remaining(used MSat) MSat {
	if !b.Enabled() {
		return MaxMSat
	}
	return max(b.Limit-used, 0)
}

// Check returns ErrQuotaExceeded when used + amount + reserve exceeds the
// limit. Stores call it inside the reservation transaction.
func (b Budget) Check(used, amount, reserve MSat) error {
	if !b.Enabled() {
		return nil
	}
	if amount < 0 || reserve < 0 {
		return fmt.Errorf("%w: negative amount or reserve", ErrInvalidAmount)
	}
	if amount > b.Remaining(used) || reserve > b.Remaining(used)-amount {
		return fmt.Errorf("%w: used %d + amount %d + reserve %d > limit %d msat",
			ErrQuotaExceeded, int64(used), int64(amount), int64(reserve), int64(b.Limit))
	}
	return nil
}
