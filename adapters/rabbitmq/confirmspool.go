package rabbitmq

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill"
	wmamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/posthaste/posthaste/events"
)

// confirmsPool is ConfirmsPool: the benchmark yardstick, not a production path. No
// configuration of the binary selects it; the acceptance suite and the benchmarks
// (BenchmarkPublish, BenchmarkRelayMariaDBToRabbitMQ) run it to show what the deferred confirms
// of Publisher.sendDeferred gain over watermill-amqp's Publisher, which waits for each confirm
// in turn on the pooled channel it holds (one message in flight per call).
//
// It publishes through watermill-amqp's Publisher on watermill's own connection
// (ConnectionWrapper), not on the package's connection manager (managedConnection): being no
// production path, it need not share the one manager, and keeping it apart keeps watermill out
// of every production path. That wrapper redials on its own and is not race-free while it does
// (ThreeDotsLabs/watermill#693), so no test makes this connection redial.
type confirmsPool struct {
	exchange string
	workers  int
	pub      *wmamqp.Publisher
}

// newConfirmsPool connects watermill's publisher with a channel pool of cfg.PublishChannels
// confirm-mode channels.
func newConfirmsPool(cfg Config, logger *slog.Logger) (*confirmsPool, error) {
	wlog := watermill.NewSlogLoggerWithLevelMapping(logger.With(slog.String("component", "watermill-amqp")), map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug, // watermill logs every connection and channel pool event at info
	})
	pub, err := wmamqp.NewPublisher(wmamqp.Config{
		Connection: wmamqp.ConnectionConfig{
			AmqpURI: cfg.URL,
			Reconnect: &wmamqp.ReconnectConfig{ // as managedConnection's
				BackoffInitialInterval:     redialFirstWait,
				BackoffRandomizationFactor: redialJitter,
				BackoffMultiplier:          redialGrowth,
				BackoffMaxInterval:         cfg.ReconnectMax,
			},
		},
		Marshaler: marshaler{},
		Exchange: wmamqp.ExchangeConfig{
			GenerateName: wmamqp.GenerateExchangeNameConstant(cfg.Exchange),
			Type:         amqp.ExchangeFanout,
			Durable:      true,
		},
		Publish: wmamqp.PublishConfig{
			GenerateRoutingKey: func(string) string { return "" },
			ChannelPoolSize:    cfg.PublishChannels,
			ConfirmDelivery:    true,
		},
		// Publisher.DeclareTopology declares the whole topology; watermill must not declare
		// the exchange with its own idea of the arguments.
		TopologyBuilder: noTopology{},
	}, wlog)
	if err != nil {
		return nil, fmt.Errorf("watermill publisher: %w", err)
	}
	return &confirmsPool{exchange: cfg.Exchange, workers: cfg.PublishChannels, pub: pub}, nil
}

// publish runs up to PublishChannels goroutines, each calling watermill's Publish for one
// record and waiting for its confirm, and returns the first failure.
func (p *confirmsPool) publish(ctx context.Context, recs []events.Record) error {
	msgs := make([]*message.Message, len(recs))
	for i, rec := range recs {
		body, err := encode(rec)
		if err != nil {
			return fmt.Errorf("encode %s: %w", rec.Envelope.ID, err)
		}
		m := message.NewMessage(rec.Envelope.ID, body)
		m.Metadata.Set(HeaderPosition, strconv.FormatInt(rec.Position, 10))
		m.SetContext(ctx)
		msgs[i] = m
	}
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for range min(p.workers, len(msgs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					failed.Store(true)
					errOnce.Do(func() { first = fmt.Errorf("panic: %v", r) })
				}
			}()
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= len(msgs) {
					return
				}
				if err := ctx.Err(); err != nil {
					failed.Store(true)
					errOnce.Do(func() { first = err })
					return
				}
				if err := p.pub.Publish(p.exchange, msgs[i]); err != nil {
					failed.Store(true)
					errOnce.Do(func() { first = fmt.Errorf("%s (position %d): %w", msgs[i].UUID, recs[i].Position, err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// Close closes the channel pool and watermill's connection.
func (p *confirmsPool) Close() error { return p.pub.Close() }

// marshaler turns a watermill message into a persistent AMQP publishing whose body is the
// stored envelope, whose message-id is the event id and whose headers carry the metadata
// (the position): the same message as Publisher.sendDeferred sends.
type marshaler struct{}

func (marshaler) Marshal(msg *message.Message) (amqp.Publishing, error) {
	headers := make(amqp.Table, len(msg.Metadata))
	for k, v := range msg.Metadata {
		headers[k] = v
	}
	if v, ok := msg.Metadata[HeaderPosition]; ok {
		pos, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return amqp.Publishing{}, fmt.Errorf("position %q: %w", v, err)
		}
		headers[HeaderPosition] = pos
	}
	return amqp.Publishing{
		Headers:      headers,
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		MessageId:    msg.UUID,
		Body:         msg.Payload,
	}, nil
}

func (marshaler) Unmarshal(d amqp.Delivery) (*message.Message, error) {
	m := message.NewMessage(d.MessageId, d.Body)
	for k, v := range d.Headers {
		m.Metadata.Set(k, fmt.Sprint(v))
	}
	return m, nil
}

// noTopology leaves declaring to Publisher.DeclareTopology.
type noTopology struct{}

func (noTopology) ExchangeDeclare(*amqp.Channel, string, wmamqp.Config) error { return nil }
func (noTopology) BuildTopology(*amqp.Channel, wmamqp.BuildTopologyParams, wmamqp.Config, watermill.LoggerAdapter) error {
	return nil
}
