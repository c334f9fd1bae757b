package cli

import (
	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/tenancy"
)

type dnsJSON struct {
	Domain  string              `json:"domain"`
	Records []tenancy.DNSRecord `json:"records"`
}

// domainDNS is `posthaste domain dns DOMAIN`: the records to publish, as zone-file lines.
func domainDNS() *spec {
	var asJSON bool
	return &spec{path: "domain dns", synopsis: "DOMAIN [--json]", summary: "print the DNS records to publish for a domain", config: true,
		flags: func(f *pflag.FlagSet) { f.BoolVar(&asJSON, "json", false, `print {"domain": ..., "records": [...]}`) },
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
			d, recs, err := s.app.Queries.Domain(c.ctx, s.op, name)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), dnsJSON{Domain: d.Name, Records: recs})
			}
			return printZone(c.stdout(), recs)
		}}
}
