package platform

import (
	"context"
	"errors"
	"strings"

	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/webhook"
)

// Authorisation: each resolver below returns the thing when it exists and the caller may touch
// it, and otherwise the one NotFoundError of its kind, built the same way in both cases (the
// caller learns nothing about other tenants).

func isNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, tenancy.ErrNotFound) || errors.Is(err, message.ErrNotFound) ||
		errors.Is(err, webhook.ErrNotFound) || errors.Is(err, inbound.ErrNotFound)
}

// server reads a server the caller may touch.
func (c *core) server(ctx context.Context, caller Caller, ref tenancy.ServerRef) (tenancy.Server, error) {
	missing := notFound("server", ref.String(), tenancy.ErrNotFound)
	if !caller.Allows(ref.ID()) {
		return tenancy.Server{}, missing
	}
	srv, err := c.tenancy.GetServer(ctx, ref)
	if isNotFound(err) {
		return tenancy.Server{}, missing
	}
	return srv, err
}

// authorize checks that the caller may touch a server that exists, without reading the server
// when the caller is that server's own credential (it exists: its credential does).
func (c *core) authorize(ctx context.Context, caller Caller, ref tenancy.ServerRef) error {
	if caller.kind == credentialCaller && caller.Allows(ref.ID()) {
		return nil
	}
	_, err := c.server(ctx, caller, ref)
	return err
}

// serverRef parses a server id or ORG/NAME for a caller; a malformed one is ErrInvalid (it names
// nothing, whoever asks).
func serverRef(s string) (tenancy.ServerRef, error) {
	return tenancy.ParseServerRef(strings.TrimSpace(s))
}

// domain reads a sending domain of a server the caller may touch.
func (c *core) domain(ctx context.Context, caller Caller, name string) (tenancy.SendingDomain, error) {
	n, err := tenancy.NormalizeDomain(name)
	if err != nil {
		return tenancy.SendingDomain{}, err
	}
	missing := notFound("domain", n, tenancy.ErrNotFound)
	d, err := c.tenancy.GetDomain(ctx, n)
	if isNotFound(err) || err == nil && !caller.Allows(d.ServerID) {
		return tenancy.SendingDomain{}, missing
	}
	return d, err
}

// credential reads a credential of a server the caller may touch.
func (c *core) credential(ctx context.Context, caller Caller, id string) (tenancy.Credential, error) {
	missing := notFound("credential", id, tenancy.ErrNotFound)
	cr, err := c.tenancy.GetCredential(ctx, id)
	if isNotFound(err) || err == nil && !caller.Allows(cr.ServerID) {
		return tenancy.Credential{}, missing
	}
	return cr, err
}

// message reads a message of a server the caller may touch, from its stream.
func (c *core) message(ctx context.Context, caller Caller, id string) (*message.Message, error) {
	missing := notFound("message", id, message.ErrNotFound)
	m, err := c.messages.Get(ctx, id)
	if isNotFound(err) || err == nil && !caller.Allows(m.ServerID) {
		return nil, missing
	}
	return m, err
}

// webhook reads a subscription of a server the caller may touch.
func (c *core) webhook(ctx context.Context, caller Caller, id string) (webhook.Subscription, error) {
	missing := notFound("webhook", id, webhook.ErrNotFound)
	s, err := c.webhooks.Get(ctx, id)
	if isNotFound(err) || err == nil && !caller.Allows(s.ServerID) {
		return webhook.Subscription{}, missing
	}
	return s, err
}

// operatorOnly refuses callers other than operators.
func operatorOnly(caller Caller, what string) error {
	if !caller.IsOperator() {
		return forbidden(what, "operators")
	}
	return nil
}
