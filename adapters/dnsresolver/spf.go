package dnsresolver

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/miekg/dns"

	"github.com/posthaste/posthaste/domain/spf"
)

// The SPF evaluator's port (spf.Resolver): unlike the Lookup methods, a name that does not
// exist is an error wrapping spf.ErrNXDomain, distinct from a name without records of the
// type (empty result, nil error).

var _ spf.Resolver = (*Resolver)(nil)

// queryStrict is query with NXDOMAIN reported as spf.ErrNXDomain.
func (r *Resolver) queryStrict(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, fmt.Errorf("dnsresolver: %q is not a domain name: %w", name, spf.ErrNXDomain)
	}
	a, err := r.ask(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	if a.nxdomain {
		return nil, fmt.Errorf("dnsresolver: %s %s: %w", dns.TypeToString[qtype], name, spf.ErrNXDomain)
	}
	return a.rrs, nil
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
