package cli

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// credentialList is `posthaste credential list --server ORG/NAME`.
func credentialList() *spec {
	var (
		server string
		asJSON bool
	)
	return &spec{path: "credential list", synopsis: "--server ORG/NAME [--json]", summary: "list a server's credentials", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&server, "server", "", "the server ORG/NAME (required)")
			f.BoolVar(&asJSON, "json", false, "print one JSON object per line")
		},
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			ref, err := serverFlag(server)
			if err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			cs, err := s.app.Queries.Credentials(c.ctx, s.op, ref.String())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONLines(c.stdout(), cs, toCredentialJSON)
			}
			tw := newTable(c.stdout())
			fmt.Fprintln(tw, "ID\tTYPE\tNAME\tIDENTITY\tHOLD\tSTATE\tCREATED")
			for _, cr := range cs {
				identity := cr.Username
				switch cr.Type {
				case tenancy.CredentialAPI:
					identity = cr.KeyPrefix + "…"
				case tenancy.CredentialSMTPIP:
					identity = cr.CIDR
				}
				state := "active"
				if cr.Revoked {
					state = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%s\n", cr.ID, cr.Type, cr.Name, identity, cr.Hold, state, cr.CreatedAt.UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		}}
}
