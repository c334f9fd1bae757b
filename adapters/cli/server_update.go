package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// serverUpdate is `posthaste server update ORG/NAME`: only the flags given change.
func serverUpdate() *spec {
	var (
		mode             string
		limit, retention int
		asJSON           bool
	)
	return &spec{path: "server update", synopsis: "ORG/NAME [--mode live|development] [--send-limit N] [--retention-days N] [--json]",
		summary: "change a server's settings", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&mode, "mode", "", "live, or development (every message is held)")
			f.IntVar(&limit, "send-limit", 0, "messages per rolling hour; 0 = unlimited")
			f.IntVar(&retention, "retention-days", 0, "days messages are kept")
			f.BoolVar(&asJSON, "json", false, "print the server as JSON")
		},
		run: func(c *call) error {
			arg, err := c.oneArg("ORG/NAME")
			if err != nil {
				return err
			}
			ref, err := tenancy.ParseServerRef(arg)
			if err != nil {
				return err
			}
			u := tenancy.UpdateServer{Ref: ref}
			if c.changed("mode") {
				u.Mode = &mode
			}
			if c.changed("send-limit") {
				u.SendLimitPerHour = &limit
			}
			if c.changed("retention-days") {
				u.RetentionDays = &retention
			}
			if u.Mode == nil && u.SendLimitPerHour == nil && u.RetentionDays == nil {
				return usagef("nothing to change: give --mode, --send-limit or --retention-days")
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			srv, changed, err := s.app.Commands.UpdateServer(c.ctx, s.op, u)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), toServerJSON(srv))
			}
			_, err = fmt.Fprintf(c.stdout(), "%s server %s/%s (mode %s, send limit %d/hour (0 = unlimited), retention %d days)\n",
				updatedVerb(changed), srv.OrgName, srv.Name, srv.Mode, srv.SendLimitPerHour, srv.RetentionDays)
			return err
		}}
}
