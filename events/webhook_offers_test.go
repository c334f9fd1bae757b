package events_test

import (
	"encoding/json"
	"testing"

	"github.com/posthaste/posthaste/events"
)

func TestWebhookOffersAreCatalogueEvents(t *testing.T) {
	known := map[string]bool{}
	for _, n := range events.Types() {
		known[n] = true
	}
	for _, n := range events.WebhookOffered() {
		if !known[n] {
			t.Errorf("%s is offered but not in the catalogue", n)
		}
		if !events.IsWebhookOffered(n) || !events.WebhookOfferedTo(n, events.WebhookFormatStandard) {
			t.Errorf("%s: listed but not offered", n)
		}
	}
	for _, n := range []string{"message.queued", "message.attempted", "message.signed", "credential.created", "webhook.created"} {
		if events.IsWebhookOffered(n) {
			t.Errorf("%s is offered", n)
		}
	}
	list := events.WebhookOffered()
	list[0] = "changed"
	if events.WebhookOffered()[0] != "message.delivered" {
		t.Error("WebhookOffered returned its own slice")
	}
}

func TestWebhookOffersByFormat(t *testing.T) {
	for _, n := range []string{"message.released", "message.hold_cancelled"} {
		if events.WebhookOfferedTo(n, events.WebhookFormatPostal) {
			t.Errorf("%s offered to postal subscriptions", n)
		}
		if !events.WebhookOfferedTo(n, events.WebhookFormatStandard) {
			t.Errorf("%s not offered to standard subscriptions", n)
		}
	}
	if !events.WebhookOfferedTo("message.delivered", events.WebhookFormatPostal) {
		t.Error("delivered not offered to postal subscriptions")
	}
}

func TestWebhookReceivesOnlyFailedDNSChecks(t *testing.T) {
	mk := func(ev events.Event) events.Envelope {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return events.Envelope{Type: ev.EventType(), Payload: b}
	}
	if events.WebhookReceives(mk(events.DomainDNSChecked{AllOK: true}), events.WebhookFormatStandard) {
		t.Error("a passing dns check is sent")
	}
	if !events.WebhookReceives(mk(events.DomainDNSChecked{AllOK: false}), events.WebhookFormatStandard) {
		t.Error("a failed dns check is not sent")
	}
	if events.WebhookReceives(events.Envelope{Type: "domain.dns_checked", Payload: []byte(`{`)}, events.WebhookFormatStandard) {
		t.Error("an undecodable dns check is sent")
	}
	if !events.WebhookReceives(mk(events.MessageDelivered{}), events.WebhookFormatPostal) {
		t.Error("delivered not received")
	}
	if events.WebhookReceives(mk(events.MessageReleased{}), events.WebhookFormatPostal) {
		t.Error("released received by a postal subscription")
	}
	if events.WebhookReceives(mk(events.MessageQueued{}), events.WebhookFormatStandard) {
		t.Error("queued received")
	}
}
