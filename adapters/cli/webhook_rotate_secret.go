package cli

import (
	"time"

	"github.com/spf13/pflag"
)

// webhookRotateSecret is `posthaste webhook rotate-secret ID`: a new signing secret, printed once;
// the previous one also signs for a day.
func webhookRotateSecret() *spec {
	var asJSON bool
	return &spec{path: "webhook rotate-secret", synopsis: "ID [--json]",
		summary: "new signing secret (printed once); the old one also signs for 24h", config: true,
		flags: func(f *pflag.FlagSet) {
			f.BoolVar(&asJSON, "json", false, "print the webhook and its new secret as JSON")
		},
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
			sub, secret, err := s.app.Commands.RotateWebhookSecret(c.ctx, s.op, id)
			if err != nil {
				return err
			}
			return printWebhook(c.stdout(), asJSON, sub, secret, "new secret of webhook %s: %s\nthe previous secret also signs until %s\nthe secret is shown only now: store it safely\n",
				sub.ID, secret, sub.PreviousUntil.UTC().Format(time.RFC3339))
		}}
}
