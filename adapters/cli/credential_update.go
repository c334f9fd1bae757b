package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// credentialUpdate is `posthaste credential update ID`: only the flags given change.
func credentialUpdate() *spec {
	var (
		name         string
		hold, asJSON bool
	)
	return &spec{path: "credential update", synopsis: "ID [--name N] [--hold=true|false] [--json]",
		summary: "rename a credential or change its hold flag", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&name, "name", "", "the new name")
			f.BoolVar(&hold, "hold", false, "hold (true) or deliver (false) messages submitted with it")
			f.BoolVar(&asJSON, "json", false, "print the credential as JSON")
		},
		run: func(c *call) error {
			id, err := c.oneArg("ID")
			if err != nil {
				return err
			}
			u := tenancy.UpdateCredential{ID: id}
			if c.changed("name") {
				u.Name = &name
			}
			if c.changed("hold") {
				u.Hold = &hold
			}
			if u.Name == nil && u.Hold == nil {
				return usagef("nothing to change: give --name or --hold")
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			cr, changed, err := s.app.Commands.UpdateCredential(c.ctx, s.op, u)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), toCredentialJSON(cr))
			}
			_, err = fmt.Fprintf(c.stdout(), "%s %s credential %s (name %q, hold %v)\n", updatedVerb(changed), cr.Type, cr.ID, cr.Name, cr.Hold)
			return err
		}}
}
