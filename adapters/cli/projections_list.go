package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// projectionsList is `posthaste projections list`: each projection and the tables it owns.
func projectionsList() *spec {
	var asJSON bool
	return &spec{path: "projections list", synopsis: "[--json]", summary: "list the projections", config: true,
		flags: func(f *pflag.FlagSet) { f.BoolVar(&asJSON, "json", false, "JSON lines") },
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			for _, p := range s.app.Queries.Projections() {
				if asJSON {
					if err := writeJSON(c.stdout(), p); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(c.stdout(), "%s\t%s\n", p.Name, strings.Join(p.Tables, ","))
			}
			return nil
		}}
}
