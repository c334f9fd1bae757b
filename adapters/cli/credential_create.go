package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// credentialCreate is `posthaste credential create --server ORG/NAME --type T`: its secret is
// printed once.
func credentialCreate() *spec {
	var (
		server, typ, name, cidr string
		hold, asJSON            bool
	)
	return &spec{path: "credential create", synopsis: "--server ORG/NAME --type smtp|api|smtp-ip [--name N] [--cidr CIDR] [--hold] [--json]",
		summary: "create a credential; its secret is printed once", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&server, "server", "", "the server ORG/NAME (required)")
			f.StringVar(&typ, "type", "", "smtp, api or smtp-ip (required)")
			f.StringVar(&name, "name", "", "a name for the credential")
			f.StringVar(&cidr, "cidr", "", "smtp-ip: the address or range allowed to submit, e.g. 192.0.2.0/24")
			f.BoolVar(&hold, "hold", false, "hold every message submitted with this credential")
			f.BoolVar(&asJSON, "json", false, "print the credential and its secret as JSON")
		},
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			ref, err := serverFlag(server)
			if err != nil {
				return err
			}
			if typ == "" {
				return usagef("--type smtp|api|smtp-ip is required")
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			cr, err := s.app.Commands.CreateCredential(c.ctx, s.op, tenancy.CreateCredential{Server: ref, Type: typ, Name: name, CIDR: cidr, Hold: hold})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), newCredentialJSON{ID: cr.ID, Type: cr.Type, Username: cr.Username, Password: cr.Password, Key: cr.Key, CIDR: cr.CIDR})
			}
			w := c.stdout()
			fmt.Fprintf(w, "created %s credential %s for server %s\n", cr.Type, cr.ID, cr.ServerID)
			switch cr.Type {
			case tenancy.CredentialSMTP:
				fmt.Fprintf(w, "username: %s\npassword: %s\n", cr.Username, cr.Password)
			case tenancy.CredentialAPI:
				fmt.Fprintf(w, "key: %s\n", cr.Key)
			case tenancy.CredentialSMTPIP:
				fmt.Fprintf(w, "cidr: %s\n", cr.CIDR)
			}
			if cr.Hold {
				fmt.Fprintln(w, "messages submitted with it are held")
			}
			if cr.Password != "" || cr.Key != "" {
				fmt.Fprintln(w, "the secret is shown only now: store it safely")
			}
			return nil
		}}
}
