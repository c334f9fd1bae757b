package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

var (
	// errNotConnected: the managed connection is down and being redialled.
	errNotConnected = errors.New("not connected")
	// errConnectionClosed: the managed connection was closed by its owner.
	errConnectionClosed = errors.New("connection closed")
)

// Redial backoff of a managed connection: the first attempt is immediate, then the wait starts
// at redialFirstWait and grows by redialGrowth per failure, ±redialJitter, up to
// Config.ReconnectMax.
const (
	redialFirstWait = 100 * time.Millisecond
	redialGrowth    = 1.5
	redialJitter    = 0.5
	// dialTimeout bounds the TCP connect and the AMQP handshake of one dial (amqp091's default).
	dialTimeout = 30 * time.Second
)

// managedConnection is the package's one connection manager: the publisher and every
// subscription hold one. It dials once at start, notices when the broker closes the connection
// (restart, wipe, forced close, missed heartbeats) and redials it in the background with capped
// backoff until Close. Callers open their channels on current() and open them again on the
// new connection after a loss; redialled() tells them when there is one.
//
// Every field a caller reads is guarded by mu, and the redial loop is the only writer of conn
// apart from Close, so it is race-free under the race detector (watermill-amqp's
// ConnectionWrapper is not: ThreeDotsLabs/watermill#693).
type managedConnection struct {
	url        string
	backoffMax time.Duration
	log        *slog.Logger
	stop       context.Context // cancelled by Close: ends a redial (and its dial) in progress
	cancel     context.CancelFunc
	loopDone   chan struct{} // closed when the redial loop has returned

	mu     sync.Mutex
	conn   *amqp.Connection // the live connection; nil while redialling and after Close
	redial chan struct{}    // closed, and replaced, at each successful redial and at Close
	closed bool
}

// dial connects to the broker (its error is returned) and starts watching the connection.
// role names the holder in the logs.
func dial(cfg Config, logger *slog.Logger, role string) (*managedConnection, error) {
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = DefaultReconnectMax
	}
	stop, cancel := context.WithCancel(context.Background())
	m := &managedConnection{
		url:        cfg.URL,
		backoffMax: cfg.ReconnectMax,
		log:        logger.With(slog.String("connection", role)),
		stop:       stop,
		cancel:     cancel,
		loopDone:   make(chan struct{}),
		redial:     make(chan struct{}),
	}
	conn, err := m.dialOnce()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("connect: %w", err)
	}
	m.conn = conn
	go m.watch(conn)
	return m, nil
}

// current returns the live connection: errNotConnected while it is being redialled,
// errConnectionClosed after Close. The connection may be lost right after; whatever the caller
// does on it then fails with amqp091's error, and the caller asks again later.
func (m *managedConnection) current() (*amqp.Connection, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return nil, errConnectionClosed
	case m.conn == nil || m.conn.IsClosed():
		return nil, errNotConnected
	}
	return m.conn, nil
}

// redialled returns a channel that is closed at the next successful redial, or at Close. Take
// it before trying current(), so a redial in between is not missed.
func (m *managedConnection) redialled() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.redial
}

// Close closes the connection and stops redialling; it returns once the redial loop ended.
// Later calls return nil.
func (m *managedConnection) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	conn := m.conn
	m.conn = nil
	close(m.redial)
	m.mu.Unlock()
	m.cancel()
	var err error
	if conn != nil {
		if cerr := conn.Close(); cerr != nil && !errors.Is(cerr, amqp.ErrClosed) {
			err = fmt.Errorf("close connection: %w", cerr)
		}
	}
	<-m.loopDone
	return err
}

// watch waits for conn to close and redials, until Close.
func (m *managedConnection) watch(conn *amqp.Connection) {
	defer close(m.loopDone)
	for {
		// Buffered: amqp091 sends the close reason synchronously, then closes the channel (a
		// graceful close sends nothing).
		lost := conn.NotifyClose(make(chan *amqp.Error, 1))
		select {
		case <-m.stop.Done():
			return // Close closes conn
		case reason := <-lost:
			if m.stop.Err() != nil {
				return
			}
			m.log.Warn("rabbitmq: connection lost, redialling", slog.Any("reason", reasonOf(reason)))
		}
		m.mu.Lock()
		if m.conn == conn {
			m.conn = nil
		}
		m.mu.Unlock()
		if conn = m.redialWithBackoff(); conn == nil {
			return // closed meanwhile
		}
	}
}

// redialWithBackoff dials until it succeeds and installs the new connection, or returns nil
// once Close was called.
func (m *managedConnection) redialWithBackoff() *amqp.Connection {
	wait := redialFirstWait
	for attempt := 1; ; attempt++ {
		conn, err := m.dialOnce()
		if err == nil {
			m.mu.Lock()
			if m.closed {
				m.mu.Unlock()
				_ = conn.Close()
				return nil
			}
			m.conn = conn
			close(m.redial)
			m.redial = make(chan struct{})
			m.mu.Unlock()
			m.log.Info("rabbitmq: connection redialled", slog.Int("attempts", attempt))
			return conn
		}
		if m.stop.Err() != nil {
			return nil
		}
		sleep := time.Duration(float64(wait) * (1 + redialJitter*(2*rand.Float64()-1)))
		m.log.Warn("rabbitmq: redial failed", slog.Int("attempt", attempt), slog.Any("error", err), slog.Duration("retry_in", sleep))
		t := time.NewTimer(sleep)
		select {
		case <-m.stop.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(time.Duration(float64(wait)*redialGrowth), m.backoffMax)
	}
}

// dialOnce opens one AMQP connection with amqp091's defaults (10 s heartbeat, 30 s for connect
// and handshake), except that Close interrupts a dial in progress.
func (m *managedConnection) dialOnce() (*amqp.Connection, error) {
	var interrupt func() bool // stops the interrupt once the dial returned
	conn, err := amqp.DialConfig(m.url, amqp.Config{
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: dialTimeout}
			c, err := d.DialContext(m.stop, network, addr)
			if err != nil {
				return nil, err
			}
			// The handshake deadline; amqp091 clears it once the connection is open.
			if err := c.SetDeadline(time.Now().Add(dialTimeout)); err != nil {
				_ = c.Close()
				return nil, err
			}
			interrupt = context.AfterFunc(m.stop, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
			return c, nil
		},
	})
	if interrupt != nil {
		interrupt()
	}
	return conn, err
}

// reasonOf is the close reason for the log: nil for a graceful close.
func reasonOf(e *amqp.Error) any {
	if e == nil {
		return "closed"
	}
	return e
}
