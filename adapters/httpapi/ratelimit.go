package httpapi

import (
	"math"
	"strconv"
	"time"
)

// Per-key rate limits: one token bucket per API key (and one for the admin token), in process.

// bucket is one key's token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

// allow takes one token of key's bucket; it returns the wait before the next token when empty.
func (a *API) allow(key string) (bool, time.Duration) {
	if a.cfg.RatePerSecond < 0 {
		return true, 0
	}
	now := a.cfg.Clock()
	a.limitMu.Lock()
	defer a.limitMu.Unlock()
	b := a.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(a.cfg.Burst), last: now}
		a.buckets[key] = b
	}
	b.tokens = math.Min(float64(a.cfg.Burst), b.tokens+now.Sub(b.last).Seconds()*a.cfg.RatePerSecond)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / a.cfg.RatePerSecond * float64(time.Second))
	return false, wait
}

// retryAfter renders a wait as whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}
