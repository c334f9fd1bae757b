package smtpin

import (
	"context"
	"sync"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
)

// MemoryLimiter is the in-process submission.RateLimiter: at most max failures per key within
// a sliding window; a key that reached max stays blocked until its oldest counted failure
// leaves the window. Counts are lost on restart (allowed by the port's contract).
type MemoryLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	clock  func() time.Time
	fails  map[string][]time.Time
}

var _ submission.RateLimiter = (*MemoryLimiter)(nil)

// NewMemoryLimiter allows max failures per window (defaults 5 per 10 minutes for zero values).
func NewMemoryLimiter(max int, window time.Duration, clock func() time.Time) *MemoryLimiter {
	if max <= 0 {
		max = 5
	}
	if window <= 0 {
		window = 10 * time.Minute
	}
	if clock == nil {
		clock = time.Now
	}
	return &MemoryLimiter{max: max, window: window, clock: clock, fails: map[string][]time.Time{}}
}

func (l *MemoryLimiter) Blocked(_ context.Context, key string) (bool, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	ts := l.prune(key, now)
	if len(ts) < l.max {
		return false, 0, nil
	}
	return true, ts[len(ts)-l.max].Add(l.window).Sub(now), nil
}

func (l *MemoryLimiter) Fail(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	ts := append(l.prune(key, now), now)
	if len(ts) > l.max {
		ts = ts[len(ts)-l.max:]
	}
	l.fails[key] = ts
	if len(l.fails) > 100000 { // bound memory under a spray of addresses
		for k := range l.fails {
			if len(l.prune(k, now)) == 0 {
				delete(l.fails, k)
			}
		}
	}
	return nil
}

func (l *MemoryLimiter) prune(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-l.window)) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = ts
	return ts
}
