package relay_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/posthaste/posthaste/adapters/bustest"
	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/adapters/rabbitmq"
	"github.com/posthaste/posthaste/adapters/redisstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/relay"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// These tests run the relay on the real stores and the real broker (MariaDB, RabbitMQ and Redis
// on loopback; a missing one fails the test).

func amqpURL() string {
	if u := os.Getenv("POSTHASTE_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

func redisURL() string {
	if u := os.Getenv("POSTHASTE_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func randomID(t testing.TB) string {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

// rabbitConfig returns an exchange and queue prefix of the test's own, deleted in t.Cleanup.
func rabbitConfig(t testing.TB, projectionNames ...string) rabbitmq.Config {
	t.Helper()
	id := randomID(t)
	cfg := rabbitmq.Config{
		URL:         amqpURL(),
		Exchange:    "posthaste-test." + id + ".events",
		QueuePrefix: "posthaste-test." + id + ".projection.",
	}
	t.Cleanup(func() {
		conn, err := amqp.Dial(cfg.URL)
		if err != nil {
			return
		}
		defer conn.Close()
		var queues []string
		for _, p := range projectionNames {
			queues = append(queues, cfg.QueuePrefix+p, cfg.QueuePrefix+p+".dead")
		}
		for _, q := range append(queues, cfg.QueuePrefix+"blocker") {
			if ch, err := conn.Channel(); err == nil {
				_, _ = ch.QueueDelete(q, false, false, false)
				ch.Close()
			}
		}
		for _, ex := range []string{cfg.Exchange, cfg.Exchange + ".dlx"} {
			if ch, err := conn.Channel(); err == nil {
				_ = ch.ExchangeDelete(ex, false, false)
				ch.Close()
			}
		}
	})
	return cfg
}

func newPublisher(t testing.TB, cfg rabbitmq.Config, projectionNames ...string) *rabbitmq.Publisher {
	t.Helper()
	pub, err := rabbitmq.NewPublisher(cfg, quiet())
	if err != nil {
		t.Fatalf("rabbitmq not reachable at %s: %v", cfg.URL, err)
	}
	t.Cleanup(func() { pub.Close() })
	if err := pub.DeclareTopology(context.Background(), projectionNames); err != nil {
		t.Fatal(err)
	}
	return pub
}

func redisLocker(t testing.TB) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(context.Background(), redisstore.Config{URL: redisURL(), KeyPrefix: "posthaste-test-" + randomID(t) + ":"}, quiet(), rand.Reader)
	if err != nil {
		t.Fatalf("redis not reachable at %s: %v", redisURL(), err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// appendAll appends the envelopes of recs, 100 per call.
func appendAll(t testing.TB, store domain.EventStore, recs []events.Record) {
	t.Helper()
	if err := appendRecs(store, recs); err != nil {
		t.Fatal(err)
	}
}

// appendRecs is appendAll for goroutines other than the test's.
func appendRecs(store domain.EventStore, recs []events.Record) error {
	envs := make([]events.Envelope, len(recs))
	for i, r := range recs {
		envs[i] = r.Envelope
	}
	for i := 0; i < len(envs); i += 100 {
		if err := store.Append(context.Background(), envs[i:min(i+100, len(envs))]...); err != nil {
			return fmt.Errorf("append: %w", err)
		}
	}
	return nil
}

// consumeIDs acks deliveries until every id in want was seen (returns how often each came).
func consumeIDs(t *testing.T, ch <-chan projections.Delivery, want []events.Record, timeout time.Duration) map[string]int {
	t.Helper()
	return consume(t, ch, want, timeout, false)
}

// consume is consumeIDs; with brokerRestarts an Ack failing on a closed channel is expected
// (the broker redelivers the record) and only counted.
func consume(t *testing.T, ch <-chan projections.Delivery, want []events.Record, timeout time.Duration, brokerRestarts bool) map[string]int {
	t.Helper()
	missing := map[string]bool{}
	for _, r := range want {
		missing[r.Envelope.ID] = true
	}
	seen := map[string]int{}
	ackErrs := 0
	defer func() {
		if ackErrs > 0 {
			t.Logf("%d acks failed on a lost channel (redelivered by the broker)", ackErrs)
		}
	}()
	deadline := time.After(timeout)
	for len(missing) > 0 {
		select {
		case d, ok := <-ch:
			if !ok {
				t.Fatalf("deliveries closed with %d missing", len(missing))
			}
			if d.Record.Position <= 0 {
				t.Fatalf("delivery without a position: %+v", d.Record)
			}
			seen[d.Record.Envelope.ID]++
			delete(missing, d.Record.Envelope.ID)
			if err := d.Ack(); err != nil {
				if !brokerRestarts {
					t.Fatal(err)
				}
				ackErrs++
			}
		case <-deadline:
			t.Fatalf("%d of %d records never delivered", len(missing), len(want))
		}
	}
	return seen
}

func runRelay(t *testing.T, r *relay.Relay) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func waitOutboxEmpty(t *testing.T, o domain.Outbox) {
	t.Helper()
	waitFor(t, "outbox empty", func() bool {
		recs, err := o.Pending(context.Background(), 10)
		return err == nil && len(recs) == 0
	})
}

func TestMariaDBOutboxToRabbitMQTwoProjections(t *testing.T) {
	store := sqlstoretest.MariaDB(t)
	cfg := rabbitConfig(t, "p1", "p2")
	pub := newPublisher(t, cfg, "p1", "p2")
	sub, err := rabbitmq.NewSubscriber(cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	recs := bustest.Records(0, 1500)
	appendAll(t, store, recs[:700])

	r, err := relay.New(fast(), store, pub, redisLocker(t), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	runRelay(t, r)
	appendAll(t, store, recs[700:]) // while the relay runs

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, p := range []string{"p1", "p2"} {
		ch, _, err := sub.Subscribe(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		consumeIDs(t, ch, recs, 30*time.Second)
	}
	waitOutboxEmpty(t, store)
	if got := r.Stats().LastPosition; got != 1500 {
		t.Fatalf("last position %d, want 1500", got)
	}
}

// TestOutboxRowsStayUntilConfirmed makes the broker nack every publish (a bound queue that
// rejects publishes when full, with room for nothing): the relay must keep every outbox row, and
// deliver all of them once the broker accepts again.
func TestOutboxRowsStayUntilConfirmed(t *testing.T) {
	store := sqlstoretest.MariaDB(t)
	cfg := rabbitConfig(t, "p1")
	pub := newPublisher(t, cfg, "p1")

	conn, err := amqp.Dial(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	blocker := cfg.QueuePrefix + "blocker"
	if _, err := ch.QueueDeclare(blocker, true, false, false, false, amqp.Table{"x-max-length": int32(0), "x-overflow": "reject-publish"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(blocker, "", cfg.Exchange, false, nil); err != nil {
		t.Fatal(err)
	}

	recs := bustest.Records(0, 50)
	appendAll(t, store, recs)
	r, err := relay.New(fast(), store, pub, memory.NewLocker(), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	runRelay(t, r)
	waitFor(t, "nacked publishes", func() bool { return r.Stats().Failures >= 3 })
	if n := r.Stats().Published; n != 0 {
		t.Fatalf("relay counted %d records as published while the broker nacked", n)
	}
	pending, err := store.Pending(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 50 {
		t.Fatalf("%d outbox rows left while the broker nacked every publish, want 50", len(pending))
	}

	if _, err := ch.QueueDelete(blocker, false, false, false); err != nil {
		t.Fatal(err)
	}
	waitOutboxEmpty(t, store)
	sub, err := rabbitmq.NewSubscriber(cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deliveries, _, err := sub.Subscribe(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	consumeIDs(t, deliveries, recs, 20*time.Second)
}

// TestTwoRelaysRacing runs two relays that both believe they lead (each with its own in-process
// locker, as when a lease expired under a paused leader) on one outbox while events keep
// coming: every record arrives at least once and the outbox drains.
func TestTwoRelaysRacing(t *testing.T) {
	store := sqlstoretest.MariaDB(t)
	cfg := rabbitConfig(t, "p1")
	pubA := newPublisher(t, cfg, "p1")
	pubB := newPublisher(t, cfg, "p1")
	sub, err := rabbitmq.NewSubscriber(cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deliveries, _, err := sub.Subscribe(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	small := fast()
	small.BatchSize = 37
	a, err := relay.New(small, store, pubA, memory.NewLocker(), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := relay.New(small, store, pubB, memory.NewLocker(), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	runRelay(t, a)
	runRelay(t, b)
	recs := bustest.Records(0, 1000)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := appendRecs(store, recs[w*250:(w+1)*250]); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	seen := consumeIDs(t, deliveries, recs, 30*time.Second)
	waitOutboxEmpty(t, store)
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("both relays published: a=%d b=%d; duplicates seen so far: %d", a.Stats().Published, b.Stats().Published, dups)
	if a.Stats().Published == 0 || b.Stats().Published == 0 {
		t.Log("one relay published nothing: the overlap was not exercised this run")
	}
}

// TestRedisLockOneLeader: with the Redis locker only one of two relays leads at a time, and
// the follower takes over when the leader stops.
func TestRedisLockOneLeader(t *testing.T) {
	store := sqlstoretest.MariaDB(t)
	cfg := rabbitConfig(t, "p1")
	pub := newPublisher(t, cfg, "p1")
	locks := redisLocker(t)
	a, err := relay.New(fast(), store, pub, locks, quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := relay.New(fast(), store, pub, locks, quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	stopA := runRelay(t, a)
	waitFor(t, "a leads", func() bool { return a.Stats().Leader })
	runRelay(t, b)
	time.Sleep(200 * time.Millisecond)
	if b.Stats().Leader {
		t.Fatal("two relays lead with one Redis lock")
	}
	stopA() // releases the lock
	waitFor(t, "b takes over", func() bool { return b.Stats().Leader })
	recs := bustest.Records(0, 20)
	appendAll(t, store, recs)
	waitOutboxEmpty(t, store)
	// The counter moves just after the Ack that empties the outbox: wait for it, not a snapshot.
	waitFor(t, "b publishes all 20", func() bool { return b.Stats().Published >= 20 })
	if b.Stats().Published != 20 {
		t.Fatalf("b published %d, want 20", b.Stats().Published)
	}
}

// TestEmbeddedDefaultSQLiteToMemoryBus is the embedded default: SQLite outbox, in-process bus
// and locker, woken by notify.
func TestEmbeddedDefaultSQLiteToMemoryBus(t *testing.T) {
	store := sqlstoretest.SQLite(t)
	bus, err := memory.NewBus(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.DeclareTopology(context.Background(), []string{"p1", "p2"}); err != nil {
		t.Fatal(err)
	}
	notify := make(chan struct{}, 1)
	cfg := fast()
	cfg.Notify = notify
	cfg.IdlePoll = time.Hour
	r, err := relay.New(cfg, store, bus, memory.NewLocker(), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	runRelay(t, r)
	waitFor(t, "leader", func() bool { return r.Stats().Leader })
	recs := bustest.Records(0, 300)
	appendAll(t, store, recs)
	notify <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, p := range []string{"p1", "p2"} {
		ch, _, err := bus.Subscribe(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		consumeIDs(t, ch, recs, 20*time.Second)
	}
	waitOutboxEmpty(t, store)
}
