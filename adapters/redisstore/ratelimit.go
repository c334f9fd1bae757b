package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// FailureLimiter is submission.RateLimiter in Redis: at most Max failures per key within Window,
// shared by every node (the window restarts at each failure). Redis
// keeps nothing on disk here: a lost count lets an attempt through, never blocks for good.
type FailureLimiter struct {
	s      *Store
	max    int64
	window time.Duration
}

// FailureLimiter returns a limiter on the store's connection and prefix.
func (s *Store) FailureLimiter(max int, window time.Duration) *FailureLimiter {
	if max <= 0 {
		max = 5
	}
	if window <= 0 {
		window = 10 * time.Minute
	}
	return &FailureLimiter{s: s, max: int64(max), window: window}
}

func (l *FailureLimiter) key(k string) string { return l.s.prefix + "authfail:" + k }

// Blocked reports whether key has reached Max failures in its window, and for how long.
func (l *FailureLimiter) Blocked(ctx context.Context, key string) (bool, time.Duration, error) {
	k := l.key(key)
	n, err := l.s.rdb.Get(ctx, k).Int64()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return false, 0, nil
		}
		return false, 0, fmt.Errorf("redisstore: rate limit %s: %w", key, err)
	}
	if n < l.max {
		return false, 0, nil
	}
	ttl, err := l.s.rdb.PTTL(ctx, k).Result()
	if err != nil {
		return true, l.window, nil
	}
	return true, ttl, nil
}

// Fail counts one failure of key.
func (l *FailureLimiter) Fail(ctx context.Context, key string) error {
	k := l.key(key)
	pipe := l.s.rdb.TxPipeline()
	pipe.Incr(ctx, k)
	pipe.PExpire(ctx, k, l.window) // each failure extends the block: a client that keeps failing stays blocked
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redisstore: rate limit %s: %w", key, err)
	}
	return nil
}
