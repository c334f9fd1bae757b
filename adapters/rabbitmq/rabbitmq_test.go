package rabbitmq_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/posthaste/posthaste/adapters/bustest"
	"github.com/posthaste/posthaste/adapters/rabbitmq"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

func amqpURL() string {
	if u := os.Getenv("POSTHASTE_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testConfig returns a config with an exchange and queue prefix of its own; every queue and
// exchange under them is deleted in t.Cleanup.
func testConfig(t testing.TB) rabbitmq.Config {
	t.Helper()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%x", b)
	cfg := rabbitmq.Config{
		URL:         amqpURL(),
		Exchange:    "posthaste-test." + id + ".events",
		QueuePrefix: "posthaste-test." + id + ".projection.",
	}
	conn, err := amqp.Dial(cfg.URL)
	if err != nil {
		t.Fatalf("rabbitmq not reachable at %s: %v", cfg.URL, err)
	}
	conn.Close()
	t.Cleanup(func() { cleanup(cfg) })
	return cfg
}

// cleanup deletes the test's exchanges and the queues of every projection name the suite uses.
func cleanup(cfg rabbitmq.Config) {
	conn, err := amqp.Dial(cfg.URL)
	if err != nil {
		return
	}
	defer conn.Close()
	for _, name := range []string{"alpha", "beta", "gamma", "delta", "eps", "zeta", "p1", "p2", "bench"} {
		for _, q := range []string{cfg.QueuePrefix + name, cfg.QueuePrefix + name + ".dead"} {
			if ch, err := conn.Channel(); err == nil {
				_, _ = ch.QueueDelete(q, false, false, false)
				ch.Close()
			}
		}
	}
	for _, ex := range []string{cfg.Exchange, cfg.Exchange + ".dlx"} {
		if ch, err := conn.Channel(); err == nil {
			_ = ch.ExchangeDelete(ex, false, false)
			ch.Close()
		}
	}
}

// bus joins a publisher and a subscriber of one config into the suite's Bus.
type bus struct {
	*rabbitmq.Publisher
	sub *rabbitmq.Subscriber
}

func (b bus) Subscribe(ctx context.Context, p string) (<-chan projections.Delivery, <-chan struct{}, error) {
	return b.sub.Subscribe(ctx, p)
}

func newBus(t *testing.T, cfg rabbitmq.Config) bus {
	t.Helper()
	pub, err := rabbitmq.NewPublisher(cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	sub, err := rabbitmq.NewSubscriber(cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	return bus{Publisher: pub, sub: sub}
}

func TestBusAcceptance(t *testing.T) {
	bustest.RunBus(t, func(t *testing.T) bustest.Bus { return newBus(t, testConfig(t)) })
}

func TestBusAcceptanceClassicQueues(t *testing.T) {
	bustest.RunBus(t, func(t *testing.T) bustest.Bus {
		cfg := testConfig(t)
		cfg.QueueType = rabbitmq.QueueClassic
		return newBus(t, cfg)
	})
}

func TestBusAcceptanceWatermillChannelPool(t *testing.T) {
	bustest.RunBus(t, func(t *testing.T) bustest.Bus {
		cfg := testConfig(t)
		cfg.Confirms = rabbitmq.ConfirmsPool
		cfg.PublishChannels = 8
		return newBus(t, cfg)
	})
}

func TestPublishBeforeTopologyDeclaresNothing(t *testing.T) {
	cfg := testConfig(t)
	b := newBus(t, cfg)
	err := b.Publish(context.Background(), bustest.Records(0, 1))
	if !errors.Is(err, rabbitmq.ErrTopologyNotDeclared) {
		t.Fatalf("err = %v, want ErrTopologyNotDeclared", err)
	}
	// Nothing was declared behind our back either.
	conn, err := amqp.Dial(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclarePassive(cfg.Exchange, "fanout", true, false, false, false, nil); err == nil {
		t.Fatal("exchange exists although the topology was never declared")
	}
}

// TestMessageShape checks what other consumers of the broker see: persistent delivery, the
// event id as message id, the position header and the stored bytes as body.
func TestMessageShape(t *testing.T) {
	cfg := testConfig(t)
	b := newBus(t, cfg)
	ctx := context.Background()
	if err := b.DeclareTopology(ctx, []string{"alpha"}); err != nil {
		t.Fatal(err)
	}
	rec := bustest.Records(41, 1)[0]
	if err := b.Publish(ctx, []events.Record{rec}); err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	d, ok, err := ch.Get(cfg.QueuePrefix+"alpha", true)
	if err != nil || !ok {
		t.Fatalf("get: ok=%v err=%v", ok, err)
	}
	if d.DeliveryMode != amqp.Persistent {
		t.Errorf("delivery mode %d, want persistent", d.DeliveryMode)
	}
	if d.MessageId != rec.Envelope.ID {
		t.Errorf("message id %q, want %q", d.MessageId, rec.Envelope.ID)
	}
	if d.Headers[rabbitmq.HeaderPosition] != int64(42) {
		t.Errorf("position header %#v, want int64 42", d.Headers[rabbitmq.HeaderPosition])
	}
	want, _ := events.Marshal(rec.Envelope)
	if string(d.Body) != string(want) {
		t.Errorf("body %s, want %s", d.Body, want)
	}
}

// TestUndecodableMessageIsDeadLettered: a message a foreign publisher put on the exchange
// that is not an envelope goes to the DLQ instead of blocking the projection.
func TestUndecodableMessageIsDeadLettered(t *testing.T) {
	cfg := testConfig(t)
	b := newBus(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := b.DeclareTopology(ctx, []string{"alpha"}); err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.PublishWithContext(ctx, cfg.Exchange, "", false, false, amqp.Publishing{Body: []byte("not json")}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, bustest.Records(0, 1)); err != nil {
		t.Fatal(err)
	}
	deliveries, _, err := b.Subscribe(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	seen := bustest.Collect(t, deliveries, 1, 10*time.Second)
	if seen[1] != 1 {
		t.Fatalf("seen %v", seen)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		counts, err := b.DeadLetterCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts["alpha"] == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts %v, want alpha:1", counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSubscriberReconnectsAfterQueueDeleted: the broker wiped the queue (as after a wipe); the
// subscriber re-declares it, signals reconnected and receives what is published next.
func TestSubscriberReconnectsAfterQueueDeleted(t *testing.T) {
	cfg := testConfig(t)
	b := newBus(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := b.DeclareTopology(ctx, []string{"alpha"}); err != nil {
		t.Fatal(err)
	}
	deliveries, reconnected, err := b.Subscribe(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDelete(cfg.QueuePrefix+"alpha", false, false, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("no reconnected signal after the queue was deleted")
	}
	if err := b.Publish(ctx, bustest.Records(0, 10)); err != nil {
		t.Fatal(err)
	}
	bustest.Collect(t, deliveries, 10, 10*time.Second)
}

func TestConstructorsRefuseBadWiring(t *testing.T) {
	if _, err := rabbitmq.NewPublisher(rabbitmq.Config{URL: amqpURL()}, nil); err == nil {
		t.Error("publisher: nil logger accepted")
	}
	if _, err := rabbitmq.NewPublisher(rabbitmq.Config{URL: "http://x"}, quiet()); err == nil {
		t.Error("publisher: bad url accepted")
	}
	if _, err := rabbitmq.NewSubscriber(rabbitmq.Config{}, quiet()); err == nil {
		t.Error("subscriber: empty url accepted")
	}
	if _, err := rabbitmq.NewPublisher(rabbitmq.Config{URL: "amqp://guest:guest@127.0.0.1:1/"}, quiet()); err == nil {
		t.Error("publisher: unreachable broker accepted")
	}
}
