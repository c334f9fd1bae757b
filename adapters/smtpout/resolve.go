package smtpout

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// ErrNoSuchDomain is wrapped by Resolver errors for a name that does not exist (NXDOMAIN).
var ErrNoSuchDomain = errors.New("no such domain")

// Resolver is the DNS port of the client.
//
// Contract: LookupMX returns the MX records of a domain in any order (a null MX is
// Host "." with Pref 0), an empty list when the domain exists without MX, and an error
// wrapping ErrNoSuchDomain when the domain does not exist; any other error is temporary.
// LookupIP returns the A and AAAA addresses of a host (empty when it has none) with the same
// error rules.
type Resolver interface {
	LookupMX(ctx context.Context, domain string) ([]*net.MX, error)
	LookupIP(ctx context.Context, host string) ([]net.IP, error)
}

// DNSResolver asks one DNS server (POSTHASTE_DNS_RESOLVER) with miekg/dns, over UDP with a
// TCP retry on truncation. Answers are cached for their TTL (at most MaxCacheTTL; a missing
// name for NegativeCacheTTL), so that a burst of mail to one domain costs one lookup. It is
// safe for concurrent use.
type DNSResolver struct {
	server  string
	timeout time.Duration
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	rrs     []dns.RR
	err     error
	expires time.Time
}

// Cache bounds.
const (
	MaxCacheTTL      = 10 * time.Minute
	NegativeCacheTTL = 30 * time.Second
	maxCacheEntries  = 10000
)

// NewDNSResolver returns a resolver asking server ("host:port"); "" means the first
// nameserver of /etc/resolv.conf.
func NewDNSResolver(server string, timeout time.Duration) (*DNSResolver, error) {
	if server == "" {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(cc.Servers) == 0 {
			return nil, fmt.Errorf("smtpout: dns resolver: no server given and none in /etc/resolv.conf: %v", err)
		}
		server = net.JoinHostPort(cc.Servers[0], cc.Port)
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		return nil, fmt.Errorf("smtpout: dns resolver %q: want host:port: %w", server, err)
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &DNSResolver{server: server, timeout: timeout, now: time.Now, cache: map[string]cached{}}, nil
}

// SetClock replaces the clock of the cache (tests).
func (r *DNSResolver) SetClock(now func() time.Time) { r.now = now }

func (r *DNSResolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	key := strings.ToLower(dns.Fqdn(name)) + " " + dns.TypeToString[qtype]
	now := r.now()
	r.mu.Lock()
	if c, ok := r.cache[key]; ok && now.Before(c.expires) {
		r.mu.Unlock()
		return c.rrs, c.err
	}
	r.mu.Unlock()
	rrs, err := r.exchange(ctx, name, qtype)
	var ttl time.Duration
	switch {
	case err == nil:
		ttl = MaxCacheTTL
		for _, rr := range rrs {
			ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
		}
	case errors.Is(err, ErrNoSuchDomain):
		ttl = NegativeCacheTTL
	}
	if ttl > 0 {
		r.mu.Lock()
		if len(r.cache) >= maxCacheEntries {
			for k, c := range r.cache {
				if !now.Before(c.expires) {
					delete(r.cache, k)
				}
			}
			if len(r.cache) >= maxCacheEntries {
				r.cache = map[string]cached{}
			}
		}
		r.cache[key] = cached{rrs: rrs, err: err, expires: now.Add(ttl)}
		r.mu.Unlock()
	}
	return rrs, err
}

func (r *DNSResolver) exchange(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(1232, false)
	c := &dns.Client{Net: "udp", Timeout: r.timeout}
	in, _, err := c.ExchangeContext(ctx, m, r.server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, r.server)
	}
	if err != nil {
		return nil, fmt.Errorf("smtpout: dns %s %s: %w", dns.TypeToString[qtype], name, err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
		return in.Answer, nil
	case dns.RcodeNameError:
		return nil, fmt.Errorf("smtpout: dns %s %s: %w", dns.TypeToString[qtype], name, ErrNoSuchDomain)
	default:
		return nil, fmt.Errorf("smtpout: dns %s %s: server answered %s", dns.TypeToString[qtype], name, dns.RcodeToString[in.Rcode])
	}
}

// LookupMX implements Resolver.
func (r *DNSResolver) LookupMX(ctx context.Context, domain string) ([]*net.MX, error) {
	rrs, err := r.query(ctx, domain, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	var out []*net.MX
	for _, rr := range rrs {
		if mx, ok := rr.(*dns.MX); ok {
			host := mx.Mx
			if host != "." {
				host = strings.TrimSuffix(host, ".")
			}
			out = append(out, &net.MX{Host: host, Pref: mx.Preference})
		}
	}
	return out, nil
}

// LookupIP implements Resolver: A then AAAA. A missing name in one of the two answers is
// only ErrNoSuchDomain when both say so.
func (r *DNSResolver) LookupIP(ctx context.Context, host string) ([]net.IP, error) {
	var ips []net.IP
	var errs []error
	nx := 0
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.query(ctx, host, t)
		if err != nil {
			if errors.Is(err, ErrNoSuchDomain) {
				nx++
			}
			errs = append(errs, err)
			continue
		}
		for _, rr := range rrs {
			switch v := rr.(type) {
			case *dns.A:
				ips = append(ips, v.A)
			case *dns.AAAA:
				ips = append(ips, v.AAAA)
			}
		}
	}
	if len(ips) > 0 {
		return ips, nil
	}
	if nx == 2 {
		return nil, errs[0]
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return nil, nil
}

// ErrNullMX is returned by route for a domain publishing a null MX (RFC 7505).
var ErrNullMX = errors.New("domain accepts no mail (null MX)")

// target is one host to try: its name (MX host or relay host), its addresses, its port.
type target struct {
	name     string
	port     int
	relay    *Relay
	implicit bool // the domain itself, for want of MX records
}

// mxTargets returns the hosts of a domain by MX preference: the MX hosts, the domain itself
// when it has no MX (implicit MX, RFC 5321 section 5.1), or ErrNullMX / ErrNoSuchDomain.
func mxTargets(ctx context.Context, res Resolver, domain string, port int) ([]target, error) {
	mxs, err := res.LookupMX(ctx, domain)
	if err != nil {
		return nil, err
	}
	var real []*net.MX
	null := false
	for _, mx := range mxs {
		if mx.Host == "." || mx.Host == "" {
			null = true
			continue
		}
		real = append(real, mx)
	}
	if null && len(real) == 0 {
		return nil, fmt.Errorf("smtpout: %s: %w", domain, ErrNullMX)
	}
	if len(real) == 0 {
		return []target{{name: domain, port: port, implicit: true}}, nil
	}
	sort.SliceStable(real, func(i, j int) bool { return real[i].Pref < real[j].Pref })
	out := make([]target, 0, len(real))
	for _, mx := range real {
		out = append(out, target{name: mx.Host, port: port})
	}
	return out, nil
}

// orderIPs puts IPv4 first (or IPv6 first when preferV6), keeping the order within a family.
func orderIPs(ips []net.IP, preferV6 bool) []net.IP {
	out := append([]net.IP(nil), ips...)
	sort.SliceStable(out, func(i, j int) bool {
		vi, vj := out[i].To4() == nil, out[j].To4() == nil
		if vi == vj {
			return false
		}
		return vi == preferV6
	})
	return out
}
