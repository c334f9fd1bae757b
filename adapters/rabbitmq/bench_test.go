package rabbitmq_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/posthaste/posthaste/adapters/bustest"
	"github.com/posthaste/posthaste/adapters/rabbitmq"
	"github.com/posthaste/posthaste/events"
)

// BenchmarkPublish measures Publisher.Publish alone (batches of 1000, persistent, confirms,
// one durable queue) in both pipelining modes.
func BenchmarkPublish(b *testing.B) {
	for _, c := range []struct {
		mode  string
		n     int
		queue string
	}{
		{rabbitmq.ConfirmsDeferred, 1000, rabbitmq.QueueClassic},
		{rabbitmq.ConfirmsPool, 64, rabbitmq.QueueClassic},
		{rabbitmq.ConfirmsDeferred, 1000, rabbitmq.QueueQuorum},
		{rabbitmq.ConfirmsPool, 64, rabbitmq.QueueQuorum},
	} {
		b.Run(fmt.Sprintf("confirms=%s/in-flight=%d/queue=%s", c.mode, c.n, c.queue), func(b *testing.B) {
			cfg := testConfig(b)
			cfg.QueueType = c.queue
			cfg.Confirms = c.mode
			cfg.PublishChannels = c.n
			cfg.PublishWindow = c.n
			pub, err := rabbitmq.NewPublisher(cfg, quiet())
			if err != nil {
				b.Fatal(err)
			}
			defer pub.Close()
			ctx := context.Background()
			if err := pub.DeclareTopology(ctx, []string{"bench"}); err != nil {
				b.Fatal(err)
			}
			recs := bustest.Records(0, b.N)
			b.ResetTimer()
			cpu0 := bustest.SampleCPU()
			start := time.Now()
			for i := 0; i < b.N; i += 1000 {
				if err := pub.Publish(ctx, recs[i:min(i+1000, b.N)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			cpu := bustest.SampleCPU().Sub(cpu0)
			b.ReportMetric(float64(cpu.Self.Microseconds())/float64(b.N), "client-cpu-µs/event")
			b.ReportMetric(float64(cpu.Broker.Microseconds())/float64(b.N), "rabbitmq-cpu-µs/event")
		})
	}
}

// BenchmarkDeferredConfirmsBaseline is the same load with amqp091 directly: one channel,
// deferred confirms, a window of 1000 (the design's reference figure), for comparison.
func BenchmarkDeferredConfirmsBaseline(b *testing.B) {
	cfg := testConfig(b)
	pub, err := rabbitmq.NewPublisher(cfg, quiet())
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	ctx := context.Background()
	if err := pub.DeclareTopology(ctx, []string{"bench"}); err != nil {
		b.Fatal(err)
	}
	conn, err := amqp.Dial(cfg.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		b.Fatal(err)
	}
	recs := bustest.Records(0, b.N)
	b.ResetTimer()
	cpu0 := bustest.SampleCPU()
	start := time.Now()
	for i := 0; i < b.N; i += 1000 {
		var dcs []*amqp.DeferredConfirmation
		for _, r := range recs[i:min(i+1000, b.N)] {
			body, _ := events.Marshal(r.Envelope)
			dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, cfg.Exchange, "", false, false, amqp.Publishing{
				DeliveryMode: amqp.Persistent, MessageId: r.Envelope.ID, Body: body,
				Headers: amqp.Table{rabbitmq.HeaderPosition: r.Position},
			})
			if err != nil {
				b.Fatal(err)
			}
			dcs = append(dcs, dc)
		}
		for _, dc := range dcs {
			if ok, err := dc.WaitContext(ctx); err != nil || !ok {
				b.Fatal("nack", err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	cpu := bustest.SampleCPU().Sub(cpu0)
	b.ReportMetric(float64(cpu.Self.Microseconds())/float64(b.N), "client-cpu-µs/event")
	b.ReportMetric(float64(cpu.Broker.Microseconds())/float64(b.N), "rabbitmq-cpu-µs/event")
}
