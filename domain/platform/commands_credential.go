package platform

import (
	"context"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// Credentials: create, update, revoke. A credential works the moment it is created and stops
// the moment it is revoked (authentication reads its stream: credentials.go).

// CreateCredential creates a credential of a server the caller may touch; its secret (password
// or key) is in the result once and never again.
func (x *Commands) CreateCredential(ctx context.Context, caller Caller, c tenancy.CreateCredential) (tenancy.NewCredential, error) {
	if err := x.c.authorize(ctx, caller, c.Server); err != nil {
		return tenancy.NewCredential{}, err
	}
	c.Actor = caller.Actor()
	return x.c.tenancy.CreateCredential(ctx, c)
}

// UpdateCredential renames a credential or changes its hold flag (nil fields stay); the bool
// says whether anything changed.
func (x *Commands) UpdateCredential(ctx context.Context, caller Caller, c tenancy.UpdateCredential) (tenancy.Credential, bool, error) {
	if _, err := x.c.credential(ctx, caller, c.ID); err != nil {
		return tenancy.Credential{}, false, err
	}
	c.Actor = caller.Actor()
	return x.c.tenancy.UpdateCredential(ctx, c)
}

// RevokeCredential stops a credential from authenticating; revoking twice is an ErrInvalid error.
func (x *Commands) RevokeCredential(ctx context.Context, caller Caller, c tenancy.RevokeCredential) (tenancy.Credential, error) {
	if _, err := x.c.credential(ctx, caller, c.ID); err != nil {
		return tenancy.Credential{}, err
	}
	c.Actor = caller.Actor()
	return x.c.tenancy.RevokeCredential(ctx, c)
}
