package platform

import (
	"context"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// Organizations, servers and users. The actor of c is replaced by the caller's.

// CreateOrg creates an organization (operators only).
func (x *Commands) CreateOrg(ctx context.Context, caller Caller, name string) (tenancy.Org, error) {
	if err := operatorOnly(caller, "create organization"); err != nil {
		return tenancy.Org{}, err
	}
	return x.c.tenancy.CreateOrg(ctx, tenancy.CreateOrg{Name: name, Actor: caller.Actor()})
}

// CreateServer creates a server in an organization (operators, and admins of the organization:
// a mere member is ErrForbidden). An organization the caller does not belong to answers as one
// that does not exist.
func (x *Commands) CreateServer(ctx context.Context, caller Caller, c tenancy.CreateServer) (tenancy.Server, error) {
	if caller.kind == credentialCaller {
		return tenancy.Server{}, forbidden("create server", "operators and organization admins")
	}
	if !caller.memberOf(tenancy.OrgID(c.Ref.Org)) {
		return tenancy.Server{}, notFound("organization", c.Ref.Org, tenancy.ErrNotFound)
	}
	if !caller.AllowsOrg(tenancy.OrgID(c.Ref.Org)) {
		return tenancy.Server{}, forbidden("create server", "organization admins")
	}
	c.Actor = caller.Actor()
	srv, err := x.c.tenancy.CreateServer(ctx, c)
	if isNotFound(err) {
		return tenancy.Server{}, notFound("organization", c.Ref.Org, tenancy.ErrNotFound)
	}
	return srv, err
}

// UpdateServer changes a server's settings (nil fields stay); the bool says whether anything
// changed.
func (x *Commands) UpdateServer(ctx context.Context, caller Caller, c tenancy.UpdateServer) (tenancy.Server, bool, error) {
	if err := x.c.authorize(ctx, caller, c.Ref); err != nil {
		return tenancy.Server{}, false, err
	}
	c.Actor = caller.Actor()
	return x.c.tenancy.UpdateServer(ctx, c)
}

// CreateUser creates a web UI user (operators only). The password is checked by the policy,
// hashed and dropped.
func (x *Commands) CreateUser(ctx context.Context, caller Caller, c tenancy.CreateUser) (tenancy.User, error) {
	if err := operatorOnly(caller, "create user"); err != nil {
		return tenancy.User{}, err
	}
	c.Actor = caller.Actor()
	return x.c.tenancy.CreateUser(ctx, c)
}
