package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

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
	conn *managedConnection
	pool *confirmsPool // ConfirmsPool only (the benchmark yardstick); nil otherwise

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
	conn, err := dial(cfg, logger, "publisher")
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: new publisher: %w", err)
	}
	p := &Publisher{cfg: cfg, log: logger, conn: conn}
	if cfg.Confirms == ConfirmsPool {
		if p.pool, err = newConfirmsPool(cfg, logger); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("rabbitmq: new publisher: %w", err)
		}
	}
	return p, nil
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
	conn, err := p.conn.current()
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
	if conn, err := p.conn.current(); err == nil && !p.stale && p.declaredFor == conn {
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
// Up to PublishWindow records are in flight at once (PublishChannels with ConfirmsPool). On
// error some records may have been confirmed; the caller publishes the whole batch again.
func (p *Publisher) Publish(ctx context.Context, recs []events.Record) error {
	if err := p.ensureTopology(); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	var err error
	if p.pool != nil {
		err = p.pool.publish(ctx, recs)
	} else {
		err = p.publishDeferred(ctx, recs)
	}
	if err != nil {
		p.markStale()
		return fmt.Errorf("rabbitmq: publish: %w", err)
	}
	return nil
}

// PublishAsync sends every record like Publish and returns once they are all sent, with
// confirm, which waits until the broker confirmed all of them and returns what Publish would
// have. Calls must not overlap each other, but the next one may run while an earlier confirm
// waits: the relay sends batch n+1 while the broker confirms batch n (domain/relay). Records go
// out in call order on one channel. With ConfirmsPool there is nothing to overlap: it
// publishes and confirms before returning.
func (p *Publisher) PublishAsync(ctx context.Context, recs []events.Record) (confirm func() error, err error) {
	if p.pool != nil {
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

// sendDeferred publishes on one confirm-mode channel of the managed connection,
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
	conn, err := p.conn.current()
	if err == nil && p.dch != nil && !p.dch.IsClosed() && p.dchConn == conn {
		return p.dch, nil
	}
	if p.dch != nil {
		_ = p.dch.Close()
		p.dch = nil
	}
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
	conn, err := p.conn.current()
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
	conn, err := p.conn.current()
	if err != nil {
		return fmt.Errorf("rabbitmq: ping: %w", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq: ping: %w", err)
	}
	return ch.Close()
}

// Close closes the confirm channel, the connection and, with ConfirmsPool, watermill's
// publisher.
func (p *Publisher) Close() error {
	p.dmu.Lock()
	if p.dch != nil {
		_ = p.dch.Close()
		p.dch = nil
	}
	p.dmu.Unlock()
	var perr error
	if p.pool != nil {
		perr = p.pool.Close()
	}
	cerr := p.conn.Close()
	if err := errors.Join(perr, cerr); err != nil {
		return fmt.Errorf("rabbitmq: close publisher: %w", err)
	}
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
