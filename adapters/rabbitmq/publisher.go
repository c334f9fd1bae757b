package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill"
	wmamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// ErrTopologyNotDeclared is returned by Publish before DeclareTopology succeeded once.
var ErrTopologyNotDeclared = errors.New("rabbitmq: topology not declared: call DeclareTopology before publishing")

// Publisher publishes records with publisher confirms, many in flight. See the package comment.
type Publisher struct {
	cfg  Config
	log  *slog.Logger
	conn *wmamqp.ConnectionWrapper
	pub  *wmamqp.Publisher

	mu          sync.Mutex
	names       []string         // projections of the declared topology
	declared    bool             // DeclareTopology succeeded once
	declaredFor *amqp.Connection // connection the topology was last declared on
	stale       bool             // a publish failed: declare again before the next one

	dmu     sync.Mutex    // one deferred-confirms batch at a time
	dch     *amqp.Channel // confirm-mode channel of ConfirmsDeferred; nil until opened
	dchConn *amqp.Connection
}

var _ domain.Publisher = (*Publisher)(nil)

// NewPublisher connects to the broker. It does not declare anything: call DeclareTopology.
func NewPublisher(cfg Config, logger *slog.Logger) (*Publisher, error) {
	if logger == nil {
		return nil, errors.New("rabbitmq: new publisher: logger is nil")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: new publisher: %w", err)
	}
	conn, err := dial(cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: new publisher: %w", err)
	}
	poolSize := cfg.PublishChannels
	if cfg.Confirms != ConfirmsPool {
		poolSize = 1 // the pool is unused: deferred confirms run on a channel of their own
	}
	wcfg := wmamqp.Config{
		Connection: wmamqp.ConnectionConfig{AmqpURI: cfg.URL},
		Marshaler:  marshaler{},
		Exchange: wmamqp.ExchangeConfig{
			GenerateName: wmamqp.GenerateExchangeNameConstant(cfg.Exchange),
			Type:         amqp.ExchangeFanout,
			Durable:      true,
		},
		Publish: wmamqp.PublishConfig{
			GenerateRoutingKey: func(string) string { return "" },
			ChannelPoolSize:    poolSize,
			ConfirmDelivery:    true,
		},
		// We declare the whole topology ourselves (DeclareTopology); watermill must not
		// declare the exchange with its own idea of the arguments.
		TopologyBuilder: noTopology{},
	}
	pub, err := wmamqp.NewPublisherWithConnection(wcfg, watermillLogger(logger), conn)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("rabbitmq: new publisher: %w", err)
	}
	return &Publisher{cfg: cfg, log: logger, conn: conn, pub: pub}, nil
}

// DeclareTopology declares the exchange, the dead-letter exchange and, for each named
// projection, its queue and dead-letter queue. It must succeed once before Publish; the names
// are remembered and declared again after a reconnect or a failed publish.
func (p *Publisher) DeclareTopology(ctx context.Context, projectionNames []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rabbitmq: declare topology: %w", err)
	}
	if len(projectionNames) == 0 {
		return errors.New("rabbitmq: declare topology: no projection names: records would be confirmed into no queue")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	names := append([]string(nil), projectionNames...)
	if err := p.declareLocked(names); err != nil {
		return fmt.Errorf("rabbitmq: declare topology: %w", err)
	}
	p.names = names
	p.declared = true
	return nil
}

// declareLocked declares the topology on a fresh channel of the current connection; p.mu held.
func (p *Publisher) declareLocked(names []string) error {
	conn, err := live(p.conn)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()
	if err := declareTopology(ch, p.cfg, names); err != nil {
		return err
	}
	p.declaredFor = conn
	p.stale = false
	return nil
}

// ensureTopology re-declares the topology when the connection changed or a publish failed.
func (p *Publisher) ensureTopology() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.declared {
		return ErrTopologyNotDeclared
	}
	if !p.stale && p.declaredFor == p.conn.Connection() {
		return nil
	}
	if err := p.declareLocked(p.names); err != nil {
		return fmt.Errorf("rabbitmq: redeclare topology: %w", err)
	}
	p.log.Info("rabbitmq: topology declared again", slog.Int("projections", len(p.names)))
	return nil
}

func (p *Publisher) markStale() {
	p.mu.Lock()
	p.stale = true
	p.mu.Unlock()
}

// Publish sends every record and returns nil only when the broker confirmed all of them.
// Up to PublishChannels records are in flight at once. On error some records may have been
// confirmed; the caller publishes the whole batch again.
func (p *Publisher) Publish(ctx context.Context, recs []events.Record) error {
	if err := p.ensureTopology(); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	var err error
	if p.cfg.Confirms == ConfirmsPool {
		err = p.publishPool(ctx, recs)
	} else {
		err = p.publishDeferred(ctx, recs)
	}
	if err != nil {
		p.markStale()
		return fmt.Errorf("rabbitmq: publish: %w", err)
	}
	return nil
}

// publishPool publishes through watermill's channel pool: PublishChannels goroutines, each
// calling watermill's Publish for one record and waiting for its confirm. It is the slower
// path (half the throughput on quorum queues, 2.3x the client CPU; see ConfirmsPool for the
// figures).
func (p *Publisher) publishPool(ctx context.Context, recs []events.Record) error {
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
	workers := min(p.cfg.PublishChannels, len(msgs))
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for range workers {
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
				if err := p.pub.Publish(p.cfg.Exchange, msgs[i]); err != nil {
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

// PublishAsync sends every record like Publish and returns once they are all sent, with
// confirm, which waits until the broker confirmed all of them and returns what Publish would
// have. Calls must not overlap each other, but the next one may run while an earlier confirm
// waits: the relay sends batch n+1 while the broker confirms batch n (domain/relay). Records go
// out in call order on one channel. With ConfirmsPool there is nothing to overlap: it
// publishes and confirms before returning.
func (p *Publisher) PublishAsync(ctx context.Context, recs []events.Record) (confirm func() error, err error) {
	if p.cfg.Confirms == ConfirmsPool {
		if err := p.Publish(ctx, recs); err != nil {
			return nil, err
		}
		return func() error { return nil }, nil
	}
	if err := p.ensureTopology(); err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return func() error { return nil }, nil
	}
	wait, err := p.sendDeferred(ctx, recs)
	if err != nil {
		p.markStale()
		return nil, fmt.Errorf("rabbitmq: publish: %w", err)
	}
	return func() error {
		if err := wait(); err != nil {
			p.markStale()
			return fmt.Errorf("rabbitmq: publish: %w", err)
		}
		return nil
	}, nil
}

// publishDeferred publishes on one confirm-mode channel and returns when all are confirmed.
func (p *Publisher) publishDeferred(ctx context.Context, recs []events.Record) error {
	wait, err := p.sendDeferred(ctx, recs)
	if err != nil {
		return err
	}
	return wait()
}

// sendDeferred publishes on one confirm-mode channel of the watermill-managed connection,
// keeping at most PublishWindow deferred confirms of this batch outstanding (it waits for the
// oldest before sending more), and returns once every record is sent, with wait, which waits
// for the rest. Any failure closes the channel, so no late confirm can be mistaken for a later
// record's, and fails every batch still waiting on it.
func (p *Publisher) sendDeferred(ctx context.Context, recs []events.Record) (wait func() error, err error) {
	p.dmu.Lock()
	defer p.dmu.Unlock()
	ch, err := p.confirmChannel()
	if err != nil {
		return nil, err
	}
	fail := func() {
		_ = ch.Close()
		if p.dch == ch {
			p.dch = nil
		}
	}
	defer func() {
		if err != nil {
			fail()
		}
	}()
	size := min(p.cfg.PublishWindow, len(recs))
	window := make([]*amqp.DeferredConfirmation, 0, len(recs))
	positions := make([]int64, 0, len(recs))
	waitOne := func(dc *amqp.DeferredConfirmation, pos int64) error {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return fmt.Errorf("confirm position %d: %w", pos, err)
		}
		if !ok {
			return fmt.Errorf("broker nacked or lost position %d", pos)
		}
		return nil
	}
	next := 0 // oldest confirm of this batch not yet waited for
	for _, rec := range recs {
		if len(window)-next == size {
			if err := waitOne(window[next], positions[next]); err != nil {
				return nil, err
			}
			next++
		}
		body, err := encode(rec)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", rec.Envelope.ID, err)
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, p.cfg.Exchange, "", false, false, amqp.Publishing{
			Headers:      amqp.Table{HeaderPosition: rec.Position},
			ContentType:  "application/json",
			DeliveryMode: amqp.Persistent,
			MessageId:    rec.Envelope.ID,
			Body:         body,
		})
		if err != nil {
			return nil, fmt.Errorf("%s (position %d): %w", rec.Envelope.ID, rec.Position, err)
		}
		window = append(window, dc)
		positions = append(positions, rec.Position)
	}
	window, positions = window[next:], positions[next:]
	return func() error {
		// Confirms arrive in order (multiple=true acks), so the last one settles the batch
		// mostly; each is checked because a nack may be for any of them.
		for i, dc := range window {
			if err := waitOne(dc, positions[i]); err != nil {
				p.dmu.Lock()
				fail()
				p.dmu.Unlock()
				return err
			}
		}
		return nil
	}, nil
}

// confirmChannel returns the open confirm-mode channel on the current connection, opening one
// when needed; p.dmu held.
func (p *Publisher) confirmChannel() (*amqp.Channel, error) {
	conn := p.conn.Connection()
	if p.dch != nil && !p.dch.IsClosed() && p.dchConn == conn {
		return p.dch, nil
	}
	if p.dch != nil {
		_ = p.dch.Close()
		p.dch = nil
	}
	conn, err := live(p.conn)
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("confirm mode: %w", err)
	}
	p.dch, p.dchConn = ch, conn
	return ch, nil
}

// DeadLetterCounts returns, per projection of the declared topology, the messages waiting in
// its dead-letter queue (for `posthaste status`).
func (p *Publisher) DeadLetterCounts(ctx context.Context) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("rabbitmq: dead letter counts: %w", err)
	}
	p.mu.Lock()
	names := append([]string(nil), p.names...)
	declared := p.declared
	p.mu.Unlock()
	if !declared {
		return nil, fmt.Errorf("rabbitmq: dead letter counts: %w", ErrTopologyNotDeclared)
	}
	conn, err := live(p.conn)
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: dead letter counts: %w", err)
	}
	counts, err := deadLetterCounts(conn, p.cfg, names)
	if err != nil {
		return counts, fmt.Errorf("rabbitmq: dead letter counts: %w", err)
	}
	return counts, nil
}

// Ping checks the connection with a broker round trip (opening and closing a channel).
func (p *Publisher) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rabbitmq: ping: %w", err)
	}
	conn, err := live(p.conn)
	if err != nil {
		return fmt.Errorf("rabbitmq: ping: %w", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq: ping: %w", err)
	}
	return ch.Close()
}

// Close closes the channel pool and the connection.
func (p *Publisher) Close() error {
	p.dmu.Lock()
	if p.dch != nil {
		_ = p.dch.Close()
		p.dch = nil
	}
	p.dmu.Unlock()
	perr := p.pub.Close()
	cerr := p.conn.Close()
	if err := errors.Join(perr, cerr); err != nil {
		return fmt.Errorf("rabbitmq: close publisher: %w", err)
	}
	return nil
}

// marshaler turns a watermill message into a persistent AMQP publishing whose body is the
// stored envelope, whose message-id is the event id and whose headers carry the metadata
// (the position).
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

// noTopology leaves declaring to DeclareTopology.
type noTopology struct{}

func (noTopology) ExchangeDeclare(*amqp.Channel, string, wmamqp.Config) error { return nil }
func (noTopology) BuildTopology(*amqp.Channel, wmamqp.BuildTopologyParams, wmamqp.Config, watermill.LoggerAdapter) error {
	return nil
}

// encode returns the message body of rec: the stored bytes when the reader carried them (they
// are what events.Marshal produced at append, so no decode and re-encode per event), else
// events.Marshal of the envelope. Consumers decode either with events.Unmarshal.
func encode(rec events.Record) ([]byte, error) {
	if rec.Data != nil {
		return rec.Data, nil
	}
	return events.Marshal(rec.Envelope)
}
