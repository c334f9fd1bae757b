package smtpin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthaste/posthaste/domain/inbound"
)

// ReportReceiver takes what the MX listener accepts (implemented by *inbound.Intake).
//
// Receive must make the message durable before it returns nil: only then does the listener
// answer 250. Process runs the intake workflow on a stored report; its failure leaves the
// report stored (pending) and never changes the reply.
type ReportReceiver interface {
	AcceptsDomain(domain string) bool
	Receive(ctx context.Context, env inbound.Envelope) (string, error)
	Process(ctx context.Context, id string) (inbound.Report, error)
}

// MXConfig wires an MXServer: the inbound listener for the return-path domain (bounces,
// feedback reports, automatic replies). Zero limits take the documented defaults.
type MXConfig struct {
	Hostname        string      // greeting and EHLO name; required
	Listen          []string    // POSTHASTE_MX_LISTEN; required
	TLS             *tls.Config // required: STARTTLS is always offered
	MaxMessageBytes int64       // SIZE; default 25 MB
	MaxRecipients   int         // per message; default 100
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	StoreTimeout    time.Duration // how long storing and processing one report may take; default 30s
	MaxConnections  int           // default 1000
	MaxConnsPerIP   int           // default 20

	Receiver ReportReceiver // required
	Logger   *slog.Logger   // required
	Clock    func() time.Time
}

// MXServer accepts mail only for the return-path domain, with the same STARTTLS, size limits
// and smuggling guard as submission, and no AUTH: nothing it accepts is ever relayed.
type MXServer struct {
	cfg  MXConfig
	log  *slog.Logger
	smtp *smtp.Server
	core *Server // connection tracking and limits (shared with the submission server's code)

	mu        sync.Mutex
	listeners []net.Listener
	started   bool
	wg        sync.WaitGroup
}

// NewMX validates the configuration; it binds nothing (see Start).
func NewMX(cfg MXConfig) (*MXServer, error) {
	var errs []error
	if strings.TrimSpace(cfg.Hostname) == "" {
		errs = append(errs, errors.New("hostname is empty"))
	}
	if cfg.TLS == nil || (len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetCertificate == nil) {
		errs = append(errs, errors.New("tls config with a certificate is required"))
	}
	if len(cfg.Listen) == 0 {
		errs = append(errs, errors.New("no listen address"))
	}
	if cfg.Receiver == nil {
		errs = append(errs, errors.New("report receiver is nil"))
	}
	if cfg.Logger == nil {
		errs = append(errs, errors.New("logger is nil"))
	}
	if cfg.MaxMessageBytes < 0 || cfg.MaxRecipients < 0 || cfg.MaxConnections < 0 || cfg.MaxConnsPerIP < 0 {
		errs = append(errs, errors.New("negative limit"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("smtpin: new mx server: %w", errors.Join(errs...))
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = defaultMaxMessageBytes
	}
	if cfg.MaxRecipients == 0 {
		cfg.MaxRecipients = 100
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 5 * time.Minute
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = time.Minute
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = 30 * time.Second
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = 1000
	}
	if cfg.MaxConnsPerIP == 0 {
		cfg.MaxConnsPerIP = 20
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	log := cfg.Logger.With("component", "smtpin-mx")
	tlsCfg := cfg.TLS.Clone()
	if tlsCfg.MinVersion == 0 {
		tlsCfg.MinVersion = tls.VersionTLS12
	}
	cfg.TLS = tlsCfg
	m := &MXServer{cfg: cfg, log: log}
	// The connection tracker of the submission server, configured with the MX limits.
	m.core = &Server{cfg: Config{Hostname: cfg.Hostname, MaxConnections: cfg.MaxConnections,
		MaxConnsPerIP: cfg.MaxConnsPerIP, Clock: cfg.Clock}, log: log, perIP: map[string]int{}}

	srv := smtp.NewServer(&mxBackend{m: m})
	srv.Domain = cfg.Hostname
	srv.TLSConfig = tlsCfg
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = cfg.MaxRecipients
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.WriteTimeout
	srv.EnableSMTPUTF8 = true
	// go-smtp applies its line limit (2000) to DATA too; reports from broken MTAs may carry
	// longer lines, and refusing them would lose them. Still bounded, against memory abuse.
	srv.MaxLineLength = 64 << 10
	srv.ErrorLog = slogPrinter{log}
	m.smtp = srv
	return m, nil
}

// Start binds every listener and serves them in the background; a bind error leaves nothing bound.
func (m *MXServer) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return errors.New("smtpin: mx start: already started")
	}
	var ls []net.Listener
	for _, a := range m.cfg.Listen {
		l, err := net.Listen("tcp", a)
		if err != nil {
			closeAll(ls)
			return fmt.Errorf("smtpin: mx listen %s: %w", a, err)
		}
		ls = append(ls, &trackingListener{Listener: l, s: m.core})
	}
	m.started = true
	m.listeners = ls
	for _, l := range ls {
		m.wg.Add(1)
		go func(l net.Listener) {
			defer m.wg.Done()
			defer func() {
				if r := recover(); r != nil {
					m.log.Error("mx listener panicked", "addr", l.Addr().String(), "panic", fmt.Sprint(r))
				}
			}()
			if err := m.smtp.Serve(l); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				m.log.Error("mx listener stopped", "addr", l.Addr().String(), "err", err)
			}
		}(l)
		m.log.Info("mx listening", "addr", l.Addr().String())
	}
	return nil
}

// Addrs returns the bound addresses in configuration order.
func (m *MXServer) Addrs() []net.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]net.Addr, len(m.listeners))
	for i, l := range m.listeners {
		out[i] = l.Addr()
	}
	return out
}

// Shutdown stops accepting, lets open sessions finish until ctx ends, then closes them.
func (m *MXServer) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	closeAll(m.listeners)
	m.mu.Unlock()
	err := m.smtp.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		m.smtp.Close()
	}
	m.wg.Wait()
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
