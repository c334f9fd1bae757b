package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/webhook"
)

// webhookList is `posthaste webhook list --server ORG/NAME`.
func webhookList() *spec {
	var (
		server string
		asJSON bool
	)
	return &spec{path: "webhook list", synopsis: "--server ORG/NAME [--json]", summary: "list a server's webhooks", config: true,
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
			subs, err := s.app.Queries.Webhooks(c.ctx, s.op, ref.String())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONLines(c.stdout(), subs, func(s webhook.Subscription) webhookJSON { return toWebhookJSON(s, "") })
			}
			tw := newTable(c.stdout())
			fmt.Fprintln(tw, "ID\tURL\tFORMAT\tEVENTS\tSTATE")
			for _, sub := range subs {
				j := toWebhookJSON(sub, "")
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sub.ID, sub.URL, sub.Format, strings.Join(j.Events, ","), webhookState(sub))
			}
			return tw.Flush()
		}}
}
