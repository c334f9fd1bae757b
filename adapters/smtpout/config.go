// Package smtpout delivers messages to remote mail servers over SMTP with emersion/go-smtp's
// client: MX lookup through its Resolver port (adapters/dnsresolver), implicit MX and null MX
// (RFC 7505), or smart hosts; opportunistic STARTTLS with a clear-text retry when the
// handshake fails; connection reuse per destination with an idle timeout; a per-destination
// concurrency limit; a VERP return path per message; and a transcript of every attempt with
// AUTH redacted and the message content left out.
//
// It owns sockets and the SMTP dialogue only. It does not decide what an attempt means (that
// is domain/delivery's Decider), store transcripts, sign messages or append events. It must
// not import another adapter.
package smtpout

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain/delivery"
)

// Relay is one smart host (POSTHASTE_SMTP_RELAYS entry).
type Relay struct {
	Host        string
	Port        int
	Username    string // "" = no AUTH
	Password    string
	ImplicitTLS bool // smtps://
}

// Addr returns "host:port".
func (r Relay) Addr() string { return net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) }

// String returns the relay URL without its password.
func (r Relay) String() string {
	scheme := "smtp"
	if r.ImplicitTLS {
		scheme = "smtps"
	}
	user := ""
	if r.Username != "" {
		user = url.User(r.Username).String() + ":***@"
	}
	return scheme + "://" + user + r.Addr()
}

// ParseRelays parses a comma list of `smtp://[user:pass@]host:port` or `smtps://...` URLs.
// The port defaults to 25 (smtp) or 465 (smtps). Every problem is reported at once.
func ParseRelays(spec string) ([]Relay, error) {
	var out []Relay
	var errs []error
	for _, raw := range strings.Split(spec, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("relay %q: %w", redactURL(raw), errors.Unwrap(err)))
			continue
		}
		r := Relay{Host: u.Hostname()}
		switch u.Scheme {
		case "smtp":
			r.Port = 25
		case "smtps":
			r.Port, r.ImplicitTLS = 465, true
		default:
			errs = append(errs, fmt.Errorf("relay %q: scheme must be smtp or smtps", redactURL(raw)))
			continue
		}
		if r.Host == "" {
			errs = append(errs, fmt.Errorf("relay %q: no host", redactURL(raw)))
			continue
		}
		if p := u.Port(); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				errs = append(errs, fmt.Errorf("relay %q: bad port %q", redactURL(raw), p))
				continue
			}
			r.Port = n
		}
		if u.User != nil {
			r.Username = u.User.Username()
			r.Password, _ = u.User.Password()
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("relay %q: unexpected path or query", redactURL(raw)))
			continue
		}
		out = append(out, r)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("smtpout: parse relays: %w", errors.Join(errs...))
	}
	return out, nil
}

func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndexByte(raw, '@'); i >= 0 {
		return "***@" + raw[i+1:]
	}
	return raw
}

// Config configures a Client. Zero durations take the defaults noted.
type Config struct {
	// Hostname is the EHLO name (POSTHASTE_HOSTNAME). Required.
	Hostname string
	// ReturnPathDomain (POSTHASTE_RETURN_PATH_DOMAIN), when set, makes the envelope sender of
	// every message its VERP return path (delivery.EncodeReturnPath); else Message.MailFrom
	// is used as given.
	ReturnPathDomain string
	// Relays (POSTHASTE_SMTP_RELAYS, see ParseRelays), when set, receive every message in
	// order of preference (the next is tried when one cannot be reached); no MX lookup is done.
	Relays []Relay
	// Resolver is required for MX delivery (no Relays): adapters/dnsresolver asking
	// POSTHASTE_DNS_RESOLVER, with its cache.
	Resolver Resolver
	// MXPort is FOR TESTS ONLY: the port dialled on MX hosts instead of 25, so that a test can
	// put a sink on 127.0.0.1:<random> behind a local DNS server. 0 means 25.
	MXPort int
	// PreferIPv6 tries an MX host's AAAA addresses before its A addresses (default A first).
	PreferIPv6 bool
	// MaxHosts bounds the addresses tried per attempt (default 5).
	MaxHosts int

	// MXTLSConfig is the base configuration of opportunistic STARTTLS to MX hosts. nil means
	// no certificate verification (RFC 7435 opportunistic security: encrypt when possible).
	MXTLSConfig *tls.Config
	// RelayTLSConfig is used with smart hosts (STARTTLS and smtps). nil means the system roots
	// verifying the relay's host name.
	RelayTLSConfig *tls.Config
	// DisableSTARTTLS never tries STARTTLS (testing and broken networks only).
	DisableSTARTTLS bool

	ConnectTimeout time.Duration // default 30s
	CommandTimeout time.Duration // per command, default 5m (RFC 5321)
	DataTimeout    time.Duration // for the reply after the final dot, default 10m
	// IdleTimeout closes a pooled connection unused this long (default 30s). Negative
	// disables reuse: every attempt opens and closes its own connection.
	IdleTimeout time.Duration
	// MaxIdlePerDestination bounds pooled connections per destination (default 4).
	MaxIdlePerDestination int
	// Concurrency limits simultaneous sessions per destination: an MX host name
	// ("mx1.example.com") or a smart host ("relay:host:port"). Zero value:
	// delivery.DefaultDestinationConcurrency each.
	Concurrency delivery.ConcurrencyPolicy

	Logger *slog.Logger     // required
	Now    func() time.Time // default time.Now
}

func (c *Config) validate() error {
	var errs []error
	if c.Hostname == "" || strings.ContainsAny(c.Hostname, " \r\n") {
		errs = append(errs, fmt.Errorf("hostname %q is empty or invalid", c.Hostname))
	}
	if len(c.Relays) == 0 && c.Resolver == nil {
		errs = append(errs, errors.New("no relays and no resolver: MX delivery needs a resolver"))
	}
	if c.Logger == nil {
		errs = append(errs, errors.New("nil logger"))
	}
	if c.MXPort < 0 || c.MXPort > 65535 {
		errs = append(errs, fmt.Errorf("mx port %d out of range", c.MXPort))
	}
	if c.ReturnPathDomain != "" {
		if _, err := delivery.EncodeReturnPath("x", c.ReturnPathDomain); err != nil {
			errs = append(errs, fmt.Errorf("return path domain: %w", err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("smtpout: invalid config: %w", errors.Join(errs...))
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 30 * time.Second
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = 5 * time.Minute
	}
	if c.DataTimeout <= 0 {
		c.DataTimeout = 10 * time.Minute
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.MaxIdlePerDestination <= 0 {
		c.MaxIdlePerDestination = 4
	}
	if c.MaxHosts <= 0 {
		c.MaxHosts = 5
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}
