package rabbitmq

import (
	"errors"
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Defaults used when a Config field is zero.
const (
	DefaultExchange        = "posthaste.events"
	DefaultQueuePrefix     = "posthaste.projection."
	DefaultPrefetch        = 256
	DefaultPublishChannels = 64
	DefaultPublishWindow   = 1000
	DefaultReconnectMax    = 5 * time.Second
)

// Queue types (Config.QueueType).
const (
	QueueClassic = "classic"
	QueueQuorum  = "quorum"
)

// Publish pipelining modes (Config.Confirms).
const (
	// ConfirmsDeferred publishes a batch on one confirm-mode amqp091 channel of the publisher's
	// managed connection with deferred confirms, up to PublishWindow in flight. The binary
	// always uses it.
	ConfirmsDeferred = "deferred"
	// ConfirmsPool is the benchmark yardstick, not a production mode: it calls watermill-amqp's
	// Publisher concurrently over its channel pool, one record per call, PublishChannels in
	// flight, on watermill's own connection (see confirmsPool). No configuration of the binary
	// selects it; the acceptance suite and the benchmarks run it.
	//
	// It is kept to show why the publisher uses amqp091 with deferred confirms:
	// docs/benchmarks.md, "Relay into RabbitMQ" (2026-11-24 02:42 UTC), publisher alone on a
	// quorum queue, 5,035 events/s at 51 µs client CPU per event against 10,327 events/s at
	// 22 µs for ConfirmsDeferred (classic queues: 2,923 against 2,675, within noise); relay end
	// to end 1,611 against 2,164 events/s.
	ConfirmsPool = "pool"
)

// HeaderPosition is the AMQP header carrying a record's position beside the stored bytes.
const HeaderPosition = "position"

// Config says where the bus is and how it is laid out. Publisher and Subscriber of one
// deployment must use the same Exchange and QueuePrefix.
type Config struct {
	// URL is the broker, e.g. "amqp://guest:guest@127.0.0.1:5672/".
	URL string
	// Exchange is the durable fanout exchange every record is published to; its dead-letter
	// exchange is Exchange+".dlx".
	Exchange string
	// QueuePrefix + projection name is the projection's queue; + ".dead" its dead-letter queue.
	QueuePrefix string
	// QueueType is the type of the projection and dead-letter queues: QueueQuorum (default:
	// replicated in a cluster, and 2-3x the confirmed throughput of classic queues here) or
	// QueueClassic. A queue keeps the type it was
	// created with: changing it needs the queues deleted first.
	QueueType string
	// Prefetch bounds unacked deliveries per subscription (QoS).
	Prefetch int
	// Confirms chooses how publishes are pipelined: ConfirmsDeferred (default) or ConfirmsPool
	// (the benchmark yardstick).
	Confirms string
	// PublishChannels is the watermill channel pool size and the number of records in flight
	// with ConfirmsPool; unused otherwise.
	PublishChannels int
	// PublishWindow is the most records awaiting their confirm on the one channel of
	// ConfirmsDeferred.
	PublishWindow int
	// ReconnectMax caps the backoff between redial attempts of a managed connection
	// (connection.go) and between a subscription's attempts to consume again.
	ReconnectMax time.Duration
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("url is empty"))
	} else if !strings.HasPrefix(c.URL, "amqp://") && !strings.HasPrefix(c.URL, "amqps://") {
		errs = append(errs, errors.New("url must start with amqp:// or amqps://"))
	}
	if c.Prefetch < 0 || c.PublishChannels < 0 || c.PublishWindow < 0 || c.ReconnectMax < 0 {
		errs = append(errs, errors.New("prefetch, publish channels, publish window and reconnect max must not be negative"))
	}
	switch c.QueueType {
	case "", QueueClassic, QueueQuorum:
	default:
		errs = append(errs, fmt.Errorf("queue type %q: want %q or %q", c.QueueType, QueueClassic, QueueQuorum))
	}
	switch c.Confirms {
	case "", ConfirmsDeferred, ConfirmsPool:
	default:
		errs = append(errs, fmt.Errorf("confirms %q: want %q or %q", c.Confirms, ConfirmsDeferred, ConfirmsPool))
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	if c.Exchange == "" {
		c.Exchange = DefaultExchange
	}
	if c.QueuePrefix == "" {
		c.QueuePrefix = DefaultQueuePrefix
	}
	if c.Prefetch == 0 {
		c.Prefetch = DefaultPrefetch
	}
	if c.QueueType == "" {
		c.QueueType = QueueQuorum
	}
	if c.Confirms == "" {
		c.Confirms = ConfirmsDeferred
	}
	if c.PublishWindow == 0 {
		c.PublishWindow = DefaultPublishWindow
	}
	if c.PublishChannels == 0 {
		c.PublishChannels = DefaultPublishChannels
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	return c, nil
}

func (c Config) deadLetterExchange() string     { return c.Exchange + ".dlx" }
func (c Config) queue(projection string) string { return c.QueuePrefix + projection }
func (c Config) deadQueue(projection string) string {
	return c.QueuePrefix + projection + ".dead"
}

// declareTopology declares the exchanges and, for every named projection, its queue bound to
// the exchange and its dead-letter queue bound to the dead-letter exchange. Idempotent.
func declareTopology(ch *amqp.Channel, c Config, projections []string) error {
	if err := ch.ExchangeDeclare(c.Exchange, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", c.Exchange, err)
	}
	dlx := c.deadLetterExchange()
	if err := ch.ExchangeDeclare(dlx, amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", dlx, err)
	}
	for _, name := range projections {
		if name == "" {
			return errors.New("empty projection name")
		}
		q, dq := c.queue(name), c.deadQueue(name)
		if _, err := ch.QueueDeclare(dq, true, false, false, false, amqp.Table{"x-queue-type": c.QueueType}); err != nil {
			return fmt.Errorf("declare queue %s: %w", dq, err)
		}
		if err := ch.QueueBind(dq, dq, dlx, false, nil); err != nil {
			return fmt.Errorf("bind queue %s: %w", dq, err)
		}
		args := amqp.Table{"x-queue-type": c.QueueType, "x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": dq}
		if _, err := ch.QueueDeclare(q, true, false, false, false, args); err != nil {
			return fmt.Errorf("declare queue %s: %w", q, err)
		}
		if err := ch.QueueBind(q, "", c.Exchange, false, nil); err != nil {
			return fmt.Errorf("bind queue %s: %w", q, err)
		}
	}
	return nil
}

// deadLetterCounts reads each projection's dead-letter queue depth with a passive declare
// (which closes the channel when the queue is missing, so each check gets its own channel).
func deadLetterCounts(conn *amqp.Connection, c Config, projections []string) (map[string]int, error) {
	counts := make(map[string]int, len(projections))
	var errs []error
	for _, name := range projections {
		ch, err := conn.Channel()
		if err != nil {
			return nil, fmt.Errorf("open channel: %w", err)
		}
		q, err := ch.QueueDeclarePassive(c.deadQueue(name), true, false, false, false, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("queue %s: %w", c.deadQueue(name), err))
			continue
		}
		counts[name] = q.Messages
		_ = ch.Close()
	}
	return counts, errors.Join(errs...)
}
