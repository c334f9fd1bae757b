package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// suppressionRemove is `posthaste suppression remove ADDRESS --server ORG/NAME`.
func suppressionRemove() *spec {
	var server string
	return &spec{path: "suppression remove", synopsis: "ADDRESS --server ORG/NAME", summary: "allow mail to a recipient again", config: true,
		flags: func(f *pflag.FlagSet) { f.StringVar(&server, "server", "", "the server, ORG/NAME") },
		run: func(c *call) error {
			ref, err := serverFlag(server)
			if err != nil {
				return err
			}
			addr, err := c.oneArg("ADDRESS")
			if err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.app.Commands.RemoveSuppression(c.ctx, s.op, ref.String(), addr, "manual"); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout(), "removed the suppression of %s for %s\n", strings.ToLower(addr), ref.ID())
			return err
		}}
}
