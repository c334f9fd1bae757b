package dnsresolver

import (
	"context"
	"net/netip"
	"sort"
	"strings"

	"github.com/miekg/dns"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// The port of domain verification (tenancy.Resolver): a name that does not exist and a name
// without records of the type both give an empty result and a nil error.

var _ tenancy.Resolver = (*Resolver)(nil)

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
		out = appendAddrs(out, rrs, qt)
	}
	return out, nil
}
