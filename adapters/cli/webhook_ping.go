package cli

import (
	"fmt"

	"github.com/spf13/pflag"
)

// webhookTest is `posthaste webhook test WEBHOOK`: a signed webhook.test ping (never in the log).
func webhookTest() *spec {
	var asJSON bool
	return &spec{path: "webhook test", synopsis: "WEBHOOK [--json]", summary: "send a signed webhook.test ping", config: true,
		flags: func(f *pflag.FlagSet) { f.BoolVar(&asJSON, "json", false, "print the delivery as JSON") },
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
			res, err := s.app.Commands.TestWebhook(c.ctx, s.op, id)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), map[string]any{"webhook_id": res.WebhookID, "delivery_id": res.DeliveryIDs[0], "event_id": res.EventIDs[0]})
			}
			_, err = fmt.Fprintf(c.stdout(), "test event enqueued as delivery %s (the webhooks role sends it)\n", res.DeliveryIDs[0])
			return err
		}}
}
