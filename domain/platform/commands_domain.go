package platform

import (
	"context"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// Sending domains: add, verify (DNS check), rotate DKIM.

// AddDomain adds a sending domain to a server the caller may touch, with its DKIM key(s).
func (x *Commands) AddDomain(ctx context.Context, caller Caller, c tenancy.AddDomain) (tenancy.SendingDomain, error) {
	if err := x.c.authorize(ctx, caller, c.Server); err != nil {
		return tenancy.SendingDomain{}, err
	}
	c.Actor = caller.Actor()
	return x.c.tenancy.AddDomain(ctx, c)
}

// VerifyDomain looks a domain's records up in DNS and records the check (domain.dns_checked,
// domain.verified the first time ownership is seen, domain.dkim_rotated for a pending key now
// published). It needs the resolver (ErrNotConfigured without it).
func (x *Commands) VerifyDomain(ctx context.Context, caller Caller, name string) (tenancy.DNSCheckResult, error) {
	if x.c.d.Resolver == nil {
		return tenancy.DNSCheckResult{}, notConfigured("verify domain", "dns resolver")
	}
	d, err := x.c.domain(ctx, caller, name)
	if err != nil {
		return tenancy.DNSCheckResult{}, err
	}
	return x.c.tenancy.CheckDomainDNS(ctx, tenancy.CheckDomainDNS{Domain: d.Name, Actor: caller.Actor()})
}

// RotateDKIM publishes a new DKIM key of an algorithm (rsa-sha256 when empty); it signs once a
// verification sees it in DNS. It returns the domain and the new key.
func (x *Commands) RotateDKIM(ctx context.Context, caller Caller, c tenancy.RotateDKIM) (tenancy.SendingDomain, tenancy.DomainKey, error) {
	d, err := x.c.domain(ctx, caller, c.Domain)
	if err != nil {
		return tenancy.SendingDomain{}, tenancy.DomainKey{}, err
	}
	c.Domain, c.Actor = d.Name, caller.Actor()
	return x.c.tenancy.RotateDKIM(ctx, c)
}
