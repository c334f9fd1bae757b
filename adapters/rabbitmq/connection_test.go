// The race detector flags watermill-amqp's ConnectionWrapper while it redials (it swaps its
// connection and "connected" fields without a lock, and Connection / IsConnected read them):
// this test, which makes it redial, runs without -race.

//go:build !race

package rabbitmq

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/posthaste/posthaste/adapters/bustest"
)

// TestLostConnectionsAreRedialledByTheOneManager closes the publisher's and a subscription's
// connections under them: the connection manager redials both, the subscription consumes again
// and says so, and what is published next arrives.
func TestLostConnectionsAreRedialledByTheOneManager(t *testing.T) {
	url := os.Getenv("POSTHASTE_TEST_AMQP_URL")
	if url == "" {
		url = "amqp://guest:guest@127.0.0.1:5672/"
	}
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%x", b)
	cfg := Config{URL: url, Exchange: "posthaste-test." + id + ".events", QueuePrefix: "posthaste-test." + id + ".projection."}
	t.Cleanup(func() {
		conn, err := amqp.Dial(url)
		if err != nil {
			return
		}
		defer conn.Close()
		if ch, err := conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(cfg.QueuePrefix+"alpha", false, false, false)
			_, _ = ch.QueueDelete(cfg.QueuePrefix+"alpha.dead", false, false, false)
			_ = ch.ExchangeDelete(cfg.Exchange, false, false)
			_ = ch.ExchangeDelete(cfg.Exchange+".dlx", false, false)
			ch.Close()
		}
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub, err := NewPublisher(cfg, quiet)
	if err != nil {
		t.Fatalf("rabbitmq at %s: %v", url, err)
	}
	defer pub.Close()
	if err := pub.DeclareTopology(ctx, []string{"alpha"}); err != nil {
		t.Fatal(err)
	}
	sub, err := NewSubscriber(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	deliveries, reconnected, err := sub.Subscribe(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}

	sub.mu.Lock()
	for s := range sub.subs {
		_ = s.conn.Connection().Close()
	}
	sub.mu.Unlock()
	_ = pub.conn.Connection().Close()

	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("no reconnected signal after the subscription's connection was closed")
	}
	if err := sub.Ping(ctx); err != nil {
		t.Errorf("subscriber ping after the reconnect: %v", err)
	}
	recs := bustest.Records(0, 10)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := pub.Publish(ctx, recs)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish after the connection was closed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := pub.Ping(ctx); err != nil {
		t.Errorf("publisher ping after the reconnect: %v", err)
	}
	bustest.Collect(t, deliveries, 10, 10*time.Second)
}
