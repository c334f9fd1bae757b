// Package webhookqueue is the read side of webhooks: a projection that keeps the subscriptions read
// model (webhook_subscriptions) and the facts of each message that payloads name
// (webhook_messages), and that enqueues one delivery (webhook_deliveries) per event and
// matching enabled subscription of the event's server. It lists deliveries with their attempts
// and reads the figures /metrics shows (Reader); the sender's job queue over these tables
// (claim due deliveries under an expiring lease, record attempts in webhook_attempts, redeliver,
// re-enqueue) is adapters/sqlstore's WebhookQueue, which hands out and takes the Claimed and
// Result values declared here.
//
// It performs no HTTP: adapters/webhooksender does. Delivery ids are derived
// from (subscription id, event id), so a replayed or redelivered event keeps its webhook-id.
// webhook_deliveries and webhook_attempts are sender state (status, retries, leases, attempt
// records), not part of the projection's rebuilt tables: a replay of the projection inserts
// missing deliveries (INSERT IGNORE) and never resets the ones already there.
package webhookqueue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// Name is the projection's stable name (queue, checkpoints, replay target).
const Name = "webhooks"

// Delivery statuses.
const (
	StatusPending   = "pending"   // an attempt is due at next_attempt_us (first try or a retry)
	StatusSucceeded = "succeeded" // the receiver answered 2xx
	StatusFailed    = "failed"    // not delivered: the subscription was disabled (410 Gone or an operator)
	StatusDead      = "dead"      // every attempt failed for the whole retry period
)

// DeliveryID is the webhook-id of an event sent to a subscription: stable across retries,
// redeliveries and replays.
func DeliveryID(webhookID, eventID string) string {
	sum := sha256.Sum256([]byte(webhookID + "\x00" + eventID))
	return "msg_" + hex.EncodeToString(sum[:16])
}

// Projection maintains webhook_subscriptions and webhook_messages and enqueues deliveries.
type Projection struct{}

// New returns the projection.
func New() Projection { return Projection{} }

func (Projection) Name() string     { return Name }
func (Projection) Tables() []string { return []string{"webhook_subscriptions", "webhook_messages"} }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Columns of the rows the projection inserts.
var (
	subscriptionColumns = []string{"webhook_id", "server_id", "url", "events", "format", "enabled", "disabled_reason", "secret_id",
		"previous_secret_id", "previous_until_us", "created_us"}
	messageColumns = []string{"message_id", "server_id", "submission_id", "mail_from", "rcpt_to", "header_from", "subject",
		"message_id_header", "tag", "queued_us"}
	deliveryColumns = []string{"delivery_id", "webhook_id", "server_id", "event_id", "event_type", "stream_key", "stream_version",
		"event_json", "occurred_us", "status", "attempts", "next_attempt_us", "first_attempt_us", "last_attempt_us",
		"last_status_code", "last_error", "lease_owner", "lease_until_us"}
)

// Apply folds one event. Times are UTC unix microseconds.
func (Projection) Apply(ctx context.Context, tx projections.Tx, rec events.Record) error {
	env := rec.Envelope
	at := env.OccurredAt.UTC().UnixMicro()
	exec := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}
	switch env.Type {
	case "webhook.created", "webhook.updated", "webhook.secret_rotated", "webhook.disabled", "message.queued":
		ev, err := events.Decode(env)
		if err != nil {
			return err
		}
		switch e := ev.(type) {
		case *events.WebhookCreated:
			return tx.InsertIgnore(ctx, "webhook_subscriptions", subscriptionColumns, [][]any{{env.StreamID, env.Server(), e.URL,
				strings.Join(e.Events, ","), e.Format, boolInt(e.Enabled), "", e.SecretID, "", 0, at}})
		case *events.WebhookUpdated:
			if e.URL != nil {
				if err := exec(`UPDATE webhook_subscriptions SET url = ? WHERE webhook_id = ?`, *e.URL, env.StreamID); err != nil {
					return err
				}
			}
			if e.Events != nil {
				if err := exec(`UPDATE webhook_subscriptions SET events = ? WHERE webhook_id = ?`, strings.Join(*e.Events, ","), env.StreamID); err != nil {
					return err
				}
			}
			if e.Format != nil {
				if err := exec(`UPDATE webhook_subscriptions SET format = ? WHERE webhook_id = ?`, *e.Format, env.StreamID); err != nil {
					return err
				}
			}
			if e.Enabled != nil {
				// The reason domain/webhook's fold gives (webhook.DisabledByUpdate; projections do
				// not import domain packages).
				reason := ""
				if !*e.Enabled {
					reason = "operator"
				}
				return exec(`UPDATE webhook_subscriptions SET enabled = ?, disabled_reason = ? WHERE webhook_id = ?`, boolInt(*e.Enabled), reason, env.StreamID)
			}
			return nil
		case *events.WebhookSecretRotated:
			return exec(`UPDATE webhook_subscriptions SET secret_id = ?, previous_secret_id = ?, previous_until_us = ? WHERE webhook_id = ?`,
				e.SecretID, e.PreviousSecretID, e.PreviousUntil.UTC().UnixMicro(), env.StreamID)
		case *events.WebhookDisabled:
			return exec(`UPDATE webhook_subscriptions SET enabled = 0, disabled_reason = ? WHERE webhook_id = ?`, e.Reason, env.StreamID)
		case *events.MessageQueued:
			return tx.InsertIgnore(ctx, "webhook_messages", messageColumns, [][]any{{env.StreamID, env.Server(), e.SubmissionID,
				e.MailFrom, e.RcptTo, e.HeaderFrom, e.Subject, e.MessageID, e.Tag, at}})
		}
		return nil
	}
	// The offer catalogue (events/webhook_offers.go) decides what a subscription may receive.
	if !events.IsWebhookOffered(env.Type) || env.Server() == "" {
		return nil
	}
	if env.Type == (events.DomainDNSChecked{}).EventType() {
		var c struct {
			AllOK bool `json:"all_required_ok"`
		}
		if err := json.Unmarshal(env.Payload, &c); err != nil {
			return err // a payload that does not decode is a poison event, not a silent skip
		}
	}
	if !events.WebhookReceives(env, events.WebhookFormatStandard) && !events.WebhookReceives(env, events.WebhookFormatPostal) {
		return nil // no subscription receives it (a passing DNS check): no need to read them
	}
	// Subscriptions created after the event occurred do not get it (deterministic even when the
	// bus reorders streams); `webhook replay` sends older events on request.
	rows, err := tx.QueryContext(ctx, `SELECT webhook_id, events, format FROM webhook_subscriptions
		WHERE server_id = ? AND enabled = 1 AND created_us <= ? ORDER BY webhook_id`, env.Server(), at)
	if err != nil {
		return err
	}
	type sub struct{ id, events, format string }
	var subs []sub
	for rows.Next() {
		var s sub
		if err := rows.Scan(&s.id, &s.events, &s.format); err != nil {
			rows.Close()
			return err
		}
		subs = append(subs, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(subs) == 0 {
		return nil
	}
	raw, err := events.Marshal(env)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if !Wants(s.events, env.Type) || !events.WebhookReceives(env, s.format) {
			continue
		}
		if err := AddDelivery(ctx, tx, s.id, env, raw, at, false); err != nil {
			return err
		}
	}
	return nil
}

// Wants reports whether a comma list of wire names ("" = all) includes a name.
func Wants(list, wireName string) bool {
	if list == "" {
		return true
	}
	for _, e := range strings.Split(list, ",") {
		if e == wireName {
			return true
		}
	}
	return false
}

// AddDelivery enqueues an event (raw: its stored JSON) for a subscription, due at dueUS (UTC
// unix microseconds). With reset, an existing delivery of the pair is set pending again
// (replay, redelivery) keeping its id; without, it is left as it is. The projection enqueues
// with it, and so does the webhook queue (adapters/sqlstore) when an operator re-enqueues.
func AddDelivery(ctx context.Context, tx projections.Tx, webhookID string, env events.Envelope, raw []byte, dueUS int64, reset bool) error {
	id := DeliveryID(webhookID, env.ID)
	err := tx.InsertIgnore(ctx, "webhook_deliveries", deliveryColumns, [][]any{{id, webhookID, env.Server(), env.ID, env.Type,
		env.StreamType + "/" + env.StreamID, env.StreamVersion, string(raw), env.OccurredAt.UTC().UnixMicro(), StatusPending, 0,
		dueUS, 0, 0, 0, "", "", 0}})
	if err != nil || !reset {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_us = ?, first_attempt_us = 0 WHERE delivery_id = ?`,
		StatusPending, dueUS, id)
	return err
}
