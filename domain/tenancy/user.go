package tenancy

import (
	"sort"
	"time"

	"github.com/posthaste/posthaste/events"
)

// Membership roles.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
	RoleNone   = "none" // removed
)

// User is a person who signs in to the web UI; the stream id is the lowercase email.
type User struct {
	ID           string
	Email        string
	Admin        bool // global administrator
	PasswordHash string
	Orgs         map[string]string // org id -> role
	CreatedAt    time.Time
}

// Exists reports whether the user stream had its creation event.
func (u *User) Exists() bool { return u.ID != "" }

// OrgIDs lists the organizations the user belongs to, sorted.
func (u *User) OrgIDs() []string {
	out := make([]string, 0, len(u.Orgs))
	for id := range u.Orgs {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (u *User) apply(env events.Envelope, ev events.Event) {
	switch e := ev.(type) {
	case *events.UserCreated:
		u.ID, u.Email, u.Admin, u.PasswordHash, u.CreatedAt = env.StreamID, e.Email, e.Admin, e.PasswordHash, env.OccurredAt
		u.Orgs = map[string]string{}
	case *events.UserMembershipChanged:
		if e.Role == RoleNone {
			delete(u.Orgs, e.OrgID)
		} else {
			u.Orgs[e.OrgID] = e.Role
		}
	}
}

// decideCreateUser validates a new user; passwordHash is the KDF output of a password that
// already passed CheckPasswordStrength. org is the optional first membership.
func decideCreateUser(email string, admin bool, passwordHash string, org *Org, role string) []events.Event {
	evs := []events.Event{events.UserCreated{Email: email, Admin: admin, PasswordHash: passwordHash}}
	if org != nil {
		evs = append(evs, events.UserMembershipChanged{OrgID: org.ID, Role: role})
	}
	return evs
}
