package cli

import (
	"time"

	"github.com/posthaste/posthaste/domain/tenancy"
)

type userJSON struct {
	Email     string            `json:"email"`
	Admin     bool              `json:"admin"`
	Orgs      map[string]string `json:"orgs"`
	CreatedAt time.Time         `json:"created_at"`
}

func toUserJSON(u tenancy.User) userJSON {
	orgs := u.Orgs
	if orgs == nil {
		orgs = map[string]string{}
	}
	return userJSON{Email: u.Email, Admin: u.Admin, Orgs: orgs, CreatedAt: u.CreatedAt.UTC()}
}
