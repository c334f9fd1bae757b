package delivery_test

import (
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/delivery"
)

var pinned = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestDefaultScheduleCurve(t *testing.T) {
	p := delivery.DefaultRetryPolicy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	// wait after attempt n = 5m × 1.3^(n-1), rounded to the second.
	want := map[int]time.Duration{
		1:  5 * time.Minute,
		2:  6*time.Minute + 30*time.Second,
		3:  8*time.Minute + 27*time.Second,
		4:  10*time.Minute + 59*time.Second,               // 659.1s
		17: 5*time.Hour + 32*time.Minute + 42*time.Second, // 300s × 1.3^16
	}
	for n, w := range want {
		if got := p.Wait(n); got != w {
			t.Errorf("Wait(%d) = %s, want %s", n, got, w)
		}
	}
	// Walk the 18 attempts on a pinned clock: 17 deferrals, then expiry.
	now := pinned
	for n := 1; n <= 17; n++ {
		next, expired := p.NextAttempt(now, n, 0)
		if expired {
			t.Fatalf("attempt %d expired early", n)
		}
		if next.Sub(now) != p.Wait(n) {
			t.Fatalf("attempt %d: next after %s, want %s", n, next.Sub(now), p.Wait(n))
		}
		now = next
	}
	if _, expired := p.NextAttempt(now, 18, 0); !expired {
		t.Fatal("attempt 18 failing did not expire the message")
	}
	total := now.Sub(pinned)
	if total < 23*time.Hour || total > 25*time.Hour {
		t.Fatalf("18 attempts span %s, want about 24h", total)
	}
	sched := p.Schedule()
	if len(sched) != 17 || sched[16] != total {
		t.Fatalf("Schedule() = %d entries ending %s, want 17 ending %s", len(sched), sched[len(sched)-1], total)
	}
}

func TestCustomPolicyAndValidation(t *testing.T) {
	p := delivery.RetryPolicy{Initial: time.Minute, Factor: 2, MaxAttempts: 3}
	if p.Wait(3) != 4*time.Minute {
		t.Fatalf("Wait(3) = %s", p.Wait(3))
	}
	if _, exp := p.NextAttempt(pinned, 2, 0); exp {
		t.Fatal("attempt 2 of 3 expired")
	}
	if _, exp := p.NextAttempt(pinned, 3, 0); !exp {
		t.Fatal("attempt 3 of 3 did not expire")
	}
	bad := delivery.RetryPolicy{Initial: 0, Factor: 0.5, MaxAttempts: 0}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid policy accepted")
	}
	for _, s := range []string{"initial", "factor", "max attempts"} {
		if !contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
}

func TestRetryHint(t *testing.T) {
	cases := map[string]time.Duration{
		"4.7.1 Greylisted, please try again in 300 seconds": 300 * time.Second,
		"Try again after 5 minutes":                         5 * time.Minute,
		"too many connections, retry in 2 hours":            2 * time.Hour,
		"Please retry in 60s":                               time.Minute,
		"mailbox busy":                                      0,
	}
	for text, want := range cases {
		got, ok := delivery.ParseRetryHint(text)
		if got != want || ok != (want > 0) {
			t.Errorf("ParseRetryHint(%q) = %s, %v; want %s", text, got, ok, want)
		}
	}
	p := delivery.DefaultRetryPolicy()
	next, _ := p.NextAttempt(pinned, 1, 300*time.Second)
	if next.Sub(pinned) != 300*time.Second {
		t.Fatalf("hint not honoured: %s", next.Sub(pinned))
	}
	next, _ = p.NextAttempt(pinned, 1, 100*time.Hour)
	if next.Sub(pinned) != delivery.MaxRetryHint {
		t.Fatalf("hint not capped: %s", next.Sub(pinned))
	}
	if _, exp := p.NextAttempt(pinned, 18, time.Minute); !exp {
		t.Fatal("a hint extended the number of attempts")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestDefaultScheduleTable pins all 17 waits (seconds, computed independently as
// round(300 × 1.3^(n-1))) and their 85,502 s ≈ 23.75 h total.
func TestDefaultScheduleTable(t *testing.T) {
	want := []int{300, 390, 507, 659, 857, 1114, 1448, 1882, 2447, 3181, 4136, 5376, 6989, 9086, 11812, 15356, 19962}
	p := delivery.DefaultRetryPolicy()
	total := 0
	for i, w := range want {
		if got := p.Wait(i + 1); got != time.Duration(w)*time.Second {
			t.Errorf("wait after attempt %d = %s, want %ds", i+1, got, w)
		}
		total += w
	}
	if s := p.Schedule(); s[len(s)-1] != time.Duration(total)*time.Second || total != 85502 {
		t.Fatalf("total %s, want %ds", s[len(s)-1], total)
	}
}
