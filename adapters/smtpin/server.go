package smtpin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/transcript"
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
	cfg Config
	log *slog.Logger
	ln  *listeners
}

// New validates the configuration and every dependency; it binds nothing (see Start).
func New(cfg Config) (*Server, error) {
	common := settings{hostname: cfg.Hostname, tls: &cfg.TLS, plain: cfg.Listen, implicitTLS: cfg.ListenTLS,
		logger: cfg.Logger, maxMessageBytes: &cfg.MaxMessageBytes, maxRecipients: &cfg.MaxRecipients,
		readTimeout: &cfg.ReadTimeout, writeTimeout: &cfg.WriteTimeout,
		maxConns: &cfg.MaxConnections, maxPerIP: &cfg.MaxConnsPerIP, clock: &cfg.Clock}
	errs := common.problems()
	if cfg.Submitter == nil {
		errs = append(errs, errors.New("submitter is nil"))
	}
	if cfg.Authenticator == nil {
		errs = append(errs, errors.New("authenticator is nil"))
	}
	if cfg.Limiter == nil {
		errs = append(errs, errors.New("rate limiter is nil"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("smtpin: new server: %w", errors.Join(errs...))
	}
	common.setDefaults(defaultMaxRecipients, 50)
	if cfg.SubmitTimeout == 0 {
		cfg.SubmitTimeout = 30 * time.Second
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "smtpin")}
	srv := common.smtpServer(&backend{s: s}, s.log)
	// go-smtp decides insecure AUTH per server; we decide per connection in the session
	// (AuthMechanisms / Auth), so the library must never refuse on its own.
	srv.AllowInsecureAuth = true
	s.ln = common.listeners("smtp", srv, s.log, cfg.OnTranscript)
	return s, nil
}

// Start binds every listener and serves them in the background. Bind errors are reported at
// once, naming the address (nothing stays bound then).
func (s *Server) Start() error { return s.ln.start() }

// Addrs returns the bound addresses: first the STARTTLS listeners, then the implicit TLS ones,
// in configuration order (useful with port 0).
func (s *Server) Addrs() []net.Addr { return s.ln.addrs() }

// Shutdown stops accepting, lets open sessions finish until ctx ends, then closes them.
func (s *Server) Shutdown(ctx context.Context) error { return s.ln.shutdown(ctx) }
