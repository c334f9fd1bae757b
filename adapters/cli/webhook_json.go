package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/posthaste/posthaste/domain/webhook"
)

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

// printWebhook answers a command that returns one subscription: its JSON (with the secret, when
// the command made one), or the text line(s) format and args make.
func printWebhook(w io.Writer, asJSON bool, s webhook.Subscription, secret, format string, args ...any) error {
	if asJSON {
		return writeJSON(w, toWebhookJSON(s, secret))
	}
	_, err := fmt.Fprintf(w, format, args...)
	return err
}

func webhookState(s webhook.Subscription) string {
	if s.Enabled {
		return "enabled"
	}
	return "disabled (" + s.DisabledReason + ")"
}
