package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// credentialRevoke is `posthaste credential revoke ID`.
func credentialRevoke() *spec {
	var (
		reason string
		asJSON bool
	)
	return &spec{path: "credential revoke", synopsis: "ID [--reason R] [--json]", summary: "revoke a credential", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&reason, "reason", "", "why (kept in the audit trail)")
			f.BoolVar(&asJSON, "json", false, "print the revoked credential as JSON")
		},
		run: func(c *call) error {
			id, err := c.oneArg("ID")
			if err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			cr, err := s.app.Commands.RevokeCredential(c.ctx, s.op, tenancy.RevokeCredential{ID: id, Reason: reason})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), toCredentialJSON(cr))
			}
			_, err = fmt.Fprintf(c.stdout(), "revoked %s credential %s of server %s\n", cr.Type, cr.ID, cr.ServerID)
			return err
		}}
}
