package cli

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// webhookReplay is `posthaste webhook replay WEBHOOK --since T`: the events the subscription
// receives, from the log, sent again with the same webhook-ids.
func webhookReplay() *spec {
	var (
		since, until string
		asJSON       bool
	)
	return &spec{path: "webhook replay", synopsis: "WEBHOOK --since T [--until T] [--json]",
		summary: "send a webhook the events it wants from the log since T again (same webhook-ids)", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&since, "since", "", "events that occurred at or after: RFC 3339 or relative (-2h) (required)")
			f.StringVar(&until, "until", "", "events that occurred before: RFC 3339 or relative")
			f.BoolVar(&asJSON, "json", false, "print the result as JSON")
		},
		run: func(c *call) error {
			id, err := c.oneArg("webhook ID")
			if err != nil {
				return err
			}
			now := time.Now()
			if since == "" {
				return usagef("--since is required")
			}
			from, err := parseTimeArg(since, now)
			if err != nil {
				return usagef("--since: %v", err)
			}
			to, err := parseTimeArg(until, now)
			if err != nil {
				return usagef("--until: %v", err)
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := s.app.Commands.ReplayWebhook(c.ctx, s.op, id, from, to)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), map[string]any{"webhook_id": res.WebhookID, "enqueued": len(res.DeliveryIDs), "delivery_ids": res.DeliveryIDs})
			}
			_, err = fmt.Fprintf(c.stdout(), "enqueued %d deliveries for webhook %s\n", len(res.DeliveryIDs), res.WebhookID)
			return err
		}}
}
