package webhook

import "github.com/posthaste/posthaste/events"

// Receives reports whether one event is sent to the subscription: it asked for the event's type
// (Wants) and the offer catalogue sends that event to the subscription's format
// (events.WebhookReceives: Postal-format subscriptions lack released and hold_cancelled, and a
// domain.dns_checked is sent only when a required record failed). Replays and the delivery queue
// apply this one rule.
func (s Subscription) Receives(env events.Envelope) bool {
	return s.Wants(env.Type) && events.WebhookReceives(env, s.Format)
}
