package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

func init() {
	register(command{path: "webhook create", usage: "--server ORG/NAME --url URL [--events a,b|all] [--format standard|postal] [--json]",
		summary: "subscribe a URL to a server's events; the signing secret is printed once", run: runWebhookCreate})
	register(command{path: "webhook list", usage: "--server ORG/NAME [--json]", summary: "list a server's webhooks", run: runWebhookList})
	register(command{path: "webhook update", usage: "ID [--url URL] [--events a,b|all] [--enable|--disable] [--format standard|postal] [--json]",
		summary: "change a webhook's URL, events, state or format (records webhook.updated with what changed)", run: runWebhookUpdate})
	register(command{path: "webhook disable", usage: "ID [--json]", summary: "stop sending to a webhook", run: runWebhookDisable})
	register(command{path: "webhook rotate-secret", usage: "ID [--json]",
		summary: "new signing secret (printed once); the old one also signs for 24h", run: runWebhookRotate})
	register(command{path: "webhook deliveries", usage: "ID [--limit N] [--json]",
		summary: "a webhook's deliveries with every attempt", run: runWebhookDeliveries})
	register(command{path: "webhook redeliver", usage: "DELIVERY [--json]", summary: "send a delivery again (same webhook-id)", run: runWebhookRedeliver})
	register(command{path: "webhook replay", usage: "WEBHOOK --since T [--until T] [--json]",
		summary: "send a webhook the events it wants from the log since T again (same webhook-ids)", run: runWebhookReplay})
	register(command{path: "webhook test", usage: "WEBHOOK [--json]", summary: "send a signed webhook.test ping", run: runWebhookTest})
}

// webhookEnv is an opened store with the webhook handlers and the delivery tables.
type webhookEnv struct {
	*tenancyEnv
	wh         *webhook.Handlers
	deliveries webhookDeliveries
	cause      domain.Cause
}

func openWebhooks(ctx context.Context, fs *flag.FlagSet, args []string, cio cliIO) (*webhookEnv, []string, error) {
	env, pos, err := openTenancy(ctx, fs, args, cio, false)
	if err != nil {
		return nil, nil, err
	}
	wh, err := webhook.NewHandlers(webhook.Deps{Store: env.store.Events, Secrets: env.secrets, Clock: time.Now, Rand: rand.Reader})
	if err != nil {
		env.Close()
		return nil, nil, err
	}
	st, err := newWebhookDeliveries(env.store.DB)
	if err != nil {
		env.Close()
		return nil, nil, err
	}
	return &webhookEnv{tenancyEnv: env, wh: wh, deliveries: st, cause: domain.Cause{Actor: env.actor}}, pos, nil
}

type webhookJSON struct {
	ID                 string     `json:"id"`
	Server             string     `json:"server"`
	URL                string     `json:"url"`
	Events             []string   `json:"events"` // ["all"] for every offered event
	Format             string     `json:"format"`
	Enabled            bool       `json:"enabled"`
	DisabledReason     string     `json:"disabled_reason,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	PreviousValidUntil *time.Time `json:"previous_secret_valid_until,omitempty"`
	Secret             string     `json:"secret,omitempty"` // create and rotate-secret only
}

func toWebhookJSON(s webhook.Subscription, secret string) webhookJSON {
	evs := s.Events
	if len(evs) == 0 {
		evs = []string{"all"}
	}
	out := webhookJSON{ID: s.ID, Server: s.ServerID, URL: s.URL, Events: evs, Format: s.Format, Enabled: s.Enabled,
		DisabledReason: s.DisabledReason, CreatedAt: s.CreatedAt.UTC(), Secret: secret}
	if s.PreviousSecretID != "" && time.Now().Before(s.PreviousUntil) {
		t := s.PreviousUntil.UTC()
		out.PreviousValidUntil = &t
	}
	return out
}

// printWebhook answers a command that returns one subscription: its JSON (with the secret,
// when the command made one), or the text line(s) format and args make.
func printWebhook(cio cliIO, asJSON bool, s webhook.Subscription, secret, format string, args ...any) error {
	if asJSON {
		return writeJSON(cio.stdout, toWebhookJSON(s, secret))
	}
	_, err := fmt.Fprintf(cio.stdout, format, args...)
	return err
}

// webhookCommand opens the store for a command taking one webhook (or delivery) ID.
func webhookCommand(ctx context.Context, fs *flag.FlagSet, args []string, cio cliIO, what string) (*webhookEnv, string, error) {
	env, pos, err := openWebhooks(ctx, fs, args, cio)
	if err != nil {
		return nil, "", err
	}
	id, err := oneArg(pos, what)
	if err != nil {
		env.Close()
		return nil, "", err
	}
	return env, id, nil
}

// webhookServer opens the store for a command taking --server and no argument, and resolves it.
func webhookServer(ctx context.Context, fs *flag.FlagSet, args []string, cio cliIO, server *string) (*webhookEnv, string, error) {
	env, pos, err := openWebhooks(ctx, fs, args, cio)
	if err != nil {
		return nil, "", err
	}
	id, err := func() (string, error) {
		if err := noArgs(pos); err != nil {
			return "", err
		}
		ref, err := serverFlag(*server)
		if err != nil {
			return "", err
		}
		srv, err := env.h.GetServer(ctx, ref)
		return srv.ID, err
	}()
	if err != nil {
		env.Close()
		return nil, "", err
	}
	return env, id, nil
}

func runWebhookCreate(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("webhook create", true)
	server := fs.String("server", "", "the server ORG/NAME (required)")
	url := fs.String("url", "", "the receiver's http(s) URL (required)")
	evs := fs.String("events", "all", "comma list of event wire names, or all: "+strings.Join(webhook.Offered, ","))
	format := fs.String("format", webhook.FormatStandard, "standard (Standard Webhooks) or postal (Postal's payloads and RSA signatures)")
	asJSON := fs.Bool("json", false, "print the webhook and its secret as JSON")
	env, serverID, err := webhookServer(ctx, fs, args, cio, server)
	if err != nil {
		return err
	}
	defer env.Close()
	if *url == "" {
		return usagef("--url is required")
	}
	s, secret, err := env.wh.Create(ctx, webhook.Create{ServerID: serverID, URL: *url, Events: strings.Split(*evs, ","), Format: *format, Cause: env.cause})
	if err != nil {
		return err
	}
	return printWebhook(cio, *asJSON, s, secret, "created webhook %s for server %s → %s (%s format)\nsecret: %s\nthe secret is shown only now: store it safely\n",
		s.ID, s.ServerID, s.URL, s.Format, secret)
}

func runWebhookList(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("webhook list", true)
	server := fs.String("server", "", "the server ORG/NAME (required)")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	env, serverID, err := webhookServer(ctx, fs, args, cio, server)
	if err != nil {
		return err
	}
	defer env.Close()
	subs, err := env.wh.List(ctx, serverID)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLines(cio.stdout, subs, func(s webhook.Subscription) webhookJSON { return toWebhookJSON(s, "") })
	}
	tw := newTable(cio.stdout)
	fmt.Fprintln(tw, "ID\tURL\tFORMAT\tEVENTS\tSTATE")
	for _, s := range subs {
		j := toWebhookJSON(s, "")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.URL, s.Format, strings.Join(j.Events, ","), webhookState(s))
	}
	return tw.Flush()
}

func runWebhookUpdate(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("webhook update", true)
	url := fs.String("url", "", "the receiver's new http(s) URL")
	evs := fs.String("events", "", "the new comma list of event wire names, or all: "+strings.Join(webhook.Offered, ","))
	format := fs.String("format", "", "standard or postal")
	enable := fs.Bool("enable", false, "send to the webhook again (deliveries failed while it was disabled stay failed: redeliver or replay them)")
	disable := fs.Bool("disable", false, "stop sending to the webhook")
	asJSON := fs.Bool("json", false, "print the webhook as JSON")
	env, id, err := webhookCommand(ctx, fs, args, cio, "webhook ID")
	if err != nil {
		return err
	}
	defer env.Close()
	u := webhook.Update{Cause: env.cause}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *enable && *disable {
		return usagef("--enable and --disable exclude each other")
	}
	if set["url"] {
		u.URL = url
	}
	if set["events"] {
		list := strings.Split(*evs, ",")
		u.Events = &list
	}
	if set["format"] {
		u.Format = format
	}
	if *enable || *disable {
		on := *enable
		u.Enabled = &on
	}
	if u.URL == nil && u.Events == nil && u.Format == nil && u.Enabled == nil {
		return usagef("nothing to change: give --url, --events, --format, --enable or --disable")
	}
	before, err := env.wh.Get(ctx, id)
	if err != nil {
		return err
	}
	s, err := env.wh.Update(ctx, id, u)
	if err != nil {
		return err
	}
	j := toWebhookJSON(s, "")
	return printWebhook(cio, *asJSON, s, "", "%s webhook %s → %s (%s format, events %s, %s)\n", updatedVerb(s.Version != before.Version),
		s.ID, s.URL, s.Format, strings.Join(j.Events, ","), webhookState(s))
}

func webhookState(s webhook.Subscription) string {
	if s.Enabled {
		return "enabled"
	}
	return "disabled (" + s.DisabledReason + ")"
}

func runWebhookDisable(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("webhook disable", true)
	asJSON := fs.Bool("json", false, "print the webhook as JSON")
	env, id, err := webhookCommand(ctx, fs, args, cio, "webhook ID")
	if err != nil {
		return err
	}
	defer env.Close()
	s, err := env.wh.Disable(ctx, id, "operator", env.cause)
	if err != nil {
		return err
	}
	return printWebhook(cio, *asJSON, s, "", "webhook %s disabled\n", s.ID)
}

func runWebhookRotate(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("webhook rotate-secret", true)
	asJSON := fs.Bool("json", false, "print the webhook and its new secret as JSON")
	env, id, err := webhookCommand(ctx, fs, args, cio, "webhook ID")
	if err != nil {
		return err
	}
	defer env.Close()
	s, secret, err := env.wh.RotateSecret(ctx, id, env.cause)
	if err != nil {
		return err
	}
	return printWebhook(cio, *asJSON, s, secret, "new secret of webhook %s: %s\nthe previous secret also signs until %s\nthe secret is shown only now: store it safely\n",
		s.ID, secret, s.PreviousUntil.UTC().Format(time.RFC3339))
}

func runWebhookDeliveries(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("webhook deliveries", true)
	limit := fs.Int("limit", 1000, "at most this many deliveries, oldest event first")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	env, id, err := webhookCommand(ctx, fs, args, cio, "webhook ID")
	if err != nil {
		return err
	}
	defer env.Close()
	if _, err := env.wh.Get(ctx, id); err != nil {
		return err
	}
	ds, err := env.deliveries.Deliveries(ctx, id, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLines(cio.stdout, ds, func(d webhookqueue.Delivery) webhookqueue.Delivery { return d })
	}
	tw := newTable(cio.stdout)
	fmt.Fprintln(tw, "DELIVERY\tEVENT\tSTATUS\tATTEMPTS\tLAST CODE\tLAST ERROR\tOCCURRED")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", d.ID, d.EventType, d.Status, d.Attempts, d.LastStatusCode, d.LastError,
			d.OccurredAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func runWebhookRedeliver(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("webhook redeliver", true)
	asJSON := fs.Bool("json", false, "print the delivery as JSON")
	env, id, err := webhookCommand(ctx, fs, args, cio, "delivery ID")
	if err != nil {
		return err
	}
	defer env.Close()
	d, err := env.deliveries.Redeliver(ctx, id, time.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, map[string]any{"id": d.ID, "webhook_id": d.WebhookID, "event_id": d.EventID, "status": d.Status})
	}
	fmt.Fprintf(cio.stdout, "delivery %s (%s) is due again\n", d.ID, d.EventType)
	return nil
}

func runWebhookReplay(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("webhook replay", true)
	since := fs.String("since", "", "events that occurred at or after: RFC 3339 or relative (-2h) (required)")
	until := fs.String("until", "", "events that occurred before: RFC 3339 or relative")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	env, id, err := webhookCommand(ctx, fs, args, cio, "webhook ID")
	if err != nil {
		return err
	}
	defer env.Close()
	now := time.Now()
	if *since == "" {
		return usagef("--since is required")
	}
	from, err := parseTimeArg(*since, now)
	if err != nil {
		return usagef("--since: %v", err)
	}
	to, err := parseTimeArg(*until, now)
	if err != nil {
		return usagef("--until: %v", err)
	}
	s, err := env.wh.Get(ctx, id)
	if err != nil {
		return err
	}
	if !s.Enabled {
		return fmt.Errorf("webhook %s is disabled", s.ID)
	}
	var envs []events.Envelope
	after := int64(0)
	for {
		recs, err := env.store.Events.Query(ctx, domain.EventFilter{ServerID: s.ServerID, Types: webhook.Offered, Since: from, Until: to,
			After: after, Limit: 1000})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Position > after {
				after = r.Position
			}
			e := r.Envelope
			if !s.Wants(e.Type) || !events.WebhookOfferedTo(e.Type, s.Format) || (e.Type == "domain.dns_checked" && dnsAllOK(e)) {
				continue
			}
			envs = append(envs, e)
		}
		if len(recs) < 1000 || recs[len(recs)-1].Position == 0 {
			break
		}
	}
	ids, err := env.deliveries.Enqueue(ctx, s.ID, envs, now)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, map[string]any{"webhook_id": s.ID, "enqueued": len(ids), "delivery_ids": ids})
	}
	fmt.Fprintf(cio.stdout, "enqueued %d deliveries for webhook %s\n", len(ids), s.ID)
	return nil
}

func dnsAllOK(e events.Envelope) bool {
	ev, err := events.Decode(e)
	if err != nil {
		return false
	}
	c, ok := ev.(*events.DomainDNSChecked)
	return ok && c.AllOK
}

func runWebhookTest(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("webhook test", true)
	asJSON := fs.Bool("json", false, "print the delivery as JSON")
	env, id, err := webhookCommand(ctx, fs, args, cio, "webhook ID")
	if err != nil {
		return err
	}
	defer env.Close()
	s, err := env.wh.Get(ctx, id)
	if err != nil {
		return err
	}
	now := time.Now()
	ping := webhook.Ping(s.ID, s.ServerID, events.NewID(now, nil), now)
	ids, err := env.deliveries.Enqueue(ctx, s.ID, []events.Envelope{ping}, now)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, map[string]any{"webhook_id": s.ID, "delivery_id": ids[0], "event_id": ping.ID})
	}
	fmt.Fprintf(cio.stdout, "test event enqueued as delivery %s (the webhooks role sends it)\n", ids[0])
	return nil
}
