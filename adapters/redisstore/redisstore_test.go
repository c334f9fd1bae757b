package redisstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/posthaste/posthaste/adapters/bustest"
	"github.com/posthaste/posthaste/adapters/redisstore"
	"github.com/posthaste/posthaste/domain"
)

func redisURL() string {
	if u := os.Getenv("POSTHASTE_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// open returns a store under a random key prefix and a raw client on the same server; the
// prefix's keys are deleted in t.Cleanup.
func open(t *testing.T) (*redisstore.Store, *redis.Client, string) {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("posthaste-test-%x:", b)
	ctx := context.Background()
	s, err := redisstore.Open(ctx, redisstore.Config{URL: redisURL(), KeyPrefix: prefix}, slog.New(slog.NewTextHandler(io.Discard, nil)), rand.Reader)
	if err != nil {
		t.Fatalf("redis not reachable at %s: %v", redisURL(), err)
	}
	opts, err := redis.ParseURL(redisURL())
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(opts)
	t.Cleanup(func() {
		keys, _ := raw.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			raw.Del(ctx, keys...)
		}
		raw.Close()
		s.Close()
	})
	return s, raw, prefix
}

func TestLockerAcceptance(t *testing.T) {
	bustest.RunLocker(t, func(t *testing.T) domain.Locker {
		s, _, _ := open(t)
		return s
	})
}

func TestTwoStoresShareOneLock(t *testing.T) {
	a, _, prefix := open(t)
	b, err := redisstore.Open(context.Background(), redisstore.Config{URL: redisURL(), KeyPrefix: prefix}, slog.New(slog.NewTextHandler(io.Discard, nil)), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	la, ok, err := a.TryLock(ctx, "relay", time.Second)
	if err != nil || !ok {
		t.Fatalf("a: ok=%v err=%v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "relay", time.Second); err != nil || ok {
		t.Fatalf("b while a holds: ok=%v err=%v", ok, err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	lb, ok, err := b.TryLock(ctx, "relay", time.Second)
	if err != nil || !ok {
		t.Fatalf("b after release: ok=%v err=%v", ok, err)
	}
	lb.Release(ctx)
}

func TestLostWhenTakenOver(t *testing.T) {
	s, raw, prefix := open(t)
	ctx := context.Background()
	l, ok, err := s.TryLock(ctx, "relay", 300*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("lock: ok=%v err=%v", ok, err)
	}
	defer l.Release(ctx)
	// Another holder's token replaces ours (as after an expiry during a pause).
	if err := raw.Set(ctx, prefix+"lock:relay", "someone-else", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
	case <-time.After(2 * time.Second):
		t.Fatal("Lost not closed after the key was taken over")
	}
	// Our Release must not delete the other holder's lock.
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := raw.Get(ctx, prefix+"lock:relay").Result(); err != nil || v != "someone-else" {
		t.Fatalf("other holder's lock after our release: %q, %v", v, err)
	}
}

func TestLockExpiresWithoutRenewal(t *testing.T) {
	s, raw, prefix := open(t)
	hctx, cancel := context.WithCancel(context.Background())
	_, ok, err := s.TryLock(hctx, "relay", 200*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("lock: ok=%v err=%v", ok, err)
	}
	cancel()
	ttl, err := raw.PTTL(context.Background(), prefix+"lock:relay").Result()
	if err != nil || ttl <= 0 || ttl > 200*time.Millisecond {
		t.Fatalf("key ttl %v, %v; want (0, 200ms]", ttl, err)
	}
	time.Sleep(350 * time.Millisecond)
	if n, _ := raw.Exists(context.Background(), prefix+"lock:relay").Result(); n != 0 {
		t.Fatal("lock key still exists after its ttl without renewal")
	}
}

func TestOpenRefusesBadWiring(t *testing.T) {
	ctx := context.Background()
	if _, err := redisstore.Open(ctx, redisstore.Config{URL: redisURL()}, nil, rand.Reader); err == nil {
		t.Fatal("nil logger accepted")
	}
	if _, err := redisstore.Open(ctx, redisstore.Config{}, slog.Default(), rand.Reader); err == nil {
		t.Fatal("empty url accepted")
	}
	if _, err := redisstore.Open(ctx, redisstore.Config{URL: "redis://127.0.0.1:1/0"}, slog.Default(), rand.Reader); err == nil {
		t.Fatal("unreachable redis accepted")
	}
}

func TestPing(t *testing.T) {
	s, _, _ := open(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}
