package events

import "encoding/json"

// The webhook offer catalogue: which events a webhook subscription may receive, per payload
// format. It is vocabulary shared by the subscription commands (domain/webhook), the queue that
// enqueues deliveries (projections/webhookqueue) and `webhook replay`, so that all three answer
// the same question the same way.

// Webhook payload formats (domain/webhook.FormatStandard, FormatPostal).
const (
	WebhookFormatStandard = "standard"
	WebhookFormatPostal   = "postal"
)

// webhookOffered are the wire names a subscription may ask for, in documentation order.
var webhookOffered = []string{
	"message.delivered", "message.deferred", "message.bounced", "message.held", "message.released",
	"message.hold_cancelled", "message.expired", "message.opened", "message.clicked",
	"domain.dns_checked", "server.send_limit_approaching", "server.send_limit_exceeded",
}

// notPostal are offered events Postal has no equivalent for: Postal-format subscriptions never
// receive them.
var notPostal = map[string]bool{"message.released": true, "message.hold_cancelled": true}

// WebhookOffered returns the wire names a subscription may ask for, in documentation order
// (a copy: callers may keep or change it).
func WebhookOffered() []string { return append([]string(nil), webhookOffered...) }

// IsWebhookOffered reports whether a wire name can be subscribed to.
func IsWebhookOffered(wireName string) bool {
	for _, o := range webhookOffered {
		if o == wireName {
			return true
		}
	}
	return false
}

// WebhookOfferedTo reports whether events of a wire name are sent to subscriptions of a payload
// format: it is offered, and Postal-format subscriptions do not get the events Postal lacks.
func WebhookOfferedTo(wireName, format string) bool {
	if format == WebhookFormatPostal && notPostal[wireName] {
		return false
	}
	return IsWebhookOffered(wireName)
}

// WebhookReceives reports whether one event is sent to a subscription of a format that asked for
// its type: WebhookOfferedTo, and a domain.dns_checked only when a required record failed (a
// passing check is no news). A dns_checked payload that does not decode is not sent.
func WebhookReceives(env Envelope, format string) bool {
	if !WebhookOfferedTo(env.Type, format) {
		return false
	}
	if env.Type == (DomainDNSChecked{}).EventType() {
		var c struct {
			AllOK bool `json:"all_required_ok"`
		}
		if err := json.Unmarshal(env.Payload, &c); err != nil {
			return false
		}
		return !c.AllOK
	}
	return true
}
