package smtpin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/transcript"
	"github.com/posthaste/posthaste/events"
)

// Submitter accepts a message (implemented by *submission.Handler).
type Submitter interface {
	Submit(ctx context.Context, s submission.Submission) (submission.Result, error)
}

// ConnInfo describes a finished connection, handed to Config.OnTranscript.
type ConnInfo struct {
	ID       string // connection id (UUIDv7)
	RemoteIP netip.Addr
	Opened   time.Time
	Closed   time.Time
}

// Config wires a Server. Zero limits take the documented defaults.
type Config struct {
	Hostname          string      // greeting and EHLO name; required
	Listen            []string    // plain listeners offering STARTTLS (POSTHASTE_SMTP_LISTEN)
	ListenTLS         []string    // implicit TLS listeners (POSTHASTE_SMTPS_LISTEN)
	TLS               *tls.Config // required: STARTTLS must always work
	AllowInsecureAuth bool        // AUTH without TLS, for loopback clients only
	MaxMessageBytes   int64       // SIZE; default 25 MB
	MaxRecipients     int         // per message; default 1000
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	SubmitTimeout     time.Duration // how long one acceptance may take; default 30s
	MaxConnections    int           // open connections in all; default 1000
	MaxConnsPerIP     int           // open connections per client IP (IPv6: per /64); default 50

	Submitter     Submitter                // required
	Authenticator submission.Authenticator // required
	Limiter       submission.RateLimiter   // required (NewMemoryLimiter in one process)
	Logger        *slog.Logger             // required
	Clock         func() time.Time         // time.Now when nil

	// OnTranscript, when set, receives every connection's redacted transcript after it closed.
	OnTranscript func(ConnInfo, *transcript.Transcript)
}

const (
	defaultMaxMessageBytes = 25 << 20
	defaultMaxRecipients   = 1000
)

// Server serves SMTP submission on every configured listener.
type Server struct {
	cfg  Config
	log  *slog.Logger
	smtp *smtp.Server

	mu        sync.Mutex
	listeners []net.Listener
	started   bool
	wg        sync.WaitGroup

	connMu sync.Mutex
	open   int
	perIP  map[string]int
}

// New validates the configuration and every dependency; it binds nothing (see Start).
func New(cfg Config) (*Server, error) {
	var errs []error
	if strings.TrimSpace(cfg.Hostname) == "" {
		errs = append(errs, errors.New("hostname is empty"))
	}
	if cfg.TLS == nil || (len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetCertificate == nil) {
		errs = append(errs, errors.New("tls config with a certificate is required"))
	}
	if len(cfg.Listen)+len(cfg.ListenTLS) == 0 {
		errs = append(errs, errors.New("no listen address"))
	}
	if cfg.Submitter == nil {
		errs = append(errs, errors.New("submitter is nil"))
	}
	if cfg.Authenticator == nil {
		errs = append(errs, errors.New("authenticator is nil"))
	}
	if cfg.Limiter == nil {
		errs = append(errs, errors.New("rate limiter is nil"))
	}
	if cfg.Logger == nil {
		errs = append(errs, errors.New("logger is nil"))
	}
	if cfg.MaxMessageBytes < 0 || cfg.MaxRecipients < 0 || cfg.MaxConnections < 0 || cfg.MaxConnsPerIP < 0 {
		errs = append(errs, errors.New("negative limit"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("smtpin: new server: %w", errors.Join(errs...))
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = defaultMaxMessageBytes
	}
	if cfg.MaxRecipients == 0 {
		cfg.MaxRecipients = defaultMaxRecipients
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 5 * time.Minute
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = time.Minute
	}
	if cfg.SubmitTimeout == 0 {
		cfg.SubmitTimeout = 30 * time.Second
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = 1000
	}
	if cfg.MaxConnsPerIP == 0 {
		cfg.MaxConnsPerIP = 50
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "smtpin"), perIP: map[string]int{}}
	tlsCfg := cfg.TLS.Clone()
	if tlsCfg.MinVersion == 0 {
		tlsCfg.MinVersion = tls.VersionTLS12
	}
	s.cfg.TLS = tlsCfg

	srv := smtp.NewServer(&backend{s: s})
	srv.Domain = cfg.Hostname
	srv.TLSConfig = tlsCfg
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = cfg.MaxRecipients
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.WriteTimeout
	srv.EnableSMTPUTF8 = true
	// go-smtp decides insecure AUTH per server; we decide per connection in the session
	// (AuthMechanisms / Auth), so the library must never refuse on its own.
	srv.AllowInsecureAuth = true
	srv.ErrorLog = slogPrinter{s.log}
	s.smtp = srv
	return s, nil
}

// Start binds every listener and serves them in the background. Bind errors are reported at
// once (nothing stays bound then).
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("smtpin: start: already started")
	}
	var ls []net.Listener
	bind := func(addr string, implicitTLS bool) error {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("smtpin: listen %s: %w", addr, err)
		}
		var wrapped net.Listener = &trackingListener{Listener: l, s: s, implicitTLS: implicitTLS}
		if implicitTLS {
			wrapped = tls.NewListener(wrapped, s.cfg.TLS)
		}
		ls = append(ls, wrapped)
		return nil
	}
	for _, a := range s.cfg.Listen {
		if err := bind(a, false); err != nil {
			closeAll(ls)
			return err
		}
	}
	for _, a := range s.cfg.ListenTLS {
		if err := bind(a, true); err != nil {
			closeAll(ls)
			return err
		}
	}
	s.started = true
	s.listeners = ls
	for _, l := range ls {
		s.wg.Add(1)
		go func(l net.Listener) {
			defer s.wg.Done()
			defer func() {
				if r := recover(); r != nil {
					s.log.Error("smtp listener panicked", "addr", l.Addr().String(), "panic", fmt.Sprint(r))
				}
			}()
			if err := s.smtp.Serve(l); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				s.log.Error("smtp listener stopped", "addr", l.Addr().String(), "err", err)
			}
		}(l)
		s.log.Info("smtp listening", "addr", l.Addr().String())
	}
	return nil
}

// Addrs returns the bound addresses: first the STARTTLS listeners, then the implicit TLS ones,
// in configuration order (useful with port 0).
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]net.Addr, len(s.listeners))
	for i, l := range s.listeners {
		out[i] = l.Addr()
	}
	return out
}

// Shutdown stops accepting, lets open sessions finish until ctx ends, then closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	// Close our listeners ourselves first: go-smtp only closes those its Serve already
	// registered, and a Serve goroutine that has not started yet would accept forever.
	s.mu.Lock()
	closeAll(s.listeners)
	s.mu.Unlock()
	err := s.smtp.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.smtp.Close()
	}
	s.wg.Wait()
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}

// trackingListener gives every accepted TCP connection its per-connection state, which
// survives STARTTLS (go-smtp replaces the session then, not the TCP connection).
type trackingListener struct {
	net.Listener
	s           *Server
	implicitTLS bool // refusals are not written in clear on a TLS port
}

func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := l.track(c); tc != nil {
			return tc, nil
		}
	}
}

// track admits a connection within the connection limits, or refuses it with 421 and closes
// it (nil). Refusing here, before any TLS handshake, costs the server almost nothing.
func (l *trackingListener) track(c net.Conn) net.Conn {
	s := l.s
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		ip = ap.Addr().Unmap()
	}
	key := connKey(ip)
	s.connMu.Lock()
	if s.open >= s.cfg.MaxConnections || s.perIP[key] >= s.cfg.MaxConnsPerIP {
		s.connMu.Unlock()
		s.log.Warn("connection refused: too many connections", "client_ip", ip.String())
		if !l.implicitTLS {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write([]byte("421 4.7.0 " + s.cfg.Hostname + " Too many connections, try again later\r\n"))
		}
		c.Close()
		return nil
	}
	s.open++
	s.perIP[key]++
	s.connMu.Unlock()

	now := s.cfg.Clock()
	st := &connState{
		id:         events.NewID(now, nil),
		opened:     now,
		transcript: transcript.New(s.cfg.Clock, transcript.Timed, 0),
		ip:         ip,
	}
	st.transcript.Note("connection %s from %s to %s", st.id, c.RemoteAddr(), c.LocalAddr())
	st.conn = &trackedConn{Conn: c, st: st, s: s}
	return st.conn
}

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
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.s.connMu.Lock()
		c.s.open--
		key := connKey(c.st.ip)
		if c.s.perIP[key]--; c.s.perIP[key] <= 0 {
			delete(c.s.perIP, key)
		}
		c.s.connMu.Unlock()
		c.st.transcript.Note("connection closed")
		if fn := c.s.cfg.OnTranscript; fn != nil {
			func() {
				defer func() {
					if r := recover(); r != nil {
						c.s.log.Error("transcript hook panicked", "conn_id", c.st.id, "panic", fmt.Sprint(r))
					}
				}()
				fn(ConnInfo{ID: c.st.id, RemoteIP: c.st.ip, Opened: c.st.opened, Closed: c.s.cfg.Clock()}, c.st.transcript)
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

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Warn("go-smtp: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}
func (p slogPrinter) Println(v ...any) {
	p.log.Warn("go-smtp: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
