package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// domainCreate is `posthaste domain create DOMAIN --server ORG/NAME`: the domain with its DKIM
// key(s), and the records to publish.
func domainCreate() *spec {
	var (
		server           string
		skip, ed, asJSON bool
	)
	return &spec{path: "domain create", synopsis: "DOMAIN --server ORG/NAME [--skip-verification] [--ed25519] [--json]",
		summary: "add a sending domain with a DKIM key (RSA 2048; --ed25519 adds a second key)", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&server, "server", "", "the server ORG/NAME the domain sends for (required)")
			f.BoolVar(&skip, "skip-verification", false, "mark the domain verified without DNS (development; recorded with your name)")
			f.BoolVar(&ed, "ed25519", false, "add an Ed25519 key beside the RSA key (dual signing)")
			f.BoolVar(&asJSON, "json", false, "print the domain as JSON")
		},
		run: func(c *call) error {
			name, err := c.oneArg("DOMAIN")
			if err != nil {
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
			d, err := s.app.Commands.AddDomain(c.ctx, s.op, tenancy.AddDomain{Domain: name, Server: ref, Ed25519: ed, SkipVerification: skip})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), toDomainJSON(d))
			}
			w := c.stdout()
			fmt.Fprintf(w, "added domain %s to server %s\n", d.Name, d.ServerID)
			if d.Verified {
				fmt.Fprintf(w, "marked verified without DNS (--skip-verification)\n")
			}
			fmt.Fprintf(w, "publish these records, then run: posthaste domain verify %s\n\n", d.Name)
			return printZone(w, tenancy.DNSRecords(d, s.app.Queries.DNSConfig()))
		}}
}
