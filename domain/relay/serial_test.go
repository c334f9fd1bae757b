package relay_test

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/bustest"
	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/adapters/rabbitmq"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain/relay"
)

// TestSerialBrokerRestartMidStream restarts RabbitMQ (rabbitmqctl stop_app / start_app) while
// events are being appended and relayed. The relay must resume, the subscriber reconnect (and
// say so), and every record arrive. It disturbs every other user of the broker, so it runs only
// in the serial stage: POSTHASTE_SERIAL_TESTS=1. POSTHASTE_SERIAL_RABBIT_RESTART=close uses
// `rabbitmqctl close_all_connections` instead of a restart.
func TestSerialBrokerRestartMidStream(t *testing.T) {
	if os.Getenv("POSTHASTE_SERIAL_TESTS") != "1" {
		t.Skip("restarts RabbitMQ: runs only with POSTHASTE_SERIAL_TESTS=1 (serial stage)")
	}
	store := sqlstoretest.MariaDB(t)
	cfg := rabbitConfig(t, "p1")
	pub := newPublisher(t, cfg, "p1")
	sub, err := rabbitmq.NewSubscriber(cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deliveries, reconnected, err := sub.Subscribe(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	rcfg := fast()
	rcfg.ErrorBackoff = 200 * time.Millisecond
	r, err := relay.New(rcfg, store, pub, memory.NewLocker(), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	runRelay(t, r)

	// Append 20 records every 20 ms until a second after the broker is back.
	const maxTotal = 100000
	recs := bustest.Records(0, maxTotal)
	stop := make(chan struct{})
	var appended atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i+20 <= maxTotal; i += 20 {
			select {
			case <-stop:
				return
			default:
			}
			if err := appendRecs(store, recs[i:i+20]); err != nil { // the store does not need the broker
				t.Error(err)
				return
			}
			appended.Store(int64(i + 20))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var reconnects atomic.Int64
	go func() {
		for range reconnected {
			reconnects.Add(1)
		}
	}()
	waitFor(t, "stream under way", func() bool { return r.Stats().Published >= 500 })
	restart(t)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	total := int(appended.Load())
	recs = recs[:total]

	seen := consume(t, deliveries, recs, 120*time.Second, true)
	waitOutboxEmpty(t, store)
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("all %d records delivered; duplicates %d; relay failures %d", total, dups, r.Stats().Failures)
	if reconnects.Load() == 0 {
		t.Fatal("subscriber never signalled reconnected")
	}
	if r.Stats().Failures == 0 {
		t.Fatal("the relay never saw the outage: the restart did not happen mid-stream")
	}
}

func restart(t *testing.T) {
	t.Helper()
	run := func(args ...string) {
		out, err := exec.Command("rabbitmqctl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("rabbitmqctl %v: %v\n%s", args, err, out)
		}
	}
	if os.Getenv("POSTHASTE_SERIAL_RABBIT_RESTART") == "close" {
		run("close_all_connections", "posthaste serial test")
		return
	}
	run("stop_app")
	time.Sleep(time.Second)
	run("start_app")
	t.Log("rabbitmq restarted")
}
