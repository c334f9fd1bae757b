package cli

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/webhook"
)

// webhookDeliveries is `posthaste webhook deliveries ID`: each delivery with every attempt.
func webhookDeliveries() *spec {
	var (
		limit  int
		asJSON bool
	)
	return &spec{path: "webhook deliveries", synopsis: "ID [--limit N] [--json]", summary: "a webhook's deliveries with every attempt", config: true,
		flags: func(f *pflag.FlagSet) {
			f.IntVar(&limit, "limit", 1000, "at most this many deliveries, oldest event first")
			f.BoolVar(&asJSON, "json", false, "print one JSON object per line")
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
			ds, err := s.app.Queries.WebhookDeliveries(c.ctx, s.op, id, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONLines(c.stdout(), ds, func(d webhook.Delivery) webhook.Delivery { return d })
			}
			tw := newTable(c.stdout())
			fmt.Fprintln(tw, "DELIVERY\tEVENT\tSTATUS\tATTEMPTS\tLAST CODE\tLAST ERROR\tOCCURRED")
			for _, d := range ds {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", d.ID, d.EventType, d.Status, d.Attempts, d.LastStatusCode, d.LastError,
					d.OccurredAt.Format(time.RFC3339))
			}
			return tw.Flush()
		}}
}
