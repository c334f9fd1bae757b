package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posthaste/posthaste/adapters/dkimsign"
	"github.com/posthaste/posthaste/adapters/dnsresolver"
	"github.com/posthaste/posthaste/adapters/smtpin"
	"github.com/posthaste/posthaste/adapters/smtpout"
	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/sendpolicy"

	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/suppression"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/tenancyview"
	"github.com/prometheus/client_golang/prometheus"
)

// Wiring of the message lifecycle: the smtp role (submission) and the worker role (delivery).

// messageStore is what the lifecycle needs of the concrete store besides the event log: the
// durable acceptance (body + events in one transaction), bodies and transcripts.
type messageStore interface {
	submission.Acceptor
	delivery.Bodies
	delivery.Transcripts
	Transcript(ctx context.Context, id string) (string, error)
}

// lifecycleDeps are the domain services both roles share.
type lifecycleDeps struct {
	tenancy      *tenancy.Handlers
	secrets      tenancy.SecretStore
	suppressions *suppression.Handler
	access       *sendpolicy.Policy
	recorder     domain.Recorder
	// workers are this process's delivery workers (role worker), offered the messages the smtp
	// role accepts. Set while the roles are built, read only once they run.
	workers []*delivery.Worker
}

// offer hands messages just accepted in this process to its workers, so delivery starts
// without waiting for the delivery queue projection; without a local worker it only wakes.
func (d *lifecycleDeps) offer(ids []string) {
	for _, w := range d.workers {
		w.Offer(ids...)
	}
}

func newLifecycleDeps(cfg Config, p *Platform) (*lifecycleDeps, error) {
	// openStore loaded (or generated) the embedded default's key into its own copy of cfg.
	if err := cfg.ensureSecretKey(nil); err != nil {
		return nil, err
	}
	te, err := newTenancyEnv(cfg, p.Store, cliIO{env: os.Getenv}, false)
	if err != nil {
		return nil, err
	}
	rec := domain.Recorder{Clock: time.Now}
	sup, err := suppression.NewHandler(p.Events, rec)
	if err != nil {
		return nil, err
	}
	acc, err := sendpolicy.New(te.h, viewDirectory{p.DB.SQL}, sup, p.Counter, p.Events, rec)
	if err != nil {
		return nil, err
	}
	return &lifecycleDeps{tenancy: te.h, secrets: te.secrets, suppressions: sup, access: acc, recorder: rec}, nil
}

// viewDirectory answers credential lookups from the tenancy read model (projections/tenancyview).
type viewDirectory struct{ db *sql.DB }

func fromView(c tenancyview.Credential) tenancy.Credential {
	return tenancy.Credential{ID: c.ID, ServerID: c.ServerID, Type: c.Type, Name: c.Name, Username: c.Username,
		Hash: c.Hash, KeyPrefix: c.KeyPrefix, CIDR: c.CIDR, Hold: c.Hold, Revoked: c.Revoked}
}

func (v viewDirectory) CredentialByUsername(ctx context.Context, username string) (tenancy.Credential, bool, error) {
	c, ok, err := tenancyview.CredentialByUsername(ctx, v.db, username)
	return fromView(c), ok, err
}

func (v viewDirectory) ActiveCredentials(ctx context.Context, typ string) ([]tenancy.Credential, error) {
	cs, err := tenancyview.ActiveCredentials(ctx, v.db, typ)
	out := make([]tenancy.Credential, len(cs))
	for i, c := range cs {
		out[i] = fromView(c)
	}
	return out, err
}

// buildSMTPRole serves submission on POSTHASTE_SMTP_LISTEN / POSTHASTE_SMTPS_LISTEN.
func buildSMTPRole(cfg Config, p *Platform, deps *lifecycleDeps, log *slog.Logger) (role, error) {
	if p.Messages == nil {
		return role{}, errors.New("smtp: the store cannot accept messages")
	}
	cert, err := smtpin.LoadCertificate(cfg.TLSCert, cfg.TLSKey, cfg.Hostname, cfg.DataDir, time.Now())
	if err != nil {
		return role{}, fmt.Errorf("smtp: certificate: %w", err)
	}
	h, err := submission.NewHandler(submission.Config{
		Hostname: cfg.Hostname, Domains: deps.access, Acceptor: p.Messages, Holds: deps.access,
	})
	if err != nil {
		return role{}, err
	}
	limiter := p.AuthLimiter
	if limiter == nil {
		limiter = smtpin.NewMemoryLimiter(authFailures, authFailureWindow, time.Now)
	}
	srv, err := smtpin.New(smtpin.Config{
		Hostname:          cfg.Hostname,
		Listen:            cfg.SMTPListen,
		ListenTLS:         cfg.SMTPSListen,
		TLS:               &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		AllowInsecureAuth: cfg.SMTPAllowInsecureAuth,
		MaxMessageBytes:   cfg.MaxMessageSize,
		Submitter:         wakingSubmitter{h: h, wake: p.wakeWorkers, offer: deps.offer},
		Authenticator:     deps.access,
		Limiter:           limiter,
		Logger:            log,
	})
	if err != nil {
		return role{}, err
	}
	return role{"smtp", func(ctx context.Context) error {
		if err := srv.Start(); err != nil {
			return err
		}
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	}}, nil
}

// Failed SMTP AUTH attempts allowed per client IP and window before 454 4.7.0.
const (
	authFailures      = 5
	authFailureWindow = 10 * time.Minute
)

// wakingSubmitter hands the messages of an acceptance to the local workers, so delivery starts
// at once, and wakes the others.
type wakingSubmitter struct {
	h     *submission.Handler
	wake  func()
	offer func(ids []string)
}

func (w wakingSubmitter) Submit(ctx context.Context, s submission.Submission) (submission.Result, error) {
	res, err := w.h.Submit(ctx, s)
	if err == nil {
		if w.offer != nil {
			w.offer(res.MessageIDs)
		}
		if w.wake != nil {
			w.wake()
		}
	}
	return res, err
}

// buildWorkerRole runs delivery attempts for due messages.
func buildWorkerRole(cfg Config, p *Platform, deps *lifecycleDeps, log *slog.Logger) (role, error) {
	if p.Messages == nil {
		return role{}, errors.New("worker: the store has no message bodies")
	}
	policy := delivery.RetryPolicy{Initial: cfg.RetryInitial, Factor: cfg.RetryFactor, MaxAttempts: cfg.RetryMaxAttempts}
	decider, err := delivery.NewDecider(policy)
	if err != nil {
		return role{}, err
	}
	ocfg := smtpout.Config{Hostname: cfg.Hostname, ReturnPathDomain: cfg.ReturnPathDomain, Logger: log}
	if len(cfg.SMTPRelays) > 0 {
		relays, err := smtpout.ParseRelays(strings.Join(cfg.SMTPRelays, ","))
		if err != nil {
			return role{}, fmt.Errorf("worker: POSTHASTE_SMTP_RELAYS: %w", err)
		}
		ocfg.Relays = relays
	} else {
		r, err := dnsresolver.New(cfg.DNSResolver, "/etc/resolv.conf", 10*time.Second, dnsresolver.WithCache())
		if err != nil {
			return role{}, fmt.Errorf("worker: POSTHASTE_DNS_RESOLVER: %w", err)
		}
		ocfg.Resolver = r
	}
	client, err := smtpout.New(ocfg)
	if err != nil {
		return role{}, err
	}
	queue, err := sqlstore.NewDeliveryQueue(p.DB.SQL, p.DB.Dialect)
	if err != nil {
		return role{}, err
	}
	host, _ := os.Hostname()
	if err := cfg.ensureSecretKey(nil); err != nil { // the X-Posthaste-Ref key (mx.go refKey)
		return role{}, err
	}
	w, err := delivery.NewWorker(delivery.WorkerConfig{
		Owner:       host + ":" + strconv.Itoa(os.Getpid()) + ":" + events.NewID(time.Now(), nil)[24:],
		Store:       p.Events,
		Queue:       queue,
		Bodies:      p.Messages,
		Signer:      newDKIMSigner(deps.tenancy, deps.secrets),
		Sender:      smtpSender{client},
		Transcripts: p.Messages,
		Suppressor:  deps.suppressions,
		Decider:     decider,
		Recorder:    deps.recorder,
		Logger:      log,
		Observer:    p.attempts,
		Ref:         refField(cfg.SecretKey),
	})
	if err != nil {
		return role{}, err
	}
	p.addWaker(w.Wake)
	deps.workers = append(deps.workers, w)
	mh, err := message.NewHandler(p.Events, deps.recorder)
	if err != nil {
		return role{}, err
	}
	return role{"worker", func(ctx context.Context) error {
		defer client.Close()
		if addr := cfg.PprofListen; addr != "" {
			stop, err := servePprof(addr, log)
			if err != nil {
				return err
			}
			defer stop()
		}
		go message.RunHoldExpiry(ctx, queue, mh, time.Minute, log)
		return w.Run(ctx)
	}}, nil
}

// servePprof serves net/http/pprof on addr, for profiling a worker under load. It is off unless
// POSTHASTE_PPROF_LISTEN names an address (keep it on loopback: profiles reveal memory).
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("worker: POSTHASTE_PPROF_LISTEN: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("worker: pprof listener stopped", "error", err)
		}
	}()
	return func() { srv.Close() }, nil
}

// smtpSender adapts the SMTP client to the worker's Sender port.
type smtpSender struct{ c *smtpout.Client }

func (s smtpSender) Send(ctx context.Context, e delivery.Envelope) delivery.AttemptResult {
	return s.c.Deliver(ctx, smtpout.Message{ID: e.MessageID, MailFrom: e.MailFrom, RcptTo: e.RcptTo, Data: e.Body})
}

// dkimSigner signs with the active keys of the From domain, when it is a sending domain of the
// message's server. Parsed keys are cached for a minute (rotation takes effect within it).
type dkimSigner struct {
	tenancy *tenancy.Handlers
	secrets tenancy.SecretStore

	mu    sync.Mutex
	cache map[string]cachedKeys
}

type cachedKeys struct {
	keys []dkimsign.Key
	at   time.Time
}

const dkimKeyCacheTTL = time.Minute

func newDKIMSigner(t *tenancy.Handlers, s tenancy.SecretStore) *dkimSigner {
	return &dkimSigner{tenancy: t, secrets: s, cache: map[string]cachedKeys{}}
}

func (d *dkimSigner) Sign(ctx context.Context, serverID, fromDomain string, body []byte) ([]byte, []events.DKIMSignature, error) {
	keys, err := d.keys(ctx, serverID, fromDomain)
	if err != nil || len(keys) == 0 {
		return body, nil, err
	}
	s, err := dkimsign.New(keys...)
	if err != nil {
		return nil, nil, err
	}
	return s.Sign(body)
}

func (d *dkimSigner) keys(ctx context.Context, serverID, fromDomain string) ([]dkimsign.Key, error) {
	k := serverID + "|" + fromDomain
	d.mu.Lock()
	c, ok := d.cache[k]
	d.mu.Unlock()
	if ok && time.Since(c.at) < dkimKeyCacheTTL {
		return c.keys, nil
	}
	dom, err := d.tenancy.GetDomain(ctx, fromDomain)
	if errors.Is(err, tenancy.ErrNotFound) || errors.Is(err, tenancy.ErrInvalid) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []dkimsign.Key
	if dom.ServerID == serverID {
		for _, pk := range dom.SigningKeys() {
			der, err := d.secrets.GetSecret(ctx, pk.SecretID)
			if err != nil {
				return nil, fmt.Errorf("dkim key %s of %s: %w", pk.Selector, dom.Name, err)
			}
			priv, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				return nil, fmt.Errorf("dkim key %s of %s: %w", pk.Selector, dom.Name, err)
			}
			signer, ok := priv.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("dkim key %s of %s: not a signing key", pk.Selector, dom.Name)
			}
			keys = append(keys, dkimsign.Key{Domain: dom.Name, Selector: pk.Selector, Signer: signer})
		}
	}
	d.mu.Lock()
	d.cache[k] = cachedKeys{keys: keys, at: time.Now()}
	d.mu.Unlock()
	return keys, nil
}

// lifecycle builds the shared lifecycle services once per platform.
func (p *Platform) lifecycle(cfg Config) (*lifecycleDeps, error) {
	if p.lifecycleDeps == nil {
		d, err := newLifecycleDeps(cfg, p)
		if err != nil {
			return nil, err
		}
		p.lifecycleDeps = d
	}
	return p.lifecycleDeps, nil
}

func (p *Platform) addWaker(f func()) { p.wakers = append(p.wakers, f) }

func (p *Platform) wakeWorkers() {
	for _, f := range p.wakers {
		f()
	}
}

// attemptMetrics counts delivery attempts by outcome (delivery.Observer).
type attemptMetrics struct {
	byOutcome *prometheus.CounterVec
	seconds   prometheus.Histogram
}

func newAttemptMetrics() *attemptMetrics {
	return &attemptMetrics{
		byOutcome: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthaste_delivery_attempts_total", Help: "Delivery attempts by result (delivered, deferred, bounced).",
		}, []string{"result"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "posthaste_delivery_attempt_seconds", Help: "Duration of one delivery attempt.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
}

func (m *attemptMetrics) Attempted(o delivery.Outcome, d time.Duration) {
	m.byOutcome.WithLabelValues(string(o)).Inc()
	m.seconds.Observe(d.Seconds())
}

func (m *attemptMetrics) register(reg prometheus.Registerer, p *Platform) {
	reg.MustRegister(m.byOutcome, m.seconds, queueCollector{p})
}

var (
	descQueueDepth  = prometheus.NewDesc("posthaste_queue_depth", "Messages waiting for delivery (queued or deferred).", nil, nil)
	descQueueOldest = prometheus.NewDesc("posthaste_queue_oldest_age_seconds", "Age of the oldest message waiting for delivery.", nil, nil)
)

// queueCollector reads the delivery queue's depth and oldest message at scrape time.
type queueCollector struct{ p *Platform }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descQueueDepth
	ch <- descQueueOldest
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	q, err := sqlstore.NewDeliveryQueue(c.p.DB.SQL, c.p.DB.Dialect)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	depth, oldest, err := q.Stats(ctx)
	if err != nil {
		return
	}
	age := 0.0
	if oldest > 0 {
		age = time.Since(time.UnixMicro(oldest)).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(descQueueDepth, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(descQueueOldest, prometheus.GaugeValue, age)
}
