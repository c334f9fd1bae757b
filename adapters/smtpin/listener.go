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

	"github.com/emersion/go-smtp"
)

// listeners is the one lifecycle of an SMTP server's sockets, for the submission server and the
// MX alike: Start binds every configured address (plain ones offering STARTTLS, then implicit
// TLS ones) and serves one go-smtp server on all of them, every connection admitted by a
// connTracker (limits and per-connection state); Shutdown stops accepting and lets the open
// sessions finish until its context ends. What a session does is the server's own business
// (session.go, mx_session.go).
type listeners struct {
	errPrefix string // "smtpin: " or "smtpin: mx ": errors name the server
	logName   string // "smtp" or "mx": log lines name the server
	endpoints []endpoint
	tls       *tls.Config // of the implicit TLS listeners
	smtp      *smtp.Server
	conns     *connTracker
	log       *slog.Logger

	mu      sync.Mutex
	bound   []net.Listener
	started bool
	wg      sync.WaitGroup
}

// endpoint is one configured listen address.
type endpoint struct {
	addr        string
	implicitTLS bool // TLS from the first byte (465), else plain with STARTTLS
}

// endpointsOf lists the plain addresses, then the implicit TLS ones, in configuration order.
func endpointsOf(plain, implicitTLS []string) []endpoint {
	var out []endpoint
	for _, a := range plain {
		out = append(out, endpoint{addr: a})
	}
	for _, a := range implicitTLS {
		out = append(out, endpoint{addr: a, implicitTLS: true})
	}
	return out
}

// start binds every endpoint and serves them in the background. A bind error names the
// address, and leaves nothing bound.
func (l *listeners) start() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return errors.New(l.errPrefix + "start: already started")
	}
	var bound []net.Listener
	for _, ep := range l.endpoints {
		nl, err := net.Listen("tcp", ep.addr)
		if err != nil {
			closeAll(bound)
			return fmt.Errorf("%slisten %s: %w", l.errPrefix, ep.addr, err)
		}
		var wrapped net.Listener = &trackingListener{Listener: nl, t: l.conns, implicitTLS: ep.implicitTLS}
		if ep.implicitTLS {
			wrapped = tls.NewListener(wrapped, l.tls)
		}
		bound = append(bound, wrapped)
	}
	l.started = true
	l.bound = bound
	for _, nl := range bound {
		l.wg.Add(1)
		go l.serve(nl)
		l.log.Info(l.logName+" listening", "addr", nl.Addr().String())
	}
	return nil
}

func (l *listeners) serve(nl net.Listener) {
	defer l.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			l.log.Error(l.logName+" listener panicked", "addr", nl.Addr().String(), "panic", fmt.Sprint(r))
		}
	}()
	if err := l.smtp.Serve(nl); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		l.log.Error(l.logName+" listener stopped", "addr", nl.Addr().String(), "err", err)
	}
}

// addrs returns the bound addresses in the order of the endpoints (useful with port 0).
func (l *listeners) addrs() []net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]net.Addr, len(l.bound))
	for i, nl := range l.bound {
		out[i] = nl.Addr()
	}
	return out
}

// shutdown stops accepting, lets open sessions finish until ctx ends, then closes them (and
// returns ctx's error); it returns once every serving goroutine has returned.
func (l *listeners) shutdown(ctx context.Context) error {
	// Close our listeners ourselves first: go-smtp only closes those its Serve already
	// registered, and a Serve goroutine that has not started yet would accept forever.
	l.mu.Lock()
	closeAll(l.bound)
	l.mu.Unlock()
	err := l.smtp.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// go-smtp's Close does nothing once its Shutdown has begun: close what is left here.
		l.conns.closeOpen()
	}
	l.wg.Wait()
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

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Warn("go-smtp: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}
func (p slogPrinter) Println(v ...any) {
	p.log.Warn("go-smtp: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
