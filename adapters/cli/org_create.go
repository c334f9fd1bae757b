package cli

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

type orgJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// orgCreate is `posthaste org create NAME`.
func orgCreate() *spec {
	var asJSON bool
	return &spec{path: "org create", synopsis: "NAME [--json]", summary: "create an organization", config: true,
		flags: func(f *pflag.FlagSet) { f.BoolVar(&asJSON, "json", false, "print the organization as JSON") },
		run: func(c *call) error {
			name, err := c.oneArg("NAME")
			if err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			o, err := s.app.Commands.CreateOrg(c.ctx, s.op, name)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), orgJSON{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt.UTC()})
			}
			_, err = fmt.Fprintf(c.stdout(), "created organization %s\n", o.Name)
			return err
		}}
}
