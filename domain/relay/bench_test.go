package relay_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/bustest"
	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/adapters/rabbitmq"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/relay"
	"github.com/posthaste/posthaste/events"
)

// timedPublisher measures the time spent in Publish (broker side of the relay).
type timedPublisher struct {
	domain.Publisher
	nanos atomic.Int64
}

func (p *timedPublisher) Publish(ctx context.Context, recs []events.Record) error {
	start := time.Now()
	err := p.Publisher.Publish(ctx, recs)
	p.nanos.Add(int64(time.Since(start)))
	return err
}

// PublishAsync forwards the publisher's pipelined sends; the time counted is sending plus
// waiting for the confirms (the two overlap other batches, so their sum is what publishing
// alone would take).
func (p *timedPublisher) PublishAsync(ctx context.Context, recs []events.Record) (func() error, error) {
	start := time.Now()
	confirm, err := p.Publisher.(interface {
		PublishAsync(context.Context, []events.Record) (func() error, error)
	}).PublishAsync(ctx, recs)
	p.nanos.Add(int64(time.Since(start)))
	if err != nil {
		return nil, err
	}
	return func() error {
		start := time.Now()
		err := confirm()
		p.nanos.Add(int64(time.Since(start)))
		return err
	}, nil
}

// timedOutbox measures the time spent in Pending and in Ack (database side of the relay).
type timedOutbox struct {
	domain.Outbox
	pending, ack atomic.Int64
}

func (o *timedOutbox) Pending(ctx context.Context, limit int) ([]events.Record, error) {
	start := time.Now()
	recs, err := o.Outbox.Pending(ctx, limit)
	o.pending.Add(int64(time.Since(start)))
	return recs, err
}

// PendingAfter forwards the relay's read-ahead (the store has it) and times it as Pending.
func (o *timedOutbox) PendingAfter(ctx context.Context, after int64, limit int) ([]events.Record, error) {
	start := time.Now()
	recs, err := o.Outbox.(interface {
		PendingAfter(context.Context, int64, int) ([]events.Record, error)
	}).PendingAfter(ctx, after, limit)
	o.pending.Add(int64(time.Since(start)))
	return recs, err
}

func (o *timedOutbox) Ack(ctx context.Context, positions []int64) error {
	start := time.Now()
	err := o.Outbox.Ack(ctx, positions)
	o.ack.Add(int64(time.Since(start)))
	return err
}

// BenchmarkRelayMariaDBToRabbitMQ measures the relay draining a MariaDB outbox of b.N events
// into RabbitMQ on the shipped durable defaults: persistent messages, publisher confirms,
// durable quorum queues (classic in one variant), InnoDB flush at commit. Appending the events
// is not timed. The wrappers forward the optional PendingAfter / PublishAsync, so the relay
// pipelines as in production.
// Run with a fixed count, e.g. -benchtime=20000x.
func BenchmarkRelayMariaDBToRabbitMQ(b *testing.B) {
	for _, c := range []struct {
		confirms, queueType string
		queues              int
	}{
		{rabbitmq.ConfirmsDeferred, rabbitmq.QueueQuorum, 1},
		{rabbitmq.ConfirmsDeferred, rabbitmq.QueueClassic, 1},
		{rabbitmq.ConfirmsPool, rabbitmq.QueueQuorum, 1},
		{rabbitmq.ConfirmsDeferred, rabbitmq.QueueQuorum, 3},
	} {
		b.Run(fmt.Sprintf("confirms=%s/queue=%s/queues=%d", c.confirms, c.queueType, c.queues), func(b *testing.B) {
			names := []string{"q0", "q1", "q2"}[:c.queues]
			store := sqlstoretest.MariaDB(b)
			cfg := rabbitConfig(b, names...)
			cfg.Confirms = c.confirms
			cfg.QueueType = c.queueType
			cfg.PublishWindow = envInt(b, "POSTHASTE_BENCH_RELAY_WINDOW") // 0: the default
			pub := &timedPublisher{Publisher: newPublisher(b, cfg, names...)}
			recs := bustest.Records(0, b.N)
			appendAll(b, store, recs)
			outbox := &timedOutbox{Outbox: store}
			r, err := relay.New(relay.Config{IdlePoll: 5 * time.Millisecond, BatchSize: envInt(b, "POSTHASTE_BENCH_RELAY_BATCH")}, outbox, pub, memory.NewLocker(), quiet(), time.Now)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			b.ResetTimer()
			cpu0 := bustest.SampleCPU()
			start := time.Now()
			go func() { done <- r.Run(ctx) }()
			for r.Stats().Published < uint64(b.N) {
				time.Sleep(time.Millisecond)
			}
			elapsed := time.Since(start)
			cpu := bustest.SampleCPU().Sub(cpu0)
			b.StopTimer()
			cancel()
			<-done
			pubSecs := time.Duration(pub.nanos.Load()).Seconds()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(b.N)/pubSecs, "publish-only-events/s")
			b.ReportMetric(float64(b.N)/time.Duration(outbox.pending.Load()).Seconds(), "pending-only-events/s")
			b.ReportMetric(float64(b.N)/time.Duration(outbox.ack.Load()).Seconds(), "ack-only-events/s")
			b.ReportMetric(float64(r.Stats().Failures), "failures")
			perEvent := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
			b.ReportMetric(perEvent(cpu.Self), "relay-cpu-µs/event")
			b.ReportMetric(perEvent(cpu.Broker), "rabbitmq-cpu-µs/event")
			b.ReportMetric(perEvent(cpu.DB), "mariadb-cpu-µs/event")
		})
	}
}

// envInt reads a tuning knob of the benchmark (0 when unset: the shipped default).
func envInt(b *testing.B, name string) int {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return n
}
