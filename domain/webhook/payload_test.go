package webhook_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
)

// updatePayloads rewrites the golden payloads: POSTHASTE_UPDATE_GOLDEN=1 go test ./domain/webhook/
var updatePayloads = os.Getenv("POSTHASTE_UPDATE_GOLDEN") == "1"

// samples are one event of each offered type, as the README documents them.
func samples(t *testing.T) []webhook.Input {
	t.Helper()
	at := time.Date(2026, 11, 24, 10, 15, 30, 123456000, time.UTC)
	facts := &webhook.MessageFacts{SubmissionID: "01a20c10-7d2e-7b3a-9c41-2f6d9e0b5a11", MailFrom: "b+01a20c10-7d31-7e55-8f02-6a1c3b9d4e27@rp.mail.example.com",
		Recipient: "jane@customer.example", HeaderFrom: "Billing <billing@example.com>", Subject: "Your invoice",
		MessageIDHeader: "<01a20c10-7d2e-7b3a-9c41-2f6d9e0b5a11@mail.example.com>", Tag: "invoices", QueuedAt: at.Add(-3 * time.Second)}
	msg := "01a20c10-7d31-7e55-8f02-6a1c3b9d4e27"
	list := []struct {
		ev         events.Event
		stream, id string
	}{
		{events.MessageDelivered{MXHost: "mx1.customer.example", ReplyCode: 250, ReplyText: "2.0.0 Ok: queued as 4Xk2", Attempt: 1}, "message", msg},
		{events.MessageDeferred{Attempt: 1, NextAttemptAt: at.Add(5 * time.Minute), Reason: "greylisted", ReplyCode: 451, Diagnostic: "4.7.1 Greylisted, please try again"}, "message", msg},
		{events.MessageBounced{Reason: "userunknown", Class: "hard", Status: "5.1.1", Diagnostic: "550 5.1.1 No such user here", RemoteMTA: "mx1.customer.example", Source: "smtp"}, "message", msg},
		{events.MessageBounced{Reason: "mailboxfull", Class: "soft", Status: "5.2.2", Diagnostic: "552 5.2.2 Mailbox full", RemoteMTA: "mx1.customer.example", Source: "dsn", ReportID: "rep-1"}, "message", msg},
		{events.MessageHeld{Reason: "suppressed", Details: "jane@customer.example is suppressed (hard_bounce)", Expires: at.Add(7 * 24 * time.Hour)}, "message", msg},
		{events.MessageReleased{By: "cli:alice"}, "message", msg},
		{events.MessageHoldCancelled{Reason: "operator"}, "message", msg},
		{events.MessageExpired{Attempts: 18, LastReplyCode: 451, LastReply: "4.4.1 Connection timed out"}, "message", msg},
		{events.MessageOpened{IP: "198.51.100.7", UserAgent: "Mozilla/5.0"}, "message", msg},
		{events.MessageClicked{URL: "https://example.com/invoices/42", IP: "198.51.100.7", UserAgent: "Mozilla/5.0"}, "message", msg},
		{events.DomainDNSChecked{Records: []events.DNSRecordCheck{{Purpose: "spf", Name: "example.com", Status: "ok", Required: true},
			{Purpose: "dkim", Name: "ph1._domainkey.example.com", Status: "missing", Reason: "no TXT record", Required: true}}}, "domain", "example.com"},
		{events.ServerSendLimitApproaching{Count: 900, Limit: 1000}, "server", "acme/main"},
		{events.ServerSendLimitExceeded{Count: 1001, Limit: 1000}, "server", "acme/main"},
	}
	var out []webhook.Input
	for i, e := range list {
		env, err := events.New(e.ev, events.Meta{ID: "01a20c10-8000-7c00-8000-0000000000" + string(rune('a'+i)) + "0", StreamType: e.stream, StreamID: e.id,
			StreamVersion: int64(i + 4), ServerID: "acme/main", OccurredAt: at, Actor: events.Actor{Type: "system", ID: "worker"}, CorrelationID: facts.SubmissionID})
		if err != nil {
			t.Fatal(err)
		}
		in := webhook.Input{Event: env, DeliveryID: "msg_3f229c646f70fbd75bb3e22b5cc53846", WebhookID: "01a20c0f-0000-7000-8000-000000000001"}
		if e.stream == "message" {
			in.Message = facts
		}
		out = append(out, in)
	}
	out = append(out, webhook.Input{Event: webhook.Ping("01a20c0f-0000-7000-8000-000000000001", "acme/main", "01a20c10-8000-7c00-8000-0000000000z0", at),
		DeliveryID: "msg_3f229c646f70fbd75bb3e22b5cc53846", WebhookID: "01a20c0f-0000-7000-8000-000000000001"})
	return out
}

// The payloads are frozen: receivers parse them. Each sample's Standard Webhooks body and (where
// Postal has the event) Postal body are compared with testdata/payloads.
func TestPayloadsGolden(t *testing.T) {
	var std, postal bytes.Buffer
	for _, in := range samples(t) {
		b, err := webhook.StandardBody(in)
		if err != nil {
			t.Fatal(err)
		}
		var p webhook.StandardPayload
		if err := json.Unmarshal(b, &p); err != nil || p.Type != in.Event.Type || p.Data.EventID != in.Event.ID {
			t.Errorf("%s: body %s does not name its event (%v)", in.Event.Type, b, err)
		}
		if in.Message != nil && (p.Data.Message == nil || p.Data.Message.SubmissionID == "" || p.Data.MessageID != in.Event.StreamID) {
			t.Errorf("%s: body lacks the message ids", in.Event.Type)
		}
		std.Write(b)
		std.WriteByte('\n')
		pb, ok, err := webhook.PostalBody(in)
		if err != nil {
			t.Fatal(err)
		}
		if want := webhook.PostalEventName(in.Event) != ""; ok != want {
			t.Errorf("%s: postal body %v, name %q", in.Event.Type, ok, webhook.PostalEventName(in.Event))
		}
		if ok {
			postal.Write(pb)
			postal.WriteByte('\n')
		}
	}
	for name, got := range map[string][]byte{"standard.jsonl": std.Bytes(), "postal.jsonl": postal.Bytes()} {
		path := filepath.Join("testdata", "payloads", name)
		if updatePayloads {
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (POSTHASTE_UPDATE_GOLDEN=1 writes it)", err)
		}
		if !bytes.Equal(got, want) {
			gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
			for i := range gl {
				if i >= len(wl) || gl[i] != wl[i] {
					t.Errorf("%s line %d changed:\n got %s\nwant %s", name, i+1, gl[i], wl[min(i, len(wl)-1)])
					break
				}
			}
		}
	}
}

// Postal payloads carry Postal's field names.
func TestPostalPayloadFields(t *testing.T) {
	for _, in := range samples(t) {
		b, ok, err := webhook.PostalBody(in)
		if err != nil || !ok {
			continue
		}
		var env map[string]json.RawMessage
		json.Unmarshal(b, &env)
		for _, k := range []string{"event", "timestamp", "payload", "uuid"} {
			if _, ok := env[k]; !ok {
				t.Errorf("%s: postal envelope lacks %q: %s", in.Event.Type, k, b)
			}
		}
		var p map[string]json.RawMessage
		json.Unmarshal(env["payload"], &p)
		var need []string
		switch webhook.PostalEventName(in.Event) {
		case webhook.PostalSent, webhook.PostalDelayed, webhook.PostalDeliveryFailed, webhook.PostalHeld:
			need = []string{"status", "details", "output", "time", "sent_with_ssl", "timestamp", "message"}
		case webhook.PostalBounced:
			need = []string{"original_message", "bounce"}
		case webhook.PostalLinkClicked:
			need = []string{"url", "token", "ip_address", "user_agent", "message"}
		case webhook.PostalSendLimitApproaching, webhook.PostalSendLimitExceeded:
			need = []string{"server", "volume", "limit"}
		case webhook.PostalDNSError:
			need = []string{"domain", "uuid", "dns_checked_at", "spf_status", "spf_error", "dkim_status", "dkim_error", "mx_status", "mx_error", "return_path_status", "return_path_error", "server"}
		}
		for _, k := range need {
			if _, ok := p[k]; !ok {
				t.Errorf("%s (%s): payload lacks %q: %s", in.Event.Type, webhook.PostalEventName(in.Event), k, env["payload"])
			}
		}
		if m, ok := p["message"]; ok && in.Event.StreamType == events.StreamMessage {
			var msg map[string]any
			json.Unmarshal(m, &msg)
			for _, k := range []string{"id", "token", "direction", "message_id", "to", "from", "subject", "timestamp", "spam_status", "tag"} {
				if _, ok := msg[k]; !ok {
					t.Errorf("%s: message lacks %q", in.Event.Type, k)
				}
			}
		}
	}
}
