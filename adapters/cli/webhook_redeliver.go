package cli

import (
	"fmt"

	"github.com/spf13/pflag"
)

// webhookRedeliver is `posthaste webhook redeliver DELIVERY`: due again now, same webhook-id.
func webhookRedeliver() *spec {
	var asJSON bool
	return &spec{path: "webhook redeliver", synopsis: "DELIVERY [--json]", summary: "send a delivery again (same webhook-id)", config: true,
		flags: func(f *pflag.FlagSet) { f.BoolVar(&asJSON, "json", false, "print the delivery as JSON") },
		run: func(c *call) error {
			id, err := c.oneArg("delivery ID")
			if err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			d, err := s.app.Commands.RedeliverWebhook(c.ctx, s.op, "", id)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), map[string]any{"id": d.ID, "webhook_id": d.WebhookID, "event_id": d.EventID, "status": d.Status})
			}
			_, err = fmt.Fprintf(c.stdout(), "delivery %s (%s) is due again\n", d.ID, d.EventType)
			return err
		}}
}
