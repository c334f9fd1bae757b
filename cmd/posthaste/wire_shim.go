package main

// The wiring adapters/cli runs on, over today's wiring (openStore, openPlatform, runRoles), so
// this branch builds and passes on its own: settings, openSession, migrateStore, serve and
// dkimVerifier with the signatures the wave's contract fixes. The wire branch writes the real
// ones (wire.go, platform.New for everything serve runs); this file goes when it lands.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posthaste/posthaste/adapters/cli"
	"github.com/posthaste/posthaste/adapters/dkimsign"
	"github.com/posthaste/posthaste/adapters/dnsresolver"
	"github.com/posthaste/posthaste/adapters/kdf"
	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// settings is the configuration table as the command line's flags.
func settings() []cli.Setting {
	out := make([]cli.Setting, 0, len(configVars))
	for _, v := range configVars {
		out = append(out, cli.Setting{Env: v.env, Flag: v.Flag(), Default: v.def, Usage: v.help, Bool: v.def == "false" || v.def == "true"})
	}
	return out
}

// configFrom loads the configuration: the flags of v, then the environment, then the defaults.
func configFrom(v cli.Values) (Config, error) {
	fs := flag.NewFlagSet("posthaste", flag.ContinueOnError)
	addConfigFlags(fs)
	for name, val := range v {
		if err := fs.Set(name, val); err != nil {
			return Config{}, fmt.Errorf("--%s: %w", name, err)
		}
	}
	return loadConfig(os.Getenv, fs)
}

// newLogger writes text logs at the configured level to stderr.
func newLogger(cfg Config) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
}

// migrateStore migrates the store (openStore does) and names its dialect.
func migrateStore(ctx context.Context, v cli.Values) (string, error) {
	cfg, err := configFrom(v)
	if err != nil {
		return "", err
	}
	st, err := openStore(ctx, cfg, newLogger(cfg))
	if err != nil {
		return "", err
	}
	defer st.Close()
	return st.SQL.SQLDialect(), nil
}

// serve runs the configured roles until ctx ends.
func serve(ctx context.Context, v cli.Values) error {
	cfg, err := configFrom(v)
	if err != nil {
		return err
	}
	logger := newLogger(cfg)
	p, err := openPlatform(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer p.Close()
	return runRoles(ctx, cfg, p, logger)
}

// openSession opens the store and composes the application for one admin command. The bus of
// the production stack is opened only when status asks for it (its probes, its dead letters).
func openSession(ctx context.Context, v cli.Values) (*cli.Session, error) {
	cfg, err := configFrom(v)
	if err != nil {
		return nil, err
	}
	if err := cfg.ensureSecretKey(nil); err != nil {
		return nil, err
	}
	logger := newLogger(cfg)
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	bus := &sessionBus{cfg: cfg, logger: logger}
	app, err := newSessionApp(cfg, st, bus, logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &cli.Session{App: app, Close: func() error { return errors.Join(bus.close(), st.Close()) }}, nil
}

func newSessionApp(cfg Config, st *Store, bus *sessionBus, logger *slog.Logger) (*platform.Application, error) {
	secrets, err := st.SQL.Secrets(cfg.SecretKey, rand.Reader, time.Now)
	if err != nil {
		return nil, err
	}
	hasher, err := kdf.New(kdf.DefaultParams, rand.Reader)
	if err != nil {
		return nil, err
	}
	db := st.DB.SQL
	creds, err := sqlstore.NewCredentialIndex(db)
	if err != nil {
		return nil, err
	}
	view, err := sqlstore.NewMessageView(db)
	if err != nil {
		return nil, err
	}
	reports, err := sqlstore.NewStatsReports(db)
	if err != nil {
		return nil, err
	}
	deliveries, err := sqlstore.NewWebhookDeliveries(db, st.DB.Dialect)
	if err != nil {
		return nil, err
	}
	d := platform.Deps{
		Events: st.Events, Acceptor: st.Messages, Bodies: st.SQL, Transcripts: st.SQL, Secrets: secrets, Hasher: hasher,
		Credentials: creds, Messages: view, Stats: reports, WebhookDeliveries: deliveries, Inbound: st.Inbound,
		Config: platform.Config{Hostname: platformHostname(cfg.Hostname), ReturnPathDomain: cfg.ReturnPathDomain, SPFInclude: cfg.SPFInclude,
			ServerSecret: cfg.SecretKey},
		Clock: time.Now, Rand: rand.Reader, Logger: logger,
		ReadSide: sessionReadSide{st: st, projs: platformProjections(), logger: logger},
		Backend:  st.Kind(),
	}
	// A host without /etc/resolv.conf can still run every command but domain verify.
	if r, err := dnsresolver.New(cfg.DNSResolver, "/etc/resolv.conf", dnsresolver.DefaultTimeout); err == nil {
		d.Resolver = r
	}
	for _, p := range st.Pings() {
		d.Probes = append(d.Probes, probe(p.name, p.ping))
	}
	if cfg.Production() {
		for _, name := range []string{"rabbitmq", "redis"} {
			d.Probes = append(d.Probes, probe(name, func(ctx context.Context) error { return bus.ping(ctx, name) }))
		}
		d.BusDeadLetters = bus.deadLetters
	}
	return platform.New(d)
}

// platformHostname is the hostname as platform.New takes it: a domain of two labels at least.
// The default (the machine's name) may have one ("vm", "localhost"), which the old commands
// accepted: it is qualified with .localdomain, as /etc/hosts names such a host.
func platformHostname(h string) string {
	if _, err := tenancy.NormalizeDomain(h); err != nil && !strings.Contains(h, ".") {
		return h + ".localdomain"
	}
	return h
}

// probe is a backend's ping as /readyz reports it: one line, a panic an error.
func probe(name string, ping func(context.Context) error) platform.Probe {
	return platform.Probe{Name: name, Ping: func(ctx context.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		if err := ping(ctx); err != nil {
			return errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		return nil
	}}
}

// sessionBus is the production bus of an admin command, opened on first use.
type sessionBus struct {
	cfg    Config
	logger *slog.Logger
	once   sync.Once
	p      *Platform
	err    error
}

func (b *sessionBus) open(ctx context.Context) (*Platform, error) {
	b.once.Do(func() {
		p := &Platform{Store: &Store{}, Projections: platformProjections()}
		if b.err = openProductionBus(ctx, b.cfg, p, b.logger); b.err != nil {
			p.Close()
			return
		}
		b.p = p
	})
	return b.p, b.err
}

func (b *sessionBus) ping(ctx context.Context, name string) error {
	p, err := b.open(ctx)
	if err != nil {
		return err
	}
	for _, pg := range p.pings {
		if pg.name == name {
			return pg.ping(ctx)
		}
	}
	return fmt.Errorf("no %s backend", name)
}

func (b *sessionBus) deadLetters(ctx context.Context) (map[string]int, error) {
	p, err := b.open(ctx)
	if err != nil {
		return nil, err
	}
	return p.busDeadLetters(ctx)
}

func (b *sessionBus) close() error {
	if b.p == nil {
		return nil
	}
	return b.p.Close()
}

// sessionReadSide is platform.ReadSide over the projection engine of the store.
type sessionReadSide struct {
	st     *Store
	projs  []projections.Projection
	logger *slog.Logger
}

func (r sessionReadSide) Projections() []platform.ProjectionInfo {
	out := make([]platform.ProjectionInfo, len(r.projs))
	for i, p := range r.projs {
		out[i] = platform.ProjectionInfo{Name: p.Name(), Tables: p.Tables()}
	}
	return out
}

func (r sessionReadSide) Head(ctx context.Context) (int64, error) {
	return sqlstore.HeadPosition(ctx, r.st.Events, 0)
}

func (r sessionReadSide) RelayLag(ctx context.Context) (int64, error) {
	return sqlstore.OutboxPending(ctx, r.st.DB.SQL)
}

func (r sessionReadSide) Status(ctx context.Context, names []string) ([]platform.ProjectionStatus, error) {
	sts, err := sqlstore.ReadStatus(ctx, r.st.DB.SQL, r.st.Events, names)
	out := make([]platform.ProjectionStatus, len(sts))
	for i, s := range sts {
		out[i] = platform.ProjectionStatus(s)
	}
	return out, err
}

func (r sessionReadSide) named(names []string) ([]projections.Projection, error) {
	var out []projections.Projection
	for _, n := range names {
		found := false
		for _, p := range r.projs {
			if p.Name() == n {
				out, found = append(out, p), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown projection %q", n)
		}
	}
	return out, nil
}

func (r sessionReadSide) Replay(ctx context.Context, names []string) ([]platform.ReplayResult, error) {
	projs, err := r.named(names)
	if err != nil {
		return nil, err
	}
	// One read of the log for all of them; each is swapped in as soon as all are built.
	res, err := sqlstore.ReplayAll(ctx, r.st.DB.SQL, r.st.DB.Dialect, r.st.Events, projs, r.logger, sqlstore.ProjectionOptions{})
	out := make([]platform.ReplayResult, len(res))
	for i, x := range res {
		out[i] = platform.ReplayResult(x)
	}
	return out, err
}

func (r sessionReadSide) Checksum(ctx context.Context, names []string) ([]platform.ProjectionChecksum, error) {
	projs, err := r.named(names)
	if err != nil {
		return nil, err
	}
	var out []platform.ProjectionChecksum
	for _, p := range projs {
		sum, err := sqlstore.Checksum(ctx, r.st.DB.SQL, r.st.DB.Dialect, p)
		if err != nil {
			return out, err
		}
		c := platform.ProjectionChecksum{Projection: sum.Projection, SHA256: sum.SHA256}
		if sum.Tables != nil {
			c.Tables = make([]platform.TableChecksum, len(sum.Tables))
			for i, t := range sum.Tables {
				c.Tables[i] = platform.TableChecksum(t)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// dkimVerifier verifies with keys from a key file, or DNS through POSTHASTE_DNS_RESOLVER (its
// flag first), without loading the rest of the configuration.
func dkimVerifier(v cli.Values) (platform.DKIMVerifier, error) {
	resolver := os.Getenv("POSTHASTE_DNS_RESOLVER")
	if r, ok := v["dns-resolver"]; ok {
		resolver = r
	}
	return dkimVerify{resolver: resolver}, nil
}

type dkimVerify struct{ resolver string }

func (d dkimVerify) Verify(ctx context.Context, msg, keyFile []byte) ([]platform.DKIMVerdict, error) {
	var lookup dkimsign.LookupTXT
	if keyFile != nil {
		var err error
		if lookup, err = dkimsign.KeyFile(keyFile); err != nil {
			return nil, err
		}
	} else {
		r, err := dnsresolver.New(d.resolver, "/etc/resolv.conf", dnsresolver.DefaultTimeout)
		if err != nil {
			return nil, fmt.Errorf("%w (set POSTHASTE_DNS_RESOLVER to host:port)", err)
		}
		lookup = r.LookupTXT
	}
	vs, err := dkimsign.Verify(ctx, msg, lookup)
	if err != nil {
		return nil, err
	}
	out := make([]platform.DKIMVerdict, len(vs))
	for i, x := range vs {
		out[i] = platform.DKIMVerdict{Domain: x.Domain, Selector: x.Selector, Algorithm: x.Algorithm, Result: platform.DKIMResult(x.Result), Reason: x.Reason}
	}
	return out, nil
}

// printRecord writes one event as the events feed's JSON line {"position": N, …the stored
// envelope} (http_events.go's; the CLI prints its own). It goes with the feed's move to httpapi.
func printRecord(w io.Writer, r events.Record, _ bool) error {
	b, err := events.Marshal(r.Envelope)
	if err != nil {
		return err
	}
	pos := "null"
	if r.Position > 0 {
		pos = strconv.FormatInt(r.Position, 10)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"position":`)
	buf.WriteString(pos)
	if len(b) > 2 {
		buf.WriteByte(',')
	}
	buf.Write(b[1:])
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// old CLI: the tenancy wiring today's serve roles take from the old commands (lifecycle.go's
// newLifecycleDeps); it goes with them when the wire branch lands.
type cliIO struct{ env func(string) string }

type tenancyEnv struct {
	h       *tenancy.Handlers
	secrets tenancy.SecretStore
}

func newTenancyEnv(cfg Config, st *Store, _ cliIO, _ bool) (*tenancyEnv, error) {
	secrets, err := st.SQL.Secrets(cfg.SecretKey, rand.Reader, time.Now)
	if err != nil {
		return nil, err
	}
	hasher, err := kdf.New(kdf.DefaultParams, rand.Reader)
	if err != nil {
		return nil, err
	}
	h, err := tenancy.NewHandlers(tenancy.Deps{
		Store: st.Events, Clock: time.Now, Rand: rand.Reader, Hasher: hasher, Secrets: secrets,
		DNS: tenancy.DNSConfig{SPFInclude: cfg.SPFInclude, ReturnPathDomain: cfg.ReturnPathDomain, Hostname: cfg.Hostname},
	})
	if err != nil {
		return nil, err
	}
	return &tenancyEnv{h: h, secrets: secrets}, nil
}
