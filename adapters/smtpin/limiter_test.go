package smtpin_test

import (
	"context"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/smtpin"
)

func TestMemoryLimiterSlidingWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := smtpin.NewMemoryLimiter(3, time.Minute, func() time.Time { return now })
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if b, _, _ := l.Blocked(ctx, "ip"); b {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail(ctx, "ip")
		now = now.Add(10 * time.Second)
	}
	b, retry, err := l.Blocked(ctx, "ip")
	if err != nil || !b || retry != 30*time.Second {
		t.Fatalf("after 3 failures: blocked %v retry %v err %v", b, retry, err)
	}
	if b, _, _ := l.Blocked(ctx, "other"); b {
		t.Fatal("another key is blocked")
	}
	now = now.Add(31 * time.Second) // the first failure left the window
	if b, _, _ := l.Blocked(ctx, "ip"); b {
		t.Fatal("still blocked after the window slid")
	}
}
