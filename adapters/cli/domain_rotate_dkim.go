package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// domainRotateDKIM is `posthaste domain rotate-dkim DOMAIN`: a new key, published first; it signs
// once `domain verify` sees it in DNS.
func domainRotateDKIM() *spec {
	var ed, asJSON bool
	return &spec{path: "domain rotate-dkim", synopsis: "DOMAIN [--ed25519] [--json]",
		summary: "publish a new DKIM key; it signs once domain verify sees it in DNS", config: true,
		flags: func(f *pflag.FlagSet) {
			f.BoolVar(&ed, "ed25519", false, "rotate the Ed25519 key instead of the RSA key")
			f.BoolVar(&asJSON, "json", false, "print the new key's record as JSON")
		},
		run: func(c *call) error {
			name, err := c.oneArg("DOMAIN")
			if err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			alg := tenancy.AlgRSASHA256
			if ed {
				alg = tenancy.AlgEd25519SHA256
			}
			d, k, err := s.app.Commands.RotateDKIM(c.ctx, s.op, tenancy.RotateDKIM{Domain: name, Algorithm: alg})
			if err != nil {
				return err
			}
			var rec tenancy.DNSRecord
			for _, r := range tenancy.DNSRecords(d, s.app.Queries.DNSConfig()) {
				if r.Selector == k.Selector {
					rec = r
				}
			}
			if asJSON {
				return writeJSON(c.stdout(), rec)
			}
			fmt.Fprintf(c.stdout(), "new %s key %s for %s: publish this record, then run: posthaste domain verify %s\n", k.Algorithm, k.Selector, d.Name, d.Name)
			fmt.Fprintln(c.stdout(), "the current key keeps signing until the new one is seen in DNS")
			return printZone(c.stdout(), []tenancy.DNSRecord{rec})
		}}
}
