package platform

import (
	"context"
	"time"

	"github.com/posthaste/posthaste/domain/suppression"
)

// Suppressions: add and remove.

// AddSuppression stops a server the caller may touch from mailing an address.
type AddSuppression struct {
	Server   string // ORG/NAME or the server id
	Address  string
	Reason   string        // manual, hard_bounce, complaint, unsubscribe ("" = manual)
	CausedBy string        // the event or edge that caused it ("" = none)
	TTL      time.Duration // 0 = never expires
}

// AddSuppression suppresses the address (adding an active entry again refreshes it) and returns
// the entry as stored. A malformed address is suppression.ErrBadAddress.
func (x *Commands) AddSuppression(ctx context.Context, caller Caller, a AddSuppression) (suppression.Entry, error) {
	ref, err := serverRef(a.Server)
	if err != nil {
		return suppression.Entry{}, err
	}
	if err := x.c.authorize(ctx, caller, ref); err != nil {
		return suppression.Entry{}, err
	}
	if a.Reason == "" {
		a.Reason = suppression.ReasonManual
	}
	if err := x.c.suppressions.Add(ctx, ref.ID(), a.Address, a.Reason, a.CausedBy, a.TTL, caller.Cause()); err != nil {
		return suppression.Entry{}, err
	}
	return x.c.suppressions.Get(ctx, ref.ID(), a.Address)
}

// RemoveSuppression lets a server mail an address again; an address not suppressed is
// suppression.ErrNotSuppressed.
func (x *Commands) RemoveSuppression(ctx context.Context, caller Caller, server, address, reason string) error {
	ref, err := serverRef(server)
	if err != nil {
		return err
	}
	if err := x.c.authorize(ctx, caller, ref); err != nil {
		return err
	}
	return x.c.suppressions.Remove(ctx, ref.ID(), address, reason, caller.Cause())
}
