package smtpin

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthaste/posthaste/domain/transcript"
	"github.com/posthaste/posthaste/events"
)

// connTracker admits the connections of one server within its limits (open connections in
// all, and per client IP or IPv6 /64) and gives each its state: an id, the client IP and a
// transcript, which survive STARTTLS (go-smtp replaces the session then, not the TCP
// connection).
type connTracker struct {
	hostname string // in the 421 refusal
	maxConns int
	maxPerIP int
	clock    func() time.Time
	log      *slog.Logger
	// onClose, when set, receives every connection's transcript after it closed.
	onClose func(ConnInfo, *transcript.Transcript)

	mu    sync.Mutex
	open  int
	perIP map[string]int
	conns map[*trackedConn]struct{} // the open ones, for closeOpen
}

func newConnTracker(hostname string, maxConns, maxPerIP int, clock func() time.Time, log *slog.Logger, onClose func(ConnInfo, *transcript.Transcript)) *connTracker {
	return &connTracker{hostname: hostname, maxConns: maxConns, maxPerIP: maxPerIP, clock: clock, log: log,
		onClose: onClose, perIP: map[string]int{}, conns: map[*trackedConn]struct{}{}}
}

// trackingListener admits every accepted TCP connection through its tracker.
type trackingListener struct {
	net.Listener
	t           *connTracker
	implicitTLS bool // refusals are not written in clear on a TLS port
}

func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := l.t.admit(c, l.implicitTLS); tc != nil {
			return tc, nil
		}
	}
}

// admit takes a connection within the connection limits, or refuses it with 421 and closes
// it (nil). Refusing here, before any TLS handshake, costs the server almost nothing.
func (t *connTracker) admit(c net.Conn, implicitTLS bool) net.Conn {
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		ip = ap.Addr().Unmap()
	}
	key := connKey(ip)
	t.mu.Lock()
	if t.open >= t.maxConns || t.perIP[key] >= t.maxPerIP {
		t.mu.Unlock()
		t.log.Warn("connection refused: too many connections", "client_ip", ip.String())
		if !implicitTLS {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write([]byte("421 4.7.0 " + t.hostname + " Too many connections, try again later\r\n"))
		}
		c.Close()
		return nil
	}
	t.open++
	t.perIP[key]++
	t.mu.Unlock()

	now := t.clock()
	st := &connState{
		id:         events.NewID(now, nil),
		opened:     now,
		transcript: transcript.New(t.clock, transcript.Timed, 0),
		ip:         ip,
	}
	st.transcript.Note("connection %s from %s to %s", st.id, c.RemoteAddr(), c.LocalAddr())
	st.conn = &trackedConn{Conn: c, st: st, t: t}
	t.mu.Lock()
	t.conns[st.conn] = struct{}{}
	t.mu.Unlock()
	return st.conn
}

// release gives back the slot of a closed connection.
func (t *connTracker) release(c *trackedConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, c)
	t.open--
	key := connKey(c.st.ip)
	if t.perIP[key]--; t.perIP[key] <= 0 {
		delete(t.perIP, key)
	}
}

// closeOpen closes every connection still open.
func (t *connTracker) closeOpen() {
	t.mu.Lock()
	open := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		open = append(open, c)
	}
	t.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

// connKey groups IPv6 clients by /64 (one host usually owns a whole /64).
func connKey(ip netip.Addr) string {
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

type connState struct {
	id         string
	ip         netip.Addr
	opened     time.Time
	transcript *transcript.Transcript
	conn       *trackedConn // the TCP connection, under any TLS layer
}

type trackedConn struct {
	net.Conn
	st   *connState
	t    *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.t.release(c)
		c.st.transcript.Note("connection closed")
		if fn := c.t.onClose; fn != nil {
			func() {
				defer func() {
					if r := recover(); r != nil {
						c.t.log.Error("transcript hook panicked", "conn_id", c.st.id, "panic", fmt.Sprint(r))
					}
				}()
				fn(ConnInfo{ID: c.st.id, RemoteIP: c.st.ip, Opened: c.st.opened, Closed: c.t.clock()}, c.st.transcript)
			}()
		}
	})
	return err
}

// stateOf finds the per-connection state under go-smtp's connection (plain or TLS).
func stateOf(c *smtp.Conn) *connState {
	nc := c.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if tc, ok := nc.(*trackedConn); ok {
		return tc.st
	}
	return nil
}
