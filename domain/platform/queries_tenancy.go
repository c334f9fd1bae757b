package platform

import (
	"context"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// Servers, domains (with their DNS records), credentials and users, read from their streams: a
// command's writes are seen at once, whether or not the projector runs.

// Server returns a server the caller may touch.
func (q *Queries) Server(ctx context.Context, caller Caller, server string) (tenancy.Server, error) {
	ref, err := serverRef(server)
	if err != nil {
		return tenancy.Server{}, err
	}
	return q.c.server(ctx, caller, ref)
}

// Servers lists the servers the caller may touch, by id.
func (q *Queries) Servers(ctx context.Context, caller Caller) ([]tenancy.Server, error) {
	all, err := q.c.tenancy.ListServers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]tenancy.Server, 0, len(all))
	for _, s := range all {
		if caller.Allows(s.ID) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Domains lists the sending domains of a server the caller may touch, by name.
func (q *Queries) Domains(ctx context.Context, caller Caller, server string) ([]tenancy.SendingDomain, error) {
	ref, err := serverRef(server)
	if err != nil {
		return nil, err
	}
	if err := q.c.authorize(ctx, caller, ref); err != nil {
		return nil, err
	}
	return q.c.tenancy.DomainsOfServer(ctx, ref)
}

// Domain returns a sending domain of a server the caller may touch, with the DNS records to
// publish for it (ownership, SPF, DKIM, DMARC, return path, bounce MX).
func (q *Queries) Domain(ctx context.Context, caller Caller, name string) (tenancy.SendingDomain, []tenancy.DNSRecord, error) {
	d, err := q.c.domain(ctx, caller, name)
	if err != nil {
		return tenancy.SendingDomain{}, nil, err
	}
	return d, tenancy.DNSRecords(d, q.c.tenancy.DNSConfig()), nil
}

// DNSConfig is the platform side of every domain's records (SPF include, return-path domain,
// bounce MX host).
func (q *Queries) DNSConfig() tenancy.DNSConfig { return q.c.tenancy.DNSConfig() }

// Credentials lists the credentials of a server the caller may touch (revoked ones included), in
// creation order.
func (q *Queries) Credentials(ctx context.Context, caller Caller, server string) ([]tenancy.Credential, error) {
	ref, err := serverRef(server)
	if err != nil {
		return nil, err
	}
	if err := q.c.authorize(ctx, caller, ref); err != nil {
		return nil, err
	}
	return q.c.tenancy.ListCredentials(ctx, ref)
}

// Credential returns a credential of a server the caller may touch.
func (q *Queries) Credential(ctx context.Context, caller Caller, id string) (tenancy.Credential, error) {
	return q.c.credential(ctx, caller, id)
}

// Users lists every web UI user by email (operators only).
func (q *Queries) Users(ctx context.Context, caller Caller) ([]tenancy.User, error) {
	if err := operatorOnly(caller, "list users"); err != nil {
		return nil, err
	}
	return q.c.tenancy.ListUsers(ctx)
}

// Org returns an organization the caller belongs to (operators: any; UI users: their own; a
// server's credential: none). Any other answers as a missing one.
func (q *Queries) Org(ctx context.Context, caller Caller, name string) (tenancy.Org, error) {
	missing := notFound("organization", name, tenancy.ErrNotFound)
	if !caller.memberOf(tenancy.OrgID(name)) {
		return tenancy.Org{}, missing
	}
	o, err := q.c.tenancy.GetOrg(ctx, name)
	if isNotFound(err) {
		return tenancy.Org{}, missing
	}
	return o, err
}
