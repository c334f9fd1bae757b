package dnsresolver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// The lookups of outbound delivery (the Resolver port of adapters/smtpout): unlike the
// verification lookups, a name that does not exist (NXDOMAIN) is an error, a *net.DNSError
// with IsNotFound set, distinct from a name without records of the type (empty, nil).

// notFound is the error of a name that does not exist.
func notFound(name, server string) error {
	return &net.DNSError{Err: "no such domain", Name: strings.TrimSuffix(name, "."), Server: server, IsNotFound: true}
}

// MailExchangers returns the MX records of domain in answer order, each host without its
// trailing dot; a null MX (RFC 7505, "0 .") is Host ".". A domain without MX records gives
// none and a nil error; a domain that does not exist, a *net.DNSError with IsNotFound.
func (r *Resolver) MailExchangers(ctx context.Context, domain string) ([]*net.MX, error) {
	a, err := r.ask(ctx, domain, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	if a.nxdomain {
		return nil, notFound(domain, a.server)
	}
	var out []*net.MX
	for _, rr := range a.rrs {
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

// HostAddresses returns the A then the AAAA addresses of host. When one of the two lookups
// fails and the other finds addresses, those are the answer; a name missing from both answers
// is a *net.DNSError with IsNotFound; a host with no address gives none and a nil error.
func (r *Resolver) HostAddresses(ctx context.Context, host string) ([]netip.Addr, error) {
	var addrs []netip.Addr
	var errs []error
	missing := 0
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		a, err := r.ask(ctx, host, qt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if a.nxdomain {
			missing++
			errs = append(errs, notFound(host, a.server))
			continue
		}
		addrs = appendAddrs(addrs, a.rrs, qt)
	}
	switch {
	case len(addrs) > 0:
		return addrs, nil
	case missing == 2:
		return nil, errs[0]
	case len(errs) > 0:
		return nil, errors.Join(errs...)
	}
	return nil, nil
}

// appendAddrs appends the addresses of the records of type qtype in rrs.
func appendAddrs(out []netip.Addr, rrs []dns.RR, qtype uint16) []netip.Addr {
	for _, rr := range rrs {
		if rr.Header().Rrtype != qtype {
			continue
		}
		var ip net.IP
		switch v := rr.(type) {
		case *dns.A:
			ip = v.A
		case *dns.AAAA:
			ip = v.AAAA
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap())
		}
	}
	return out
}
