package cli

import (
	"fmt"

	"github.com/spf13/pflag"
)

// projectionsChecksum is `posthaste projections checksum [NAME…]`: a hash of every row of each
// projection's tables in canonical order (equal after a replay).
func projectionsChecksum() *spec {
	var asJSON bool
	return &spec{path: "projections checksum", synopsis: "[NAME…] [--json]",
		summary: "hash every row of each projection's tables (equal after a replay)", config: true,
		flags: func(f *pflag.FlagSet) { f.BoolVar(&asJSON, "json", false, "JSON lines") },
		run: func(c *call) error {
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			names, err := s.selectProjections(c.args, false, true)
			if err != nil {
				return err
			}
			sums, err := s.app.Queries.Checksum(c.ctx, s.op, names)
			for _, sum := range sums {
				if asJSON {
					if err := writeJSON(c.stdout(), sum); err != nil {
						return err
					}
					continue
				}
				rows := int64(0)
				for _, t := range sum.Tables {
					rows += t.Rows
				}
				fmt.Fprintf(c.stdout(), "%s\t%s\t%d rows\n", sum.Projection, sum.SHA256, rows)
			}
			return err
		}}
}
