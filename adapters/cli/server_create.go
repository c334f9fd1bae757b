package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// serverCreate is `posthaste server create ORG/NAME`.
func serverCreate() *spec {
	var (
		mode             string
		limit, retention int
		asJSON           bool
	)
	return &spec{path: "server create", synopsis: "ORG/NAME [--mode live|development] [--send-limit N] [--retention-days N] [--json]",
		summary: "create a mail server in an organization", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&mode, "mode", tenancy.ModeLive, "live, or development (every message is held)")
			f.IntVar(&limit, "send-limit", 0, "messages per rolling hour; 0 = unlimited")
			f.IntVar(&retention, "retention-days", tenancy.DefaultRetentionDays, "days messages are kept")
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
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			srv, err := s.app.Commands.CreateServer(c.ctx, s.op, tenancy.CreateServer{Ref: ref, Mode: mode, SendLimitPerHour: limit, RetentionDays: retention})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), toServerJSON(srv))
			}
			lim := "unlimited"
			if srv.SendLimitPerHour > 0 {
				lim = fmt.Sprintf("%d/hour", srv.SendLimitPerHour)
			}
			_, err = fmt.Fprintf(c.stdout(), "created server %s/%s (mode %s, send limit %s, retention %d days)\n", srv.OrgName, srv.Name, srv.Mode, lim, srv.RetentionDays)
			return err
		}}
}
