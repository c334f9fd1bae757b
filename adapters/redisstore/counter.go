package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// incrWindow adds n to the current window's key (expiring after two windows) and returns it
// with the previous window's count.
var incrWindow = redis.NewScript(`
local cur = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local prev = redis.call('GET', KEYS[2])
return {cur, prev or 0}`)

// Incr implements access.Counter with two fixed windows weighted into a rolling estimate:
// count = current + previous × (the part of the previous window still inside the rolling one).
// Redis keeps nothing on disk here: a lost count lets mail through, never holds it.
func (s *Store) Incr(ctx context.Context, key string, n int64, window time.Duration) (int64, error) {
	now := time.Now()
	w := now.UnixMilli() / window.Milliseconds()
	cur := s.prefix + "count:" + key + ":" + strconv.FormatInt(w, 10)
	prev := s.prefix + "count:" + key + ":" + strconv.FormatInt(w-1, 10)
	res, err := incrWindow.Run(ctx, s.rdb, []string{cur, prev}, n, (2 * window).Milliseconds()).Int64Slice()
	if err != nil {
		return 0, fmt.Errorf("redisstore: incr %s: %w", key, err)
	}
	elapsed := float64(now.UnixMilli()%window.Milliseconds()) / float64(window.Milliseconds())
	return res[0] + int64(float64(res[1])*(1-elapsed)), nil
}
