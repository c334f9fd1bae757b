package smtpout

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
)

// Resolver is the DNS port of the client, implemented by adapters/dnsresolver (cmd/posthaste
// wires it with its cache).
//
// Contract: MailExchangers returns the MX records of a domain in any order (a null MX is
// Host "." with Pref 0), none and a nil error when the domain exists without MX records, and
// a *net.DNSError with IsNotFound when the domain does not exist (NXDOMAIN); any other error
// is temporary. HostAddresses returns the A and AAAA addresses of a host (none when it has
// none) with the same error rules. Both are safe for concurrent use.
type Resolver interface {
	MailExchangers(ctx context.Context, domain string) ([]*net.MX, error)
	HostAddresses(ctx context.Context, host string) ([]netip.Addr, error)
}

// isNoSuchDomain reports whether err says the name does not exist (NXDOMAIN).
func isNoSuchDomain(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// errNullMX is mxTargets' error for a domain publishing a null MX (RFC 7505).
var errNullMX = errors.New("domain accepts no mail (null MX)")

// target is one host to try: its name (MX host or relay host), its addresses, its port.
type target struct {
	name     string
	port     int
	relay    *Relay
	implicit bool // the domain itself, for want of MX records
}

// mxTargets returns the hosts of a domain by MX preference: the MX hosts, the domain itself
// when it has no MX (implicit MX, RFC 5321 section 5.1), or errNullMX, or the resolver's error
// (isNoSuchDomain when the domain does not exist).
func mxTargets(ctx context.Context, res Resolver, domain string, port int) ([]target, error) {
	mxs, err := res.MailExchangers(ctx, domain)
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
		return nil, fmt.Errorf("smtpout: %s: %w", domain, errNullMX)
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
func orderIPs(ips []netip.Addr, preferV6 bool) []netip.Addr {
	out := append([]netip.Addr(nil), ips...)
	sort.SliceStable(out, func(i, j int) bool {
		vi, vj := !out[i].Is4(), !out[j].Is4()
		if vi == vj {
			return false
		}
		return vi == preferV6
	})
	return out
}
