package redisstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/posthaste/posthaste/domain"
)

var _ domain.Locker = (*Store)(nil)

// renewScript extends the lock only while it still holds our token.
var renewScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes the lock only while it still holds our token (compare-and-delete).
var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`)

// TryLock takes the lock <prefix>lock:<name> with SET NX PX and a random token. The lease is
// renewed every ttl/3 while it still holds our token; Lost is closed when a renewal finds the
// key gone or taken, when renewals keep failing until the lease may have expired, when ctx ends
// (renewal stops, the key expires by itself) and on Release.
func (s *Store) TryLock(ctx context.Context, name string, ttl time.Duration) (domain.Lease, bool, error) {
	if name == "" {
		return nil, false, errors.New("redisstore: lock: empty name")
	}
	if ttl < 3*time.Millisecond {
		return nil, false, fmt.Errorf("redisstore: lock %s: ttl %v too short", name, ttl)
	}
	var raw [16]byte
	if _, err := io.ReadFull(s.random, raw[:]); err != nil {
		return nil, false, fmt.Errorf("redisstore: lock %s: token: %w", name, err)
	}
	token := hex.EncodeToString(raw[:])
	key := s.prefix + "lock:" + name
	ok, err := s.rdb.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: lock %s: %w", name, err)
	}
	if !ok {
		return nil, false, nil
	}
	l := &lease{s: s, key: key, name: name, token: token, ttl: ttl, lost: make(chan struct{}), done: make(chan struct{})}
	go l.renew(ctx)
	return l, true, nil
}

type lease struct {
	s     *Store
	key   string
	name  string
	token string
	ttl   time.Duration

	lostOnce sync.Once
	lost     chan struct{}
	doneOnce sync.Once
	done     chan struct{} // closed by Release: stop renewing
}

func (l *lease) Lost() <-chan struct{} { return l.lost }

func (l *lease) markLost() { l.lostOnce.Do(func() { close(l.lost) }) }

// renew extends the lease every ttl/3 until Release, ctx end or loss.
func (l *lease) renew(ctx context.Context) {
	defer l.markLost()
	defer func() {
		if r := recover(); r != nil {
			l.s.log.Error("redisstore: lock renewal panic", slog.String("lock", l.name), slog.Any("panic", r))
		}
	}()
	every := l.ttl / 3
	t := time.NewTicker(every)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.done:
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, every)
		n, err := renewScript.Run(rctx, l.s.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
		cancel()
		switch {
		case err == nil && n == 1:
			lastOK = time.Now()
		case err == nil:
			l.s.log.Warn("redisstore: lock taken over or expired", slog.String("lock", l.name))
			return
		default:
			// A failed call may be a blip; give up only once the lease may have expired,
			// keeping one renewal period of margin.
			if time.Since(lastOK) >= l.ttl-every {
				l.s.log.Warn("redisstore: lock renewal failed", slog.String("lock", l.name), slog.Any("error", err))
				return
			}
		}
	}
}

// Release stops renewal and deletes the lock if it still holds our token.
func (l *lease) Release(ctx context.Context) error {
	l.doneOnce.Do(func() { close(l.done) })
	l.markLost()
	if err := releaseScript.Run(ctx, l.s.rdb, []string{l.key}, l.token).Err(); err != nil {
		return fmt.Errorf("redisstore: release %s: %w", l.name, err)
	}
	return nil
}
