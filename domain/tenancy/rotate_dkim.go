package tenancy

import (
	"context"
	"errors"
	"fmt"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// RotateDKIM publishes a new DKIM key for a domain. It does not sign yet: the next
// CheckDomainDNS that sees it in DNS activates it (domain.dkim_rotated with ActiveSelector) and
// retires the old key of its algorithm.
type RotateDKIM struct {
	Domain    string
	Algorithm string // rsa-sha256 (default) or ed25519-sha256
	Actor     events.Actor
}

// decideRotate refuses a second pending rotation of one algorithm.
func (d *SendingDomain) decideRotate(newKey events.DKIMKey) ([]events.Event, error) {
	for _, k := range d.Keys {
		if k.State == KeyPending && k.Algorithm == newKey.Algorithm {
			return nil, fmt.Errorf("%w: a %s key (selector %s) is already waiting to be seen in DNS: publish it and run domain verify",
				ErrInvalid, k.Algorithm, k.Selector)
		}
	}
	return []events.Event{events.DomainDKIMRotated{NewKey: newKey}}, nil
}

// RotateDKIM stores the new private key as a secret and appends domain.dkim_rotated (pending);
// on any failure the secret is deleted again.
func (h *Handlers) RotateDKIM(ctx context.Context, c RotateDKIM) (SendingDomain, DomainKey, error) {
	if h.d.Secrets == nil {
		return SendingDomain{}, DomainKey{}, errors.New("rotate dkim: no secret store configured")
	}
	alg := c.Algorithm
	if alg == "" {
		alg = AlgRSASHA256
	}
	name, err := NormalizeDomain(c.Domain)
	if err != nil {
		return SendingDomain{}, DomainKey{}, err
	}
	var d SendingDomain
	v, err := h.load(ctx, events.StreamDomain, name, &d)
	if err != nil {
		return SendingDomain{}, DomainKey{}, err
	}
	if !d.Exists() {
		return SendingDomain{}, DomainKey{}, fmt.Errorf("domain %q %w", name, ErrNotFound)
	}
	now := h.d.Clock()
	gk, err := GenerateDKIMKey(h.d.Rand, alg, newSelector(now, alg, d.Keys), events.NewID(now, h.d.Rand))
	if err != nil {
		return SendingDomain{}, DomainKey{}, err
	}
	evs, err := d.decideRotate(gk.Public)
	if err != nil {
		return SendingDomain{}, DomainKey{}, err
	}
	if err := h.d.Secrets.PutSecret(ctx, gk.Public.SecretID, SecretKindDKIM, gk.Private); err != nil {
		return SendingDomain{}, DomainKey{}, fmt.Errorf("rotate dkim: store key: %w", err)
	}
	s := stream{typ: events.StreamDomain, id: name, serverID: d.ServerID, version: v}
	if _, err := h.append(ctx, s, c.Actor, "domain "+name, evs...); err != nil {
		if derr := h.d.Secrets.DeleteSecret(context.WithoutCancel(ctx), gk.Public.SecretID); derr != nil {
			err = errors.Join(err, fmt.Errorf("delete secret %s: %w", gk.Public.SecretID, derr))
		}
		if errors.Is(err, domain.ErrConflict) {
			return SendingDomain{}, DomainKey{}, fmt.Errorf("rotate dkim: domain %s changed meanwhile, try again: %w", name, err)
		}
		return SendingDomain{}, DomainKey{}, err
	}
	d, err = h.GetDomain(ctx, name)
	if err != nil {
		return SendingDomain{}, DomainKey{}, err
	}
	return d, DomainKey{DKIMKey: gk.Public, State: KeyPending}, nil
}
