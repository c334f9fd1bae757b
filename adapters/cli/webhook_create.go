package cli

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
)

// webhookCreate is `posthaste webhook create --server ORG/NAME --url URL`: the signing secret is
// printed once.
func webhookCreate() *spec {
	var (
		server, url, evs, format string
		asJSON                   bool
	)
	return &spec{path: "webhook create", synopsis: "--server ORG/NAME --url URL [--events a,b|all] [--format standard|postal] [--json]",
		summary: "subscribe a URL to a server's events; the signing secret is printed once", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&server, "server", "", "the server ORG/NAME (required)")
			f.StringVar(&url, "url", "", "the receiver's http(s) URL (required)")
			f.StringVar(&evs, "events", "all", "comma list of event wire names, or all: "+strings.Join(events.WebhookOffered(), ","))
			f.StringVar(&format, "format", webhook.FormatStandard, "standard (Standard Webhooks) or postal (Postal's payloads and RSA signatures)")
			f.BoolVar(&asJSON, "json", false, "print the webhook and its secret as JSON")
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
			if _, err := s.app.Queries.Server(c.ctx, s.op, ref.String()); err != nil {
				return err
			}
			if url == "" {
				return usagef("--url is required")
			}
			sub, secret, err := s.app.Commands.CreateWebhook(c.ctx, s.op, platform.CreateWebhook{Server: ref.String(), URL: url, Events: strings.Split(evs, ","), Format: format})
			if err != nil {
				return err
			}
			return printWebhook(c.stdout(), asJSON, sub, secret, "created webhook %s for server %s → %s (%s format)\nsecret: %s\nthe secret is shown only now: store it safely\n",
				sub.ID, sub.ServerID, sub.URL, sub.Format, secret)
		}}
}
