package cli

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
)

// webhookUpdate is `posthaste webhook update ID`: only the flags given change, recorded in one
// webhook.updated with what changed.
func webhookUpdate() *spec {
	var (
		url, evs, format        string
		enable, disable, asJSON bool
	)
	return &spec{path: "webhook update", synopsis: "ID [--url URL] [--events a,b|all] [--enable|--disable] [--format standard|postal] [--json]",
		summary: "change a webhook's URL, events, state or format (records webhook.updated with what changed)", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&url, "url", "", "the receiver's new http(s) URL")
			f.StringVar(&evs, "events", "", "the new comma list of event wire names, or all: "+strings.Join(events.WebhookOffered(), ","))
			f.StringVar(&format, "format", "", "standard or postal")
			f.BoolVar(&enable, "enable", false, "send to the webhook again (deliveries failed while it was disabled stay failed: redeliver or replay them)")
			f.BoolVar(&disable, "disable", false, "stop sending to the webhook")
			f.BoolVar(&asJSON, "json", false, "print the webhook as JSON")
		},
		run: func(c *call) error {
			id, err := c.oneArg("webhook ID")
			if err != nil {
				return err
			}
			if enable && disable {
				return usagef("--enable and --disable exclude each other")
			}
			var u webhook.Update
			if c.changed("url") {
				u.URL = &url
			}
			if c.changed("events") {
				list := strings.Split(evs, ",")
				u.Events = &list
			}
			if c.changed("format") {
				u.Format = &format
			}
			if enable || disable {
				on := enable
				u.Enabled = &on
			}
			if u.URL == nil && u.Events == nil && u.Format == nil && u.Enabled == nil {
				return usagef("nothing to change: give --url, --events, --format, --enable or --disable")
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			sub, changed, err := s.app.Commands.UpdateWebhook(c.ctx, s.op, id, u)
			if err != nil {
				return err
			}
			j := toWebhookJSON(sub, "")
			return printWebhook(c.stdout(), asJSON, sub, "", "%s webhook %s → %s (%s format, events %s, %s)\n", updatedVerb(changed),
				sub.ID, sub.URL, sub.Format, strings.Join(j.Events, ","), webhookState(sub))
		}}
}
