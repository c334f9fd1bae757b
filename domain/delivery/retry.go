package delivery

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Defaults of POSTHASTE_RETRY_INITIAL, _FACTOR and _MAX_ATTEMPTS.
const (
	DefaultRetryInitial     = 5 * time.Minute
	DefaultRetryFactor      = 1.3
	DefaultRetryMaxAttempts = 18
)

// MaxRetryHint caps a remote "try again in N seconds" hint: a server cannot push a message
// further than this in one step (the schedule still expires it after MaxAttempts).
const MaxRetryHint = 6 * time.Hour

// RetryPolicy is the retry schedule. Attempts are counted from 1, the first attempt included.
// After a temporary failure of attempt n < MaxAttempts the next attempt is due
// Initial × Factor^(n-1) later; when attempt MaxAttempts fails temporarily the message expires.
// With the defaults (5m, 1.3, 18) the 17 waits add up to about 24 hours.
type RetryPolicy struct {
	Initial     time.Duration
	Factor      float64
	MaxAttempts int
}

// DefaultRetryPolicy returns the policy of the design defaults (5m, 1.3, 18).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Initial: DefaultRetryInitial, Factor: DefaultRetryFactor, MaxAttempts: DefaultRetryMaxAttempts}
}

// Validate reports every problem of the policy at once.
func (p RetryPolicy) Validate() error {
	var errs []error
	if p.Initial <= 0 {
		errs = append(errs, fmt.Errorf("retry initial %s must be > 0", p.Initial))
	}
	if p.Factor < 1 || math.IsNaN(p.Factor) || math.IsInf(p.Factor, 0) {
		errs = append(errs, fmt.Errorf("retry factor %v must be a finite number >= 1", p.Factor))
	}
	if p.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("retry max attempts %d must be >= 1", p.MaxAttempts))
	}
	if len(errs) > 0 {
		return fmt.Errorf("delivery: invalid retry policy: %w", errors.Join(errs...))
	}
	return nil
}

// Wait returns the wait after attempt n (n >= 1): Initial × Factor^(n-1), rounded to the
// second (at least one second) and capped at 30 days.
func (p RetryPolicy) Wait(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := float64(p.Initial) * math.Pow(p.Factor, float64(n-1))
	const maxWait = float64(30 * 24 * time.Hour)
	if d > maxWait || math.IsNaN(d) {
		d = maxWait
	}
	w := time.Duration(d).Round(time.Second)
	if w < time.Second {
		w = time.Second
	}
	return w
}

// Exhausted reports whether a temporary failure of attempt n ends the retries.
func (p RetryPolicy) Exhausted(n int) bool { return n >= p.MaxAttempts }

// NextAttempt returns when the attempt after attempt n is due, given that attempt n ended at
// now with a temporary failure, and whether the retries are exhausted instead (then the time
// is zero). A positive hint (a "try again in N seconds" from the remote server, see
// ParseRetryHint) replaces the schedule's wait when it is longer than one second, capped at
// MaxRetryHint; the attempt count still advances, so a hint never extends the number of tries.
func (p RetryPolicy) NextAttempt(now time.Time, n int, hint time.Duration) (time.Time, bool) {
	if p.Exhausted(n) {
		return time.Time{}, true
	}
	wait := p.Wait(n)
	if hint >= time.Second {
		wait = min(hint, MaxRetryHint).Round(time.Second)
	}
	return now.Add(wait), false
}

// Schedule returns the delay of every retry from the first attempt: element i is the time
// between attempt 1 and attempt i+2, for the MaxAttempts-1 retries.
func (p RetryPolicy) Schedule() []time.Duration {
	out := make([]time.Duration, 0, max(p.MaxAttempts-1, 0))
	var total time.Duration
	for n := 1; n < p.MaxAttempts; n++ {
		total += p.Wait(n)
		out = append(out, total)
	}
	return out
}

var hintRE = regexp.MustCompile(`(?i)(?:try|retry|come back|wait)\D{0,40}?(?:in|after|for)\s+(\d{1,6})\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b`)

// ParseRetryHint finds a "try again in N seconds/minutes/hours" style hint in the text of a
// temporary (4xx) reply, as greylisting servers give them ("451 4.7.1 Greylisted, please try
// again in 300 seconds", "421 Try again after 5 minutes"). It returns 0, false when there is
// none.
func ParseRetryHint(text string) (time.Duration, bool) {
	m := hintRE.FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return 0, false
	}
	unit := time.Second
	switch u := strings.ToLower(m[2]); {
	case strings.HasPrefix(u, "h"):
		unit = time.Hour
	case strings.HasPrefix(u, "m"):
		unit = time.Minute
	}
	return time.Duration(n) * unit, true
}
