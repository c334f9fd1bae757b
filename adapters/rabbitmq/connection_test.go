package rabbitmq

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/posthaste/posthaste/adapters/bustest"
)

// TestLostConnectionsAreRedialledByTheOneManager closes the publisher's and a subscription's
// connections under them: the connection manager redials both, the subscription consumes again
// and says so, and what is published next arrives.
func TestLostConnectionsAreRedialledByTheOneManager(t *testing.T) {
	url := testURL()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%x", b)
	cfg := Config{URL: url, Exchange: "posthaste-test." + id + ".events", QueuePrefix: "posthaste-test." + id + ".projection."}
	t.Cleanup(func() {
		conn, err := amqp.Dial(url)
		if err != nil {
			return
		}
		defer conn.Close()
		if ch, err := conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(cfg.QueuePrefix+"alpha", false, false, false)
			_, _ = ch.QueueDelete(cfg.QueuePrefix+"alpha.dead", false, false, false)
			_ = ch.ExchangeDelete(cfg.Exchange, false, false)
			_ = ch.ExchangeDelete(cfg.Exchange+".dlx", false, false)
			ch.Close()
		}
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub, err := NewPublisher(cfg, quiet)
	if err != nil {
		t.Fatalf("rabbitmq at %s: %v", url, err)
	}
	defer pub.Close()
	if err := pub.DeclareTopology(ctx, []string{"alpha"}); err != nil {
		t.Fatal(err)
	}
	sub, err := NewSubscriber(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	deliveries, reconnected, err := sub.Subscribe(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}

	sub.mu.Lock()
	for s := range sub.subs {
		closeCurrent(t, s.conn)
	}
	sub.mu.Unlock()
	closeCurrent(t, pub.conn)

	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("no reconnected signal after the subscription's connection was closed")
	}
	if err := sub.Ping(ctx); err != nil {
		t.Errorf("subscriber ping after the reconnect: %v", err)
	}
	recs := bustest.Records(0, 10)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := pub.Publish(ctx, recs)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish after the connection was closed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := pub.Ping(ctx); err != nil {
		t.Errorf("publisher ping after the reconnect: %v", err)
	}
	bustest.Collect(t, deliveries, 10, 10*time.Second)
}

// closeCurrent closes m's live connection under it, as a broker restart would.
func closeCurrent(t *testing.T, m *managedConnection) {
	t.Helper()
	c, err := m.current()
	if err != nil {
		t.Fatalf("current connection: %v", err)
	}
	_ = c.Close()
}

func testURL() string {
	if u := os.Getenv("POSTHASTE_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// brokerProxy forwards TCP connections to the test broker, so a test can take "the broker"
// away (cut: every connection dropped, new ones refused) and bring it back (restore) without
// touching the broker other tests use.
type brokerProxy struct {
	t      *testing.T
	target string // broker host:port
	addr   string // the proxy's host:port, the same after restore

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

// newBrokerProxy starts a proxy and returns it with the broker URL that goes through it.
func newBrokerProxy(t *testing.T) (*brokerProxy, string) {
	t.Helper()
	uri, err := amqp.ParseURI(testURL())
	if err != nil {
		t.Fatal(err)
	}
	p := &brokerProxy{t: t, target: net.JoinHostPort(uri.Host, strconv.Itoa(uri.Port))}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	host, port, _ := net.SplitHostPort(p.addr)
	uri.Host = host
	uri.Port, _ = strconv.Atoi(port)
	return p, uri.String()
}

func (p *brokerProxy) listen(addr string) {
	p.t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("proxy listen %s: %v", addr, err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, b)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(b, c); _ = b.Close() }()
			go func() { _, _ = io.Copy(c, b); _ = c.Close() }()
		}
	}()
}

// cut drops every proxied connection and refuses new ones, like a broker that went away.
func (p *brokerProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// restore accepts connections again on the same address.
func (p *brokerProxy) restore() { p.listen(p.addr) }

// TestManagedConnectionRedialsWhenTheBrokerIsBack: the broker goes away and redials fail for a
// while; once it is back the manager redials, says so on redialled, and hands out the new
// connection. Close then ends it for good.
func TestManagedConnectionRedialsWhenTheBrokerIsBack(t *testing.T) {
	proxy, url := newBrokerProxy(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := dial(Config{URL: url, ReconnectMax: 200 * time.Millisecond}, quiet, "test")
	if err != nil {
		t.Fatal(err)
	}
	first, err := m.current()
	if err != nil {
		t.Fatal(err)
	}
	redialled := m.redialled()
	proxy.cut()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := m.current(); errors.Is(err, errNotConnected) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("current() still hands out a connection the broker dropped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a few failed redials
	select {
	case <-redialled:
		t.Fatal("redialled signalled while the broker was away")
	default:
	}
	proxy.restore()
	select {
	case <-redialled:
	case <-time.After(10 * time.Second):
		t.Fatal("no redial within 10s of the broker coming back")
	}
	second, err := m.current()
	if err != nil {
		t.Fatalf("current after the redial: %v", err)
	}
	if second == first {
		t.Fatal("current after the redial is the lost connection")
	}
	if ch, err := second.Channel(); err != nil {
		t.Fatalf("channel on the redialled connection: %v", err)
	} else {
		_ = ch.Close()
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := m.current(); !errors.Is(err, errConnectionClosed) {
		t.Fatalf("current after close: %v, want errConnectionClosed", err)
	}
	if !second.IsClosed() {
		t.Fatal("close left the connection open")
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// TestManagedConnectionCloseStopsARedial: Close while the manager is redialling a broker that
// is away returns at once and wakes whoever waits for a redial.
func TestManagedConnectionCloseStopsARedial(t *testing.T) {
	proxy, url := newBrokerProxy(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := dial(Config{URL: url, ReconnectMax: time.Minute}, quiet, "test")
	if err != nil {
		t.Fatal(err)
	}
	redialled := m.redialled()
	proxy.cut()
	time.Sleep(500 * time.Millisecond) // the loss noticed, a redial or two failed, waiting
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close did not return while the manager was redialling")
	}
	select {
	case <-redialled:
	default:
		t.Fatal("close did not wake the waiters on redialled")
	}
	if _, err := m.current(); !errors.Is(err, errConnectionClosed) {
		t.Fatalf("current after close: %v, want errConnectionClosed", err)
	}
}
