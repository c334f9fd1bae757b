package memory

import (
	"context"
	"sync"
	"time"
)

// Counter is the in-process access.Counter: two fixed windows per key weighted into a rolling
// estimate, like the Redis one. Counts are lost with the process.
type Counter struct {
	mu    sync.Mutex
	now   func() time.Time
	slots map[string]*windowCount
}

type windowCount struct {
	window    int64
	cur, prev int64
}

// NewCounter returns an empty counter; clock nil means time.Now.
func NewCounter(clock func() time.Time) *Counter {
	if clock == nil {
		clock = time.Now
	}
	return &Counter{now: clock, slots: map[string]*windowCount{}}
}

// Incr adds n to key and returns its rolling count over window.
func (c *Counter) Incr(_ context.Context, key string, n int64, window time.Duration) (int64, error) {
	now := c.now()
	ms := window.Milliseconds()
	w := now.UnixMilli() / ms
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slots[key]
	switch {
	case s == nil:
		s = &windowCount{window: w}
		c.slots[key] = s
	case s.window == w-1:
		s.window, s.prev, s.cur = w, s.cur, 0
	case s.window < w-1:
		s.window, s.prev, s.cur = w, 0, 0
	}
	s.cur += n
	elapsed := float64(now.UnixMilli()%ms) / float64(ms)
	return s.cur + int64(float64(s.prev)*(1-elapsed)), nil
}
