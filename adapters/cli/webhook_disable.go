package cli

import "github.com/spf13/pflag"

// webhookDisable is `posthaste webhook disable ID`.
func webhookDisable() *spec {
	var asJSON bool
	return &spec{path: "webhook disable", synopsis: "ID [--json]", summary: "stop sending to a webhook", config: true,
		flags: func(f *pflag.FlagSet) { f.BoolVar(&asJSON, "json", false, "print the webhook as JSON") },
		run: func(c *call) error {
			id, err := c.oneArg("webhook ID")
			if err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			sub, err := s.app.Commands.DisableWebhook(c.ctx, s.op, id, "operator")
			if err != nil {
				return err
			}
			return printWebhook(c.stdout(), asJSON, sub, "", "webhook %s disabled\n", sub.ID)
		}}
}
