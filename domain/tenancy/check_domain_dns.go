package tenancy

import (
	"context"
	"errors"
	"fmt"

	"github.com/posthaste/posthaste/events"
)

// CheckDomainDNS looks a domain's records up in DNS.
type CheckDomainDNS struct {
	Domain string
	Actor  events.Actor
}

// DNSCheckResult is what a check found and recorded.
type DNSCheckResult struct {
	Domain   SendingDomain // after the check's events
	Records  []DNSRecord   // what was expected, in the order of Checks
	Checks   []events.DNSRecordCheck
	AllOK    bool // every required record is ok
	Verified bool // ownership is proven (now or before)
}

// CheckDomainDNS looks every record up and appends domain.dns_checked, plus domain.verified
// the first time the ownership record is seen and domain.dkim_rotated for a pending key now
// visible. A concurrent write to the domain stream makes it re-decide (bounded).
func (h *Handlers) CheckDomainDNS(ctx context.Context, c CheckDomainDNS) (DNSCheckResult, error) {
	if h.d.Resolver == nil {
		return DNSCheckResult{}, errors.New("check domain dns: no resolver configured")
	}
	name, err := NormalizeDomain(c.Domain)
	if err != nil {
		return DNSCheckResult{}, err
	}
	var res DNSCheckResult
	err = retryOnConflict(func() error {
		var d SendingDomain
		v, err := h.load(ctx, events.StreamDomain, name, &d)
		if err != nil {
			return err
		}
		if !d.Exists() {
			return fmt.Errorf("domain %q %w", name, ErrNotFound)
		}
		expected := DNSRecords(d, h.d.DNS)
		checks := CheckDNS(ctx, h.d.Resolver, d, h.d.DNS)
		evs := d.decideDNSChecked(checks)
		envs, err := h.append(ctx, stream{typ: events.StreamDomain, id: name, serverID: d.ServerID, version: v}, c.Actor, "domain "+name, evs...)
		if err != nil {
			return err
		}
		recs := make([]events.Record, len(envs))
		for i, e := range envs {
			recs[i] = events.Record{Envelope: e}
		}
		if _, err := foldRecords(recs, &d); err != nil {
			return err
		}
		res = DNSCheckResult{Domain: d, Records: expected, Checks: checks, AllOK: d.LastCheck.AllOK, Verified: d.Verified}
		return nil
	})
	return res, err
}
