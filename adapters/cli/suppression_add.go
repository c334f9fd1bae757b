package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/suppression"
)

// suppressionAdd is `posthaste suppression add ADDRESS --server ORG/NAME`: no mail to it.
func suppressionAdd() *spec {
	var (
		server, reason string
		ttl            time.Duration
	)
	return &spec{path: "suppression add", synopsis: "ADDRESS --server ORG/NAME [--reason R] [--ttl 720h]", summary: "stop mail to a recipient", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&server, "server", "", "the server, ORG/NAME")
			f.StringVar(&reason, "reason", suppression.ReasonManual, "why (manual, hard_bounce, complaint, unsubscribe)")
			f.DurationVar(&ttl, "ttl", 0, "expire the entry after this long (0 = never)")
		},
		run: func(c *call) error {
			ref, err := serverFlag(server)
			if err != nil {
				return err
			}
			arg, err := c.oneArg("ADDRESS")
			if err != nil {
				return err
			}
			addr, err := platform.CheckMailbox(arg)
			if err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			e, err := s.app.Commands.AddSuppression(c.ctx, s.op, platform.AddSuppression{Server: ref.String(), Address: addr, Reason: reason, TTL: ttl})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout(), "suppressed %s for %s\n", strings.ToLower(addr), e.ServerID)
			return err
		}}
}
