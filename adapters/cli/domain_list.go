package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// domainList is `posthaste domain list --server ORG/NAME`.
func domainList() *spec {
	var (
		server string
		asJSON bool
	)
	return &spec{path: "domain list", synopsis: "--server ORG/NAME [--json]", summary: "list a server's sending domains", config: true,
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
			ds, err := s.app.Queries.Domains(c.ctx, s.op, ref.String())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONLines(c.stdout(), ds, toDomainJSON)
			}
			tw := newTable(c.stdout())
			fmt.Fprintln(tw, "DOMAIN\tVERIFIED\tSIGNING SELECTORS\tLAST DNS CHECK")
			for _, d := range ds {
				var sels []string
				for _, k := range d.SigningKeys() {
					sels = append(sels, k.Selector)
				}
				verified := "no"
				if d.Verified {
					verified = "yes (" + d.VerifiedMethod + ")"
				}
				check := "never"
				if d.LastCheck != nil {
					check = "required records not ok"
					if d.LastCheck.AllOK {
						check = "ok"
					}
					check += " at " + d.LastCheckedAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Name, verified, strings.Join(sels, ", "), check)
			}
			return tw.Flush()
		}}
}
