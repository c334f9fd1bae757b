package redisstore_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/redisstore"
	"github.com/posthaste/posthaste/events"
)

func TestFailureLimiterSharedAcrossNodes(t *testing.T) {
	url := os.Getenv("POSTHASTE_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	prefix := "posthaste-test:" + events.NewID(time.Now(), nil) + ":"
	ctx := context.Background()
	open := func() *redisstore.Store {
		s, err := redisstore.Open(ctx, redisstore.Config{URL: url, KeyPrefix: prefix}, slog.New(slog.NewTextHandler(io.Discard, nil)), rand.Reader)
		if err != nil {
			t.Fatalf("redis not reachable: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a := open().FailureLimiter(3, 2*time.Second)
	b := open().FailureLimiter(3, 2*time.Second) // a second node
	for i := 0; i < 2; i++ {
		if err := a.Fail(ctx, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	if blocked, _, err := b.Blocked(ctx, "192.0.2.1"); err != nil || blocked {
		t.Fatalf("blocked after 2 of 3 failures: %v %v", blocked, err)
	}
	b.Fail(ctx, "192.0.2.1")
	blocked, retry, err := a.Blocked(ctx, "192.0.2.1")
	if err != nil || !blocked || retry <= 0 || retry > 2*time.Second {
		t.Fatalf("after 3 failures on two nodes: blocked=%v retry=%v err=%v", blocked, retry, err)
	}
	if blocked, _, _ := a.Blocked(ctx, "192.0.2.2"); blocked {
		t.Fatal("another client is blocked too")
	}
	time.Sleep(2100 * time.Millisecond)
	if blocked, _, _ := a.Blocked(ctx, "192.0.2.1"); blocked {
		t.Fatal("still blocked after the window")
	}
}
