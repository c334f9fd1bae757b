// Package dnsresolver is the one DNS client of Posthaste, built on github.com/miekg/dns: it
// queries POSTHASTE_DNS_RESOLVER (host:port, a comma list tried in order) or the nameservers
// of /etc/resolv.conf, over UDP with a TCP retry when the answer is truncated, and the next
// server when one fails. One Resolver implements the DNS ports of domain verification
// (tenancy.Resolver), the SPF evaluator (spf.Resolver) and outbound delivery (the MX and
// address lookups of adapters/smtpout's Resolver port), and answers TLSA lookups with the
// resolver's AD bit for DANE.
//
// It owns DNS wire queries and, when asked to (WithCache), a cache of answers for their TTL.
// It must not interpret records beyond decoding them, nor validate DNSSEC itself: it reports
// what the resolver it asks says (the AD bit).
package dnsresolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver queries one or more DNS servers. It is safe for concurrent use.
type Resolver struct {
	servers []string // host:port
	timeout time.Duration
	cache   *cache // nil: every lookup asks a server
	now     func() time.Time
}

// DefaultTimeout bounds one query to one server.
const DefaultTimeout = 5 * time.Second

// ednsSize is the UDP payload size offered (EDNS0): the DNS flag day 2020 value, which avoids
// IP fragmentation; a larger answer comes truncated and is asked again over TCP.
const ednsSize = 1232

// Option configures a Resolver.
type Option func(*Resolver)

// WithCache keeps answers for their TTL, at most MaxCacheTTL; a name that does not exist or
// has no record of the type for NegativeCacheTTL. A failed lookup is not kept. It suits
// delivery, where a burst of mail to one domain should cost one lookup; domain verification
// goes without, so that it sees what is published now.
func WithCache() Option {
	return func(r *Resolver) { r.cache = newCache() }
}

// WithClock replaces the clock of the cache (tests).
func WithClock(now func() time.Time) Option {
	return func(r *Resolver) { r.now = now }
}

// New queries servers (host:port, a comma list tried in order) when it is not empty, else the
// nameservers of resolvConf (normally /etc/resolv.conf). A timeout <= 0 is DefaultTimeout.
func New(servers, resolvConf string, timeout time.Duration, opts ...Option) (*Resolver, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	r := &Resolver{timeout: timeout, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	if r.now == nil {
		return nil, errors.New("dnsresolver: nil clock")
	}
	if servers != "" {
		for _, s := range strings.Split(servers, ",") {
			s = strings.TrimSpace(s)
			if _, _, err := net.SplitHostPort(s); err != nil {
				return nil, fmt.Errorf("dnsresolver: server %q is not host:port: %w", s, err)
			}
			r.servers = append(r.servers, s)
		}
		return r, nil
	}
	cc, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil {
		return nil, fmt.Errorf("dnsresolver: read %s: %w", resolvConf, err)
	}
	for _, s := range cc.Servers {
		r.servers = append(r.servers, net.JoinHostPort(s, cc.Port))
	}
	if len(r.servers) == 0 {
		return nil, fmt.Errorf("dnsresolver: %s lists no nameserver", resolvConf)
	}
	return r, nil
}

// Servers lists the servers queried, in order.
func (r *Resolver) Servers() []string { return append([]string(nil), r.servers...) }

// RcodeError is a DNS failure answer (SERVFAIL, REFUSED...): the lookup failed.
type RcodeError struct {
	Name, Type, Server string
	Rcode              int
}

func (e *RcodeError) Error() string {
	return fmt.Sprintf("dnsresolver: %s %s at %s: %s", e.Type, e.Name, e.Server, dns.RcodeToString[e.Rcode])
}

// answer is what a server said to one question: the answer section (for a name that does
// not exist, whatever CNAMEs led there), whether the name exists, and the AD bit.
type answer struct {
	rrs           []dns.RR
	nxdomain      bool
	authenticated bool
	server        string
}

// ask returns the answer to name/qtype from the cache or the first server that answers
// NOERROR or NXDOMAIN; any other answer or a network error moves on to the next server, and
// when none answers, every failure is in the error.
func (r *Resolver) ask(ctx context.Context, name string, qtype uint16) (answer, error) {
	var key string
	if r.cache != nil {
		key = cacheKey(name, qtype)
		if a, ok := r.cache.get(key, r.now()); ok {
			return a, nil
		}
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.AuthenticatedData = true // ask for the AD bit (RFC 6840 section 5.7)
	m.SetEdns0(ednsSize, false)
	var errs []error
	for _, srv := range r.servers {
		in, err := r.exchange(ctx, m, srv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch in.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
			a := answer{rrs: in.Answer, nxdomain: in.Rcode == dns.RcodeNameError, authenticated: in.AuthenticatedData, server: srv}
			if r.cache != nil {
				r.cache.put(key, a, r.now())
			}
			return a, nil
		default:
			errs = append(errs, &RcodeError{Name: name, Type: dns.TypeToString[qtype], Server: srv, Rcode: in.Rcode})
		}
	}
	return answer{}, errors.Join(errs...)
}

func (r *Resolver) exchange(ctx context.Context, m *dns.Msg, srv string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	c := &dns.Client{Net: "udp", Timeout: r.timeout}
	in, _, err := c.ExchangeContext(ctx, m, srv)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, srv)
	}
	if err != nil {
		return nil, fmt.Errorf("dnsresolver: %s %s at %s: %w", dns.TypeToString[m.Question[0].Qtype], strings.TrimSuffix(m.Question[0].Name, "."), srv, err)
	}
	return in, nil
}

// query returns the answer records for name/qtype; NXDOMAIN and NODATA give none.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	a, err := r.ask(ctx, name, qtype)
	return a.rrs, err
}

func trimDot(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }
