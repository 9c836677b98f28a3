package wallet

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // window maths must not depend on the machine's zoneinfo
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestWindowStartAndNextRenewal(t *testing.T) {
	utc := time.UTC
	berlin := mustLoad(t, "Europe/Berlin")
	newYork := mustLoad(t, "America/New_York")
	santiago := mustLoad(t, "America/Santiago")
	tokyo := mustLoad(t, "Asia/Tokyo")
	d := func(loc *time.Location, y int, m time.Month, day, h, min int) time.Time {
		return time.Date(y, m, day, h, min, 0, 0, loc)
	}
	tests := []struct {
		name        string
		r           Renewal
		loc         *time.Location
		now         time.Time
		start, next time.Time
	}{
		{"daily midday", RenewalDaily, utc, d(utc, 2026, 3, 15, 12, 0), d(utc, 2026, 3, 15, 0, 0), d(utc, 2026, 3, 16, 0, 0)},
		{"daily at midnight", RenewalDaily, utc, d(utc, 2026, 3, 15, 0, 0), d(utc, 2026, 3, 15, 0, 0), d(utc, 2026, 3, 16, 0, 0)},
		{"daily 1ns before midnight", RenewalDaily, utc, d(utc, 2026, 3, 16, 0, 0).Add(-1), d(utc, 2026, 3, 15, 0, 0), d(utc, 2026, 3, 16, 0, 0)},
		{"daily across year end", RenewalDaily, utc, d(utc, 2025, 12, 31, 23, 59), d(utc, 2025, 12, 31, 0, 0), d(utc, 2026, 1, 1, 0, 0)},
		{"daily in another zone's date", RenewalDaily, tokyo, d(utc, 2026, 3, 15, 23, 30), d(tokyo, 2026, 3, 16, 0, 0), d(tokyo, 2026, 3, 17, 0, 0)},
		{"daily DST spring forward (23h day)", RenewalDaily, berlin, d(berlin, 2026, 3, 29, 12, 0), d(berlin, 2026, 3, 29, 0, 0), d(berlin, 2026, 3, 30, 0, 0)},
		{"daily DST fall back (25h day)", RenewalDaily, berlin, d(berlin, 2026, 10, 25, 23, 0), d(berlin, 2026, 10, 25, 0, 0), d(berlin, 2026, 10, 26, 0, 0)},
		// Santiago skips midnight: 2022-09-11 00:00 -04 became 01:00 -03.
		{"daily midnight skipped by DST", RenewalDaily, santiago, d(santiago, 2022, 9, 11, 12, 0),
			time.Date(2022, 9, 11, 4, 0, 0, 0, utc), time.Date(2022, 9, 12, 3, 0, 0, 0, utc)},
		{"renewal into a skipped midnight", RenewalDaily, santiago, d(santiago, 2022, 9, 10, 12, 0),
			d(santiago, 2022, 9, 10, 0, 0), time.Date(2022, 9, 11, 4, 0, 0, 0, utc)},
		{"weekly on Sunday", RenewalWeekly, utc, d(utc, 2026, 3, 15, 18, 0), d(utc, 2026, 3, 9, 0, 0), d(utc, 2026, 3, 16, 0, 0)},
		{"weekly on Monday midnight", RenewalWeekly, utc, d(utc, 2026, 3, 9, 0, 0), d(utc, 2026, 3, 9, 0, 0), d(utc, 2026, 3, 16, 0, 0)},
		{"weekly across year end", RenewalWeekly, utc, d(utc, 2026, 1, 1, 8, 0), d(utc, 2025, 12, 29, 0, 0), d(utc, 2026, 1, 5, 0, 0)},
		{"weekly across DST", RenewalWeekly, berlin, d(berlin, 2026, 3, 31, 9, 0), d(berlin, 2026, 3, 30, 0, 0), d(berlin, 2026, 4, 6, 0, 0)},
		{"weekly containing DST", RenewalWeekly, berlin, d(berlin, 2026, 3, 29, 9, 0), d(berlin, 2026, 3, 23, 0, 0), d(berlin, 2026, 3, 30, 0, 0)},
		{"monthly 31st", RenewalMonthly, utc, d(utc, 2026, 1, 31, 23, 59), d(utc, 2026, 1, 1, 0, 0), d(utc, 2026, 2, 1, 0, 0)},
		{"monthly leap day", RenewalMonthly, utc, d(utc, 2024, 2, 29, 12, 0), d(utc, 2024, 2, 1, 0, 0), d(utc, 2024, 3, 1, 0, 0)},
		{"monthly February non-leap", RenewalMonthly, utc, d(utc, 2026, 2, 28, 12, 0), d(utc, 2026, 2, 1, 0, 0), d(utc, 2026, 3, 1, 0, 0)},
		{"monthly December", RenewalMonthly, utc, d(utc, 2026, 12, 15, 0, 0), d(utc, 2026, 12, 1, 0, 0), d(utc, 2027, 1, 1, 0, 0)},
		{"monthly across DST", RenewalMonthly, newYork, d(newYork, 2026, 3, 15, 12, 0), d(newYork, 2026, 3, 1, 0, 0), d(newYork, 2026, 4, 1, 0, 0)},
		{"yearly last second", RenewalYearly, utc, d(utc, 2024, 12, 31, 23, 59).Add(59 * time.Second), d(utc, 2024, 1, 1, 0, 0), d(utc, 2025, 1, 1, 0, 0)},
		{"yearly leap day", RenewalYearly, berlin, d(berlin, 2028, 2, 29, 1, 0), d(berlin, 2028, 1, 1, 0, 0), d(berlin, 2029, 1, 1, 0, 0)},
		{"never", RenewalNever, utc, d(utc, 2026, 3, 15, 12, 0), time.Time{}, time.Time{}},
		{"unknown renewal", Renewal("hourly"), utc, d(utc, 2026, 3, 15, 12, 0), time.Time{}, time.Time{}},
		{"empty renewal", Renewal(""), utc, d(utc, 2026, 3, 15, 12, 0), time.Time{}, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := WindowStart(tc.r, tc.now, tc.loc); !got.Equal(tc.start) || got.IsZero() != tc.start.IsZero() {
				t.Errorf("WindowStart = %v, want %v", got, tc.start)
			}
			if got := NextRenewal(tc.r, tc.now, tc.loc); !got.Equal(tc.next) || got.IsZero() != tc.next.IsZero() {
				t.Errorf("NextRenewal = %v, want %v", got, tc.next)
			}
		})
	}
}

func TestWindowNilLocationIsLocal(t *testing.T) {
	now := time.Date(2026, 7, 4, 15, 4, 5, 0, time.UTC)
	for _, r := range []Renewal{RenewalDaily, RenewalWeekly, RenewalMonthly, RenewalYearly} {
		if a, b := WindowStart(r, now, nil), WindowStart(r, now, time.Local); !a.Equal(b) {
			t.Errorf("%s: nil location %v, time.Local %v", r, a, b)
		}
		if a, b := NextRenewal(r, now, nil), NextRenewal(r, now, time.Local); !a.Equal(b) {
			t.Errorf("%s: nil location %v, time.Local %v", r, a, b)
		}
	}
}

// TestWindowProperties: for random instants in zones with odd transitions,
// start <= now < next, both are window starts themselves, and start is
// local midnight unless midnight did not exist that day.
func TestWindowProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []string{"UTC", "Europe/Berlin", "America/Santiago", "America/Havana", "Asia/Beirut",
		"Australia/Lord_Howe", "Pacific/Apia", "America/Sao_Paulo", "Asia/Kathmandu"}
	lo := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for _, z := range zones {
		loc := mustLoad(t, z)
		for range 2000 {
			now := time.Unix(lo+rng.Int64N(hi-lo), 0)
			for _, r := range []Renewal{RenewalDaily, RenewalWeekly, RenewalMonthly, RenewalYearly} {
				start, next := WindowStart(r, now, loc), NextRenewal(r, now, loc)
				if start.After(now) || !next.After(now) {
					t.Fatalf("%s %s at %v: window [%v, %v) does not contain now", z, r, now.In(loc), start, next)
				}
				if s := WindowStart(r, start, loc); !s.Equal(start) {
					t.Fatalf("%s %s at %v: start %v is in window %v", z, r, now.In(loc), start, s)
				}
				if s := WindowStart(r, next, loc); !s.Equal(next) {
					t.Fatalf("%s %s at %v: next %v is in window %v", z, r, now.In(loc), next, s)
				}
				if s := WindowStart(r, next.Add(-time.Nanosecond), loc); !s.Equal(start) {
					t.Fatalf("%s %s at %v: window before next starts at %v, not %v", z, r, now.In(loc), s, start)
				}
				ls := start.In(loc)
				if h, m, s := ls.Clock(); h != 0 || m != 0 || s != 0 {
					// Only allowed when midnight was skipped: the previous
					// instant then belongs to the previous local day.
					if prev := start.Add(-time.Nanosecond).In(loc); prev.Day() == ls.Day() {
						t.Fatalf("%s %s: start %v is not the first instant of its day", z, r, ls)
					}
				}
			}
		}
	}
}

func TestParseBudget(t *testing.T) {
	tests := []struct {
		in   string
		want Budget
		err  error
	}{
		{"50000sat/monthly", Budget{50_000_000, RenewalMonthly}, nil},
		{"21000msat/daily", Budget{21_000, RenewalDaily}, nil},
		{"21000/weekly", Budget{21_000, RenewalWeekly}, nil},
		{" 100sats / Yearly ", Budget{100_000, RenewalYearly}, nil},
		{"1000sat", Budget{1_000_000, RenewalNever}, nil},
		{"1000sat/never", Budget{1_000_000, RenewalNever}, nil},
		{"", Budget{}, nil},
		{"none", Budget{}, nil},
		{"NONE", Budget{}, nil},
		{"0", Budget{}, nil},
		{"0sat/monthly", Budget{}, nil},
		{"1000sat/", Budget{}, ErrInvalidBudget},
		{"1000sat/hourly", Budget{}, ErrInvalidBudget},
		{"/monthly", Budget{}, ErrInvalidBudget},
		{"-5sat/monthly", Budget{}, ErrInvalidBudget},
		{"1.5ksat/monthly", Budget{}, ErrInvalidBudget},
		{"50000 sat/monthly", Budget{}, ErrInvalidBudget},
		{"1000sat/monthly/daily", Budget{}, ErrInvalidBudget},
		{"99999999999999999999sat", Budget{}, ErrInvalidBudget},
	}
	for _, tc := range tests {
		got, err := ParseBudget(tc.in)
		if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) || got != tc.want {
			t.Errorf("ParseBudget(%q) = %+v, %v; want %+v, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestBudgetString(t *testing.T) {
	for _, tc := range []struct {
		b    Budget
		want string
	}{
		{Budget{50_000_000, RenewalMonthly}, "50000sat/monthly"},
		{Budget{21_500, RenewalDaily}, "21500msat/daily"},
		{Budget{1000, ""}, "1sat/never"},
		{Budget{}, "none"},
	} {
		if got := tc.b.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.b, got, tc.want)
		}
	}
}

func TestBudgetCheckAndRemaining(t *testing.T) {
	b := Budget{Limit: 100_000, Renewal: RenewalDaily}
	for _, tc := range []struct {
		name                  string
		b                     Budget
		used, amount, reserve MSat
		remaining             MSat
		err                   error
	}{
		{"fits", b, 0, 50_000, 10_000, 100_000, nil},
		{"exactly the limit", b, 40_000, 50_000, 10_000, 60_000, nil},
		{"one msat over", b, 40_001, 50_000, 10_000, 59_999, ErrQuotaExceeded},
		{"reserve tips it over", b, 0, 95_000, 10_000, 100_000, ErrQuotaExceeded},
		{"already over (limit lowered)", b, 150_000, 0, 0, 0, nil},
		{"already over, any amount", b, 150_000, 1, 0, 0, ErrQuotaExceeded},
		{"no budget", Budget{}, 1 << 60, 1 << 60, 1 << 60, MaxMSat, nil},
		{"huge amount does not overflow", b, 50_000, MaxMSat, MaxMSat, 50_000, ErrQuotaExceeded},
		{"negative amount", b, 0, -1, 0, 100_000, ErrInvalidAmount},
	} {
		err := tc.b.Check(tc.used, tc.amount, tc.reserve)
		if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("%s: Check = %v, want %v", tc.name, err, tc.err)
		}
		if got := tc.b.Remaining(tc.used); got != tc.remaining {
			t.Errorf("%s: Remaining = %d, want %d", tc.name, got, tc.remaining)
		}
	}
}

func TestParseRenewal(t *testing.T) {
	for in, want := range map[string]Renewal{"": RenewalNever, "never": RenewalNever, "Daily": RenewalDaily,
		"weekly": RenewalWeekly, " monthly ": RenewalMonthly, "YEARLY": RenewalYearly} {
		if got, err := ParseRenewal(in); err != nil || got != want {
			t.Errorf("ParseRenewal(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"hourly", "month", "dailyx"} {
		if _, err := ParseRenewal(in); !errors.Is(err, ErrInvalidBudget) {
			t.Errorf("ParseRenewal(%q) error %v, want ErrInvalidBudget", in, err)
		}
	}
}

func FuzzParseBudget(f *testing.F) {
	for _, s := range []string{"50000sat/monthly", "21000msat/daily", "1000sat", "none", "", "0",
		"1000sat/", "/weekly", "9223372036854775807msat/yearly", "9223372036854775sat/never", " 5 sats / Daily"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBudget(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidBudget) {
				t.Fatalf("ParseBudget(%q) error %v does not wrap ErrInvalidBudget", s, err)
			}
			return
		}
		if b.Limit < 0 || (b.Enabled() && !b.Renewal.Valid()) || (!b.Enabled() && b != Budget{}) {
			t.Fatalf("ParseBudget(%q) = %+v", s, b)
		}
		again, err := ParseBudget(b.String())
		if err != nil || again != b {
			t.Fatalf("round trip of %q via %q = %+v, %v; want %+v", s, b.String(), again, err, b)
		}
	})
}
