package platform

import (
	"sort"
	"strings"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

// Caller is who asks a command or a query, and so what it may touch:
//   - an operator (the CLI as cli:<OS user>, the HTTP admin token as api:admin): every server and
//     organization, and the commands of the whole installation (organizations, users, the event
//     feed, inbound reports);
//   - a server's credential (an API key, or an SMTP credential once authenticated): exactly its
//     server;
//   - a web UI user: the servers of the organizations it is a member of (a global administrator
//     user is an operator).
//
// Build one with Operator, Queries.AuthenticateAPIKey, Queries.AuthenticateUser or
// Queries.UserCaller. The zero Caller may touch nothing. Every event a command records carries the
// caller's actor.
type Caller struct {
	kind      callerKind
	actor     events.Actor
	principal submission.Principal // credential callers
	orgs      map[string]string    // user callers: org id -> role
}

type callerKind int

const (
	nobody callerKind = iota
	operatorCaller
	credentialCaller
	userCaller
)

// Operator is a caller that may touch everything, recorded as actor.
func Operator(actor events.Actor) Caller {
	return Caller{kind: operatorCaller, actor: actor}
}

// credential is the caller of a server's credential, recorded as actorType:<credential id>.
func credential(p submission.Principal, actorType string) Caller {
	return Caller{kind: credentialCaller, actor: events.Actor{Type: actorType, ID: p.CredentialID}, principal: p}
}

// user is the caller of a web UI user with its memberships.
func user(id string, admin bool, orgs map[string]string) Caller {
	a := events.Actor{Type: events.ActorUser, ID: id}
	if admin {
		return Caller{kind: operatorCaller, actor: a}
	}
	own := make(map[string]string, len(orgs))
	for k, v := range orgs {
		own[k] = v
	}
	return Caller{kind: userCaller, actor: a, orgs: own}
}

// Actor is who the caller's events are recorded as.
func (c Caller) Actor() events.Actor { return c.actor }

// Cause is the who of a command the caller runs.
func (c Caller) Cause() domain.Cause { return domain.Cause{Actor: c.actor} }

// IsOperator reports whether the caller may touch everything.
func (c Caller) IsOperator() bool { return c.kind == operatorCaller }

// ServerID is the one server of a credential's caller ("" for any other caller).
func (c Caller) ServerID() string {
	if c.kind != credentialCaller {
		return ""
	}
	return c.principal.ServerID
}

// Principal is the submission principal of a credential's caller (its server, its id, whether it
// holds its mail); the zero Principal for any other caller.
func (c Caller) Principal() submission.Principal {
	if c.kind != credentialCaller {
		return submission.Principal{}
	}
	return c.principal
}

// OrgIDs lists the organizations of a UI user's caller, sorted (nil for any other caller).
func (c Caller) OrgIDs() []string {
	if c.kind != userCaller {
		return nil
	}
	out := make([]string, 0, len(c.orgs))
	for id := range c.orgs {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Allows reports whether the caller may touch a server (its id "org/name").
func (c Caller) Allows(serverID string) bool {
	id := strings.ToLower(serverID)
	switch c.kind {
	case operatorCaller:
		return true
	case credentialCaller:
		return id != "" && id == c.principal.ServerID
	case userCaller:
		org, _, ok := strings.Cut(id, "/")
		_, member := c.orgs[org]
		return ok && member
	}
	return false
}

// AllowsOrg reports whether the caller may act on an organization itself (create its servers):
// operators, and UI users who are admins of it.
func (c Caller) AllowsOrg(orgID string) bool {
	switch c.kind {
	case operatorCaller:
		return true
	case userCaller:
		return c.orgs[strings.ToLower(orgID)] == tenancy.RoleAdmin
	}
	return false
}

// memberOf reports whether the caller belongs to an organization (operators: to every one).
func (c Caller) memberOf(orgID string) bool {
	switch c.kind {
	case operatorCaller:
		return true
	case userCaller:
		_, ok := c.orgs[strings.ToLower(orgID)]
		return ok
	}
	return false
}

// String names the caller for logs: its actor.
func (c Caller) String() string { return c.actor.String() }
