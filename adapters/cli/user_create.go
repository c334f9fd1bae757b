package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// userCreate is `posthaste user create --email E`: the password is prompted for at a terminal,
// or read from stdin, never taken as an argument.
func userCreate() *spec {
	var (
		email, org, role         string
		admin, fromStdin, asJSON bool
	)
	return &spec{path: "user create", synopsis: "--email E [--admin] [--org ORG [--role member|admin]] [--password-stdin] [--json]",
		summary: "create a user (password prompted, or read from stdin; never an argument)", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&email, "email", "", "the user's email address (required)")
			f.BoolVar(&admin, "admin", false, "make the user a global administrator")
			f.StringVar(&org, "org", "", "organization the user joins")
			f.StringVar(&role, "role", tenancy.RoleMember, "role in --org: member or admin")
			f.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
			f.BoolVar(&asJSON, "json", false, "print the user as JSON")
		},
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			if email == "" {
				return usagef("--email is required")
			}
			// The password is read before the store opens, so a failed read writes nothing.
			password, err := readPassword(c.d.Stdin, c.d.Stderr, fromStdin)
			if err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			cu := tenancy.CreateUser{Email: email, Password: password, Admin: admin, Org: org}
			if org != "" {
				cu.Role = role
			}
			u, err := s.app.Commands.CreateUser(c.ctx, s.op, cu)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), toUserJSON(u))
			}
			kind := "user"
			if u.Admin {
				kind = "administrator"
			}
			_, err = fmt.Fprintf(c.stdout(), "created %s %s\n", kind, u.Email)
			return err
		}}
}
