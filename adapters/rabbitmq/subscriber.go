package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// Subscriber feeds projections from their queues. See the package comment.
type Subscriber struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	subs map[*subscription]struct{}
}

var _ projections.Subscriber = (*Subscriber)(nil)

// NewSubscriber validates the configuration; connections are made by Subscribe.
func NewSubscriber(cfg Config, logger *slog.Logger) (*Subscriber, error) {
	if logger == nil {
		return nil, errors.New("rabbitmq: new subscriber: logger is nil")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: new subscriber: %w", err)
	}
	return &Subscriber{cfg: cfg, log: logger, subs: map[*subscription]struct{}{}}, nil
}

// subscription is one projection's consumer: a managed connection of its own (dial) and the
// channel consuming the projection's queue on it.
type subscription struct {
	projection string
	conn       *managedConnection
	mu         sync.Mutex
	ch         *amqp.Channel // the consuming channel; nil while subscribing again
}

func (s *subscription) current() *amqp.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *subscription) set(ch *amqp.Channel) {
	s.mu.Lock()
	s.ch = ch
	s.mu.Unlock()
}

// Subscribe declares the projection's queue (and the shared exchanges), starts consuming it with
// manual acks and a bounded prefetch, and returns its deliveries. The subscription has a managed
// connection of its own; the first connection is made before Subscribe returns (its error is
// returned). After that, a lost connection (redialled by managedConnection) or a cancelled
// consumer (queue deleted) is subscribed again with backoff until ctx ends, and every
// successful resubscription sends a value on reconnected (buffered, one pending value at most).
// Deliveries not acked before a connection is lost are redelivered by the broker. The
// deliveries channel is closed when ctx ends.
func (s *Subscriber) Subscribe(ctx context.Context, projection string) (<-chan projections.Delivery, <-chan struct{}, error) {
	if projection == "" {
		return nil, nil, errors.New("rabbitmq: subscribe: empty projection name")
	}
	conn, err := dial(s.cfg, s.log, "subscription "+projection)
	if err != nil {
		return nil, nil, fmt.Errorf("rabbitmq: subscribe %s: %w", projection, err)
	}
	ch, msgs, err := s.consume(conn, projection)
	if err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("rabbitmq: subscribe %s: %w", projection, err)
	}
	sub := &subscription{projection: projection, conn: conn}
	sub.set(ch)
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()

	out := make(chan projections.Delivery)
	reconnected := make(chan struct{}, 1)
	go func() {
		defer close(out)
		defer func() {
			sub.set(nil)
			_ = conn.Close()
			s.mu.Lock()
			delete(s.subs, sub)
			s.mu.Unlock()
		}()
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("rabbitmq: subscriber panic", slog.String("projection", projection), slog.Any("panic", r))
			}
		}()
		for {
			s.forward(ctx, projection, msgs, out)
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("rabbitmq: subscription lost, reconnecting", slog.String("projection", projection))
			if ch := sub.current(); ch != nil {
				_ = ch.Close()
			}
			sub.set(nil)
			ch, msgs = s.resubscribe(ctx, conn, projection)
			if ch == nil {
				return // ctx ended
			}
			sub.set(ch)
			s.log.Info("rabbitmq: subscription reconnected", slog.String("projection", projection))
			select {
			case reconnected <- struct{}{}:
			default: // a signal is already pending
			}
		}
	}()
	return out, reconnected, nil
}

// consume opens a channel on conn's live connection, declares the projection's topology and
// starts consuming its queue.
func (s *Subscriber) consume(conn *managedConnection, projection string) (*amqp.Channel, <-chan amqp.Delivery, error) {
	c, err := conn.current()
	if err != nil {
		return nil, nil, err
	}
	ch, err := c.Channel()
	if err != nil {
		return nil, nil, fmt.Errorf("open channel: %w", err)
	}
	fail := func(err error) (*amqp.Channel, <-chan amqp.Delivery, error) {
		_ = ch.Close()
		return nil, nil, err
	}
	if err := declareTopology(ch, s.cfg, []string{projection}); err != nil {
		return fail(err)
	}
	if err := ch.Qos(s.cfg.Prefetch, 0, false); err != nil {
		return fail(fmt.Errorf("qos: %w", err))
	}
	msgs, err := ch.Consume(s.cfg.queue(projection), "", false, false, false, false, nil)
	if err != nil {
		return fail(fmt.Errorf("consume %s: %w", s.cfg.queue(projection), err))
	}
	return ch, msgs, nil
}

// resubscribe retries consume with exponential backoff until it succeeds or ctx ends (nil
// channel). On a connection that is still up (the consumer was cancelled: queue deleted) it
// opens a channel again on it; after a loss it tries again as soon as the connection manager
// has redialled, or when the backoff ends, whichever is first.
func (s *Subscriber) resubscribe(ctx context.Context, conn *managedConnection, projection string) (*amqp.Channel, <-chan amqp.Delivery) {
	wait := 100 * time.Millisecond
	for {
		redialled := conn.redialled()
		ch, msgs, err := s.consume(conn, projection)
		if err == nil {
			return ch, msgs
		}
		level := slog.LevelWarn
		if errors.Is(err, errNotConnected) {
			level = slog.LevelDebug // the connection manager logs its redials
		}
		s.log.Log(ctx, level, "rabbitmq: resubscribe failed", slog.String("projection", projection), slog.Any("error", err), slog.Duration("retry_in", wait))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil
		case <-redialled:
			t.Stop()
		case <-t.C:
		}
		wait = min(wait*2, s.cfg.ReconnectMax)
	}
}

// forward hands deliveries to the consumer until msgs closes (connection or consumer lost) or
// ctx ends.
func (s *Subscriber) forward(ctx context.Context, projection string, msgs <-chan amqp.Delivery, out chan<- projections.Delivery) {
	for {
		var d amqp.Delivery
		var ok bool
		select {
		case <-ctx.Done():
			return
		case d, ok = <-msgs:
			if !ok {
				return
			}
		}
		rec, err := decode(d)
		if err != nil {
			// Undecodable bytes can never be applied: dead-letter them at once.
			s.log.Error("rabbitmq: undecodable message dead-lettered", slog.String("projection", projection), slog.String("message_id", d.MessageId), slog.Any("error", err))
			if nerr := d.Nack(false, false); nerr != nil {
				s.log.Warn("rabbitmq: dead-letter", slog.String("projection", projection), slog.Any("error", nerr))
			}
			continue
		}
		delivery := projections.Delivery{
			Record: rec,
			Ack: func() error {
				if err := d.Ack(false); err != nil {
					return fmt.Errorf("rabbitmq: ack %s position %d: %w", projection, rec.Position, err)
				}
				return nil
			},
			DeadLetter: func(reason error) error {
				s.log.Warn("rabbitmq: dead-lettering", slog.String("projection", projection), slog.Int64("position", rec.Position), slog.String("event_id", rec.Envelope.ID), slog.Any("reason", reason))
				if err := d.Nack(false, false); err != nil {
					return fmt.Errorf("rabbitmq: dead-letter %s position %d: %w", projection, rec.Position, err)
				}
				return nil
			},
		}
		select {
		case out <- delivery:
		case <-ctx.Done():
			return // unacked: the broker redelivers it to the next consumer
		}
	}
}

// decode reads the record from a delivery: the body is the stored envelope, the position the
// "position" header.
func decode(d amqp.Delivery) (events.Record, error) {
	env, err := events.Unmarshal(d.Body)
	if err != nil {
		return events.Record{}, err
	}
	var pos int64
	switch v := d.Headers[HeaderPosition].(type) {
	case int64:
		pos = v
	case int32:
		pos = int64(v)
	case string:
		pos, err = strconv.ParseInt(v, 10, 64)
		if err != nil {
			return events.Record{}, fmt.Errorf("position header %q: %w", v, err)
		}
	default:
		return events.Record{}, fmt.Errorf("position header missing or of type %T", v)
	}
	return events.Record{Position: pos, Envelope: env}, nil
}

// Ping fails when any subscription is between connections; with no subscription it dials the
// broker once.
func (s *Subscriber) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rabbitmq: ping: %w", err)
	}
	s.mu.Lock()
	subs := make([]*subscription, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	if len(subs) == 0 {
		conn, err := dial(s.cfg, s.log, "ping")
		if err != nil {
			return fmt.Errorf("rabbitmq: ping: %w", err)
		}
		if err := conn.Close(); err != nil {
			return fmt.Errorf("rabbitmq: ping: %w", err)
		}
		return nil
	}
	for _, sub := range subs {
		_, cerr := sub.conn.current()
		if ch := sub.current(); ch == nil || ch.IsClosed() || cerr != nil {
			return fmt.Errorf("rabbitmq: ping: subscription %s is reconnecting", sub.projection)
		}
	}
	return nil
}
