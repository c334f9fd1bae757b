// Package dnsresolver implements tenancy.Resolver (and the MX lookup of delivery) with
// github.com/miekg/dns, querying POSTHASTE_DNS_RESOLVER (host:port) or the servers of
// /etc/resolv.conf.
//
// It owns DNS wire queries only: UDP first, TCP when the answer is truncated, the next server
// when one fails. It must not cache or interpret records beyond decoding them.
package dnsresolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/posthaste/posthaste/domain/spf"
	"github.com/posthaste/posthaste/domain/tenancy"
)

// Resolver queries one or more DNS servers.
type Resolver struct {
	servers []string // host:port
	timeout time.Duration
}

var _ tenancy.Resolver = (*Resolver)(nil)

// DefaultTimeout bounds one query to one server.
const DefaultTimeout = 5 * time.Second

// New queries servers (host:port, a comma list tried in order) when it is not empty, else the
// nameservers of resolvConf (normally /etc/resolv.conf).
func New(servers, resolvConf string, timeout time.Duration) (*Resolver, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if servers != "" {
		r := &Resolver{timeout: timeout}
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
	r := &Resolver{timeout: timeout}
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

// query returns the answer section for name/qtype; NXDOMAIN and NODATA give an empty answer.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	var errs []error
	for _, srv := range r.servers {
		ans, err := r.exchange(ctx, m, srv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch ans.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
			return ans.Answer, nil
		default:
			errs = append(errs, &RcodeError{Name: name, Type: dns.TypeToString[qtype], Server: srv, Rcode: ans.Rcode})
		}
	}
	return nil, errors.Join(errs...)
}

func (r *Resolver) exchange(ctx context.Context, m *dns.Msg, srv string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	c := &dns.Client{Net: "udp", Timeout: r.timeout}
	ans, _, err := c.ExchangeContext(ctx, m, srv)
	if err == nil && ans.Truncated {
		c.Net = "tcp"
		ans, _, err = c.ExchangeContext(ctx, m, srv)
	}
	if err != nil {
		return nil, fmt.Errorf("dnsresolver: %s %s at %s: %w", dns.TypeToString[m.Question[0].Qtype], strings.TrimSuffix(m.Question[0].Name, "."), srv, err)
	}
	return ans, nil
}

func trimDot(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }

// txtData joins the character-strings of a TXT record and undoes miekg/dns's presentation
// escapes (\" \\ \DDD), giving the record's bytes.
func txtData(strs []string) string {
	var b strings.Builder
	for _, s := range strs {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c != '\\' || i+1 >= len(s) {
				b.WriteByte(c)
				continue
			}
			if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
				b.WriteByte((s[i+1]-'0')*100 + (s[i+2]-'0')*10 + (s[i+3] - '0'))
				i += 3
				continue
			}
			b.WriteByte(s[i+1])
			i++
		}
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// LookupTXT returns one string per TXT record, its character-strings concatenated.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range rrs {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, txtData(t.Txt))
		}
	}
	return out, nil
}

// LookupCNAME returns the CNAME target of name, or "" when it has none.
func (r *Resolver) LookupCNAME(ctx context.Context, name string) (string, error) {
	rrs, err := r.query(ctx, name, dns.TypeCNAME)
	if err != nil {
		return "", err
	}
	for _, rr := range rrs {
		if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(trimDot(c.Hdr.Name), trimDot(name)) {
			return trimDot(c.Target), nil
		}
	}
	return "", nil
}

// LookupMX returns the MX records of name, lowest preference first.
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]tenancy.MX, error) {
	rrs, err := r.query(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	var out []tenancy.MX
	for _, rr := range rrs {
		if m, ok := rr.(*dns.MX); ok {
			out = append(out, tenancy.MX{Host: trimDot(m.Mx), Preference: m.Preference})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Preference < out[j].Preference })
	return out, nil
}

// LookupIP returns the A and AAAA addresses of name (IPv4 first).
func (r *Resolver) LookupIP(ctx context.Context, name string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.query(ctx, name, qt)
		if err != nil {
			return nil, err
		}
		for _, rr := range rrs {
			var ip net.IP
			switch v := rr.(type) {
			case *dns.A:
				ip = v.A
			case *dns.AAAA:
				ip = v.AAAA
			default:
				continue
			}
			if a, ok := netip.AddrFromSlice(ip); ok {
				out = append(out, a.Unmap())
			}
		}
	}
	return out, nil
}

// The SPF evaluator's port (spf.Resolver): unlike the Lookup methods, a name that does not
// exist is an error wrapping spf.ErrNXDomain, distinct from a name without records of the
// type (empty result, nil error).

var _ spf.Resolver = (*Resolver)(nil)

// queryStrict is query with NXDOMAIN reported as spf.ErrNXDomain.
func (r *Resolver) queryStrict(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, fmt.Errorf("dnsresolver: %q is not a domain name: %w", name, spf.ErrNXDomain)
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	var errs []error
	for _, srv := range r.servers {
		ans, err := r.exchange(ctx, m, srv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch ans.Rcode {
		case dns.RcodeSuccess:
			return ans.Answer, nil
		case dns.RcodeNameError:
			return nil, fmt.Errorf("dnsresolver: %s %s: %w", dns.TypeToString[qtype], name, spf.ErrNXDomain)
		default:
			errs = append(errs, &RcodeError{Name: name, Type: dns.TypeToString[qtype], Server: srv, Rcode: ans.Rcode})
		}
	}
	return nil, errors.Join(errs...)
}

// QueryTXT implements spf.Resolver.
func (r *Resolver) QueryTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.queryStrict(ctx, name, dns.TypeTXT)
	var out []string
	for _, rr := range rrs {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, txtData(t.Txt))
		}
	}
	return out, err
}

// QueryA implements spf.Resolver.
func (r *Resolver) QueryA(ctx context.Context, name string) ([]netip.Addr, error) {
	return r.queryAddrs(ctx, name, dns.TypeA)
}

// QueryAAAA implements spf.Resolver.
func (r *Resolver) QueryAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	return r.queryAddrs(ctx, name, dns.TypeAAAA)
}

func (r *Resolver) queryAddrs(ctx context.Context, name string, qtype uint16) ([]netip.Addr, error) {
	rrs, err := r.queryStrict(ctx, name, qtype)
	var out []netip.Addr
	for _, rr := range rrs {
		var ip net.IP
		switch v := rr.(type) {
		case *dns.A:
			ip = v.A
		case *dns.AAAA:
			ip = v.AAAA
		}
		if rr.Header().Rrtype != qtype {
			continue
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a)
		}
	}
	return out, err
}

// QueryMX implements spf.Resolver: the exchanges in answer order.
func (r *Resolver) QueryMX(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.queryStrict(ctx, name, dns.TypeMX)
	var out []string
	for _, rr := range rrs {
		if m, ok := rr.(*dns.MX); ok {
			out = append(out, trimDot(m.Mx))
		}
	}
	return out, err
}

// QueryPTR implements spf.Resolver.
func (r *Resolver) QueryPTR(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.queryStrict(ctx, name, dns.TypePTR)
	var out []string
	for _, rr := range rrs {
		if p, ok := rr.(*dns.PTR); ok {
			out = append(out, trimDot(p.Ptr))
		}
	}
	return out, err
}
