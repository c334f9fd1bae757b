package smtpin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

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
	cfg MXConfig
	log *slog.Logger
	ln  *listeners
}

// NewMX validates the configuration; it binds nothing (see Start).
func NewMX(cfg MXConfig) (*MXServer, error) {
	common := settings{hostname: cfg.Hostname, tls: &cfg.TLS, plain: cfg.Listen,
		logger: cfg.Logger, maxMessageBytes: &cfg.MaxMessageBytes, maxRecipients: &cfg.MaxRecipients,
		readTimeout: &cfg.ReadTimeout, writeTimeout: &cfg.WriteTimeout,
		maxConns: &cfg.MaxConnections, maxPerIP: &cfg.MaxConnsPerIP, clock: &cfg.Clock}
	errs := common.problems()
	if cfg.Receiver == nil {
		errs = append(errs, errors.New("report receiver is nil"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("smtpin: new mx server: %w", errors.Join(errs...))
	}
	common.setDefaults(100, 20)
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = 30 * time.Second
	}
	m := &MXServer{cfg: cfg, log: cfg.Logger.With("component", "smtpin-mx")}
	srv := common.smtpServer(&mxBackend{m: m}, m.log)
	// go-smtp applies its line limit (2000) to DATA too; reports from broken MTAs may carry
	// longer lines, and refusing them would lose them. Still bounded, against memory abuse.
	srv.MaxLineLength = 64 << 10
	m.ln = common.listeners("mx", srv, m.log, nil)
	return m, nil
}

// Start binds every listener and serves them in the background; a bind error names the address
// and leaves nothing bound.
func (m *MXServer) Start() error { return m.ln.start() }

// Addrs returns the bound addresses in configuration order.
func (m *MXServer) Addrs() []net.Addr { return m.ln.addrs() }

// Shutdown stops accepting, lets open sessions finish until ctx ends, then closes them.
func (m *MXServer) Shutdown(ctx context.Context) error { return m.ln.shutdown(ctx) }
