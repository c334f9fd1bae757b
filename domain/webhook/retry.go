package webhook

import (
	"errors"
	"math"
	"time"
)

// Schedule is the retry policy of webhook deliveries: after failed attempt n (1-based) the next
// one waits Initial × Factor^(n-1), capped at MaxWait, times a jitter factor drawn uniformly
// from [1-Jitter, 1+Jitter]. A delivery is dead when an attempt fails at or after GiveUpAfter
// from its first attempt: it is never given up earlier, so receivers down for less than
// GiveUpAfter (3 days by default) still get every event.
type Schedule struct {
	Initial     time.Duration
	Factor      float64
	MaxWait     time.Duration
	Jitter      float64 // 0 ≤ Jitter < 1
	GiveUpAfter time.Duration
}

// DefaultSchedule: 30 s, doubling, at most 6 h between attempts, ±20 % jitter, dead after 3 days
// (about 25 attempts).
var DefaultSchedule = Schedule{Initial: 30 * time.Second, Factor: 2, MaxWait: 6 * time.Hour, Jitter: 0.2, GiveUpAfter: 72 * time.Hour}

// WithInitial returns s with its first wait set to d (when d > 0), the longest wait raised to it
// if it was shorter (POSTHASTE_WEBHOOK_RETRY_INITIAL).
func (s Schedule) WithInitial(d time.Duration) Schedule {
	if d > 0 {
		s.Initial = d
		s.MaxWait = max(s.MaxWait, d)
	}
	return s
}

// Validate refuses a schedule that would never retry or never give up.
func (s Schedule) Validate() error {
	var errs []error
	if s.Initial <= 0 {
		errs = append(errs, errors.New("initial wait must be > 0"))
	}
	if s.Factor < 1 {
		errs = append(errs, errors.New("factor must be >= 1"))
	}
	if s.MaxWait < s.Initial {
		errs = append(errs, errors.New("max wait must be >= initial wait"))
	}
	if s.Jitter < 0 || s.Jitter >= 1 {
		errs = append(errs, errors.New("jitter must be in [0, 1)"))
	}
	if s.GiveUpAfter <= 0 {
		errs = append(errs, errors.New("give-up age must be > 0"))
	}
	if len(errs) > 0 {
		return errors.Join(append([]error{errors.New("webhook: schedule")}, errs...)...)
	}
	return nil
}

// Wait returns the pause after failed attempt n (1-based); u in [0, 1) draws the jitter.
func (s Schedule) Wait(n int, u float64) time.Duration {
	if n < 1 {
		n = 1
	}
	base := float64(s.Initial) * math.Pow(s.Factor, float64(n-1))
	if base > float64(s.MaxWait) || math.IsInf(base, 0) {
		base = float64(s.MaxWait)
	}
	return time.Duration(base * (1 - s.Jitter + 2*s.Jitter*u))
}

// Next decides what follows failed attempt n made at now for a delivery first attempted at
// first: the time of the next attempt, or dead.
func (s Schedule) Next(n int, first, now time.Time, u float64) (next time.Time, dead bool) {
	if now.Sub(first) >= s.GiveUpAfter {
		return time.Time{}, true
	}
	return now.Add(s.Wait(n, u)), false
}
