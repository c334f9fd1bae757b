package tenancy

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/posthaste/posthaste/events"
)

// AddDomain adds a sending domain to a server, with an RSA-2048 DKIM key and, with Ed25519, a
// second key for dual signing.
type AddDomain struct {
	Domain           string
	Server           ServerRef
	Ed25519          bool
	SkipVerification bool // marks it verified without DNS (development); recorded with the actor
	Actor            events.Actor
}

// AddDomain stores the private keys as secrets, then appends domain.added (and domain.verified
// "skipped") at versions 1.. of stream domain/<name>. If the append fails (e.g. the domain was
// added concurrently) the secrets are deleted again, so nothing is left half-written.
func (h *Handlers) AddDomain(ctx context.Context, c AddDomain) (SendingDomain, error) {
	if h.d.Secrets == nil {
		return SendingDomain{}, errors.New("add domain: no secret store configured")
	}
	name, err := NormalizeDomain(c.Domain)
	if err != nil {
		return SendingDomain{}, err
	}
	srv, err := h.GetServer(ctx, c.Server)
	if err != nil {
		return SendingDomain{}, err
	}
	s := stream{typ: events.StreamDomain, id: name, serverID: srv.ID}
	var existing SendingDomain
	if v, err := h.load(ctx, s.typ, s.id, &existing); err != nil {
		return SendingDomain{}, err
	} else if v > 0 { // fail before generating keys; the append below is what guarantees it
		return SendingDomain{}, fmt.Errorf("domain %q %w", name, ErrAlreadyExists)
	}
	token := make([]byte, 16)
	if _, err := io.ReadFull(h.d.Rand, token); err != nil {
		return SendingDomain{}, fmt.Errorf("add domain: token: %w", err)
	}
	algs := []string{AlgRSASHA256}
	if c.Ed25519 {
		algs = append(algs, AlgEd25519SHA256)
	}
	now := h.d.Clock()
	var keys []events.DKIMKey
	var stored []string
	cleanup := func(cause error) error {
		errs := []error{cause}
		for _, id := range stored {
			if err := h.d.Secrets.DeleteSecret(context.WithoutCancel(ctx), id); err != nil {
				errs = append(errs, fmt.Errorf("delete secret %s: %w", id, err))
			}
		}
		return errors.Join(errs...)
	}
	for _, alg := range algs {
		gk, err := GenerateDKIMKey(h.d.Rand, alg, newSelector(now, alg, nil), events.NewID(now, h.d.Rand))
		if err != nil {
			return SendingDomain{}, cleanup(err)
		}
		if err := h.d.Secrets.PutSecret(ctx, gk.Public.SecretID, SecretKindDKIM, gk.Private); err != nil {
			return SendingDomain{}, cleanup(fmt.Errorf("add domain: store dkim key: %w", err))
		}
		stored = append(stored, gk.Public.SecretID)
		keys = append(keys, gk.Public)
	}
	evs := decideAddDomain(name, hex.EncodeToString(token), keys, c.SkipVerification)
	if _, err := h.append(ctx, s, c.Actor, fmt.Sprintf("domain %q", name), evs...); err != nil {
		return SendingDomain{}, cleanup(err)
	}
	return h.GetDomain(ctx, name)
}

// GetDomain reads a sending domain from its stream.
func (h *Handlers) GetDomain(ctx context.Context, domainName string) (SendingDomain, error) {
	name, err := NormalizeDomain(domainName)
	if err != nil {
		return SendingDomain{}, err
	}
	var d SendingDomain
	if _, err := h.load(ctx, events.StreamDomain, name, &d); err != nil {
		return SendingDomain{}, err
	}
	if !d.Exists() {
		return SendingDomain{}, fmt.Errorf("domain %q %w", name, ErrNotFound)
	}
	return d, nil
}

// DomainDNSRecords renders the records of an existing domain.
func (h *Handlers) DomainDNSRecords(ctx context.Context, domainName string) (SendingDomain, []DNSRecord, error) {
	d, err := h.GetDomain(ctx, domainName)
	if err != nil {
		return SendingDomain{}, nil, err
	}
	return d, DNSRecords(d, h.d.DNS), nil
}
