package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/posthaste/posthaste/events"
)

// PingType is the wire name of the test event `posthaste webhook test` sends. It is not
// recorded in the event log: it only exercises the endpoint and its signature check.
const PingType = "webhook.test"

// MessageFacts are what the message.queued event of a message said, so that every later
// event of that message names its submission, recipient, sender and subject.
type MessageFacts struct {
	SubmissionID    string    `json:"submission_id"`
	MailFrom        string    `json:"mail_from"`
	Recipient       string    `json:"recipient"`
	HeaderFrom      string    `json:"from"`
	Subject         string    `json:"subject"`
	MessageIDHeader string    `json:"message_id_header"`
	Tag             string    `json:"tag,omitempty"`
	QueuedAt        time.Time `json:"queued_at"`
}

// Input is one event as a delivery carries it.
type Input struct {
	Event      events.Envelope
	Message    *MessageFacts // nil for events of other streams (or a message queued before the projection existed)
	DeliveryID string        // the webhook-id; Postal's uuid
	WebhookID  string        // the subscription
}

// StandardPayload is the JSON body of a Standard Webhooks request.
type StandardPayload struct {
	Type      string       `json:"type"`
	Timestamp time.Time    `json:"timestamp"`
	Data      StandardData `json:"data"`
}

// StandardData ties the event to the audit trail: the event id (`posthaste events`), its
// stream, the server, the message and submission, and the event's own facts as recorded.
type StandardData struct {
	EventID       string          `json:"event_id"`
	Server        string          `json:"server,omitempty"`
	StreamType    string          `json:"stream_type"`
	StreamID      string          `json:"stream_id"`
	StreamVersion int64           `json:"stream_version"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	MessageID     string          `json:"message_id,omitempty"`
	Message       *MessageFacts   `json:"message,omitempty"`
	Details       json.RawMessage `json:"details"`
}

// StandardBody builds the body of a Standard Webhooks request for one event. The same event
// always gives the same bytes, so a retried or replayed request is identical apart from its
// timestamp header.
func StandardBody(in Input) ([]byte, error) {
	env := in.Event
	p := StandardPayload{Type: env.Type, Timestamp: env.OccurredAt.UTC(), Data: StandardData{
		EventID: env.ID, Server: env.Server(), StreamType: env.StreamType, StreamID: env.StreamID,
		StreamVersion: env.StreamVersion, CorrelationID: env.CorrelationID, Details: env.Payload,
	}}
	if env.StreamType == events.StreamMessage {
		p.Data.MessageID = env.StreamID
		p.Data.Message = in.Message
	}
	if len(p.Data.Details) == 0 {
		p.Data.Details = json.RawMessage("{}")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("webhook: payload of %s: %w", env.ID, err)
	}
	return b, nil
}

// Ping builds the envelope of a test event for a subscription (never stored in the log).
func Ping(webhookID, serverID, id string, now time.Time) events.Envelope {
	s := serverID
	payload, _ := json.Marshal(map[string]string{"webhook_id": webhookID, "message": "test event from posthaste webhook test"})
	return events.Envelope{ID: id, Type: PingType, SchemaVersion: 1, StreamType: events.StreamWebhook, StreamID: webhookID,
		StreamVersion: 0, ServerID: &s, OccurredAt: now.UTC(), Actor: events.Actor{Type: events.ActorCLI}, Payload: payload}
}

// Postal event names.
const (
	PostalSent                 = "MessageSent"
	PostalDelayed              = "MessageDelayed"
	PostalDeliveryFailed       = "MessageDeliveryFailed"
	PostalHeld                 = "MessageHeld"
	PostalBounced              = "MessageBounced"
	PostalLinkClicked          = "MessageLinkClicked"
	PostalLoaded               = "MessageLoaded"
	PostalDNSError             = "DomainDNSError"
	PostalSendLimitApproaching = "SendLimitApproaching"
	PostalSendLimitExceeded    = "SendLimitExceeded"
	PostalTest                 = "TestEvent"
)

// PostalEventName maps an event to the Postal event it is sent as ("" when Postal has no
// equivalent: released and hold_cancelled are not sent to Postal-format subscriptions).
// A bounce reported by a DSN is MessageBounced; one answered during the SMTP dialogue is
// MessageDeliveryFailed, as Postal reports them.
func PostalEventName(env events.Envelope) string {
	switch env.Type {
	case "message.delivered":
		return PostalSent
	case "message.deferred":
		return PostalDelayed
	case "message.expired":
		return PostalDeliveryFailed
	case "message.bounced":
		var b struct {
			Source string `json:"source"`
		}
		_ = json.Unmarshal(env.Payload, &b)
		if b.Source == "dsn" {
			return PostalBounced
		}
		return PostalDeliveryFailed
	case "message.held":
		return PostalHeld
	case "message.clicked":
		return PostalLinkClicked
	case "message.opened":
		return PostalLoaded
	case "domain.dns_checked":
		return PostalDNSError
	case "server.send_limit_approaching":
		return PostalSendLimitApproaching
	case "server.send_limit_exceeded":
		return PostalSendLimitExceeded
	case PingType:
		return PostalTest
	}
	return ""
}

// PostalEnvelope is the body of a Postal-format request.
type PostalEnvelope struct {
	Event     string  `json:"event"`
	Timestamp float64 `json:"timestamp"`
	Payload   any     `json:"payload"`
	UUID      string  `json:"uuid"`
}

// postalMessage is Postal's description of a message inside its payloads. Postal's numeric id
// becomes our message id (a string) and its token our submission id.
type postalMessage struct {
	ID         string  `json:"id"`
	Token      string  `json:"token"`
	Direction  string  `json:"direction"`
	MessageID  string  `json:"message_id"`
	To         string  `json:"to"`
	From       string  `json:"from"`
	Subject    string  `json:"subject"`
	Timestamp  float64 `json:"timestamp"`
	SpamStatus string  `json:"spam_status"`
	Tag        *string `json:"tag"`
}

type postalStatus struct {
	Status      string        `json:"status"`
	Details     string        `json:"details"`
	Output      string        `json:"output"`
	Time        *float64      `json:"time"`
	SentWithSSL bool          `json:"sent_with_ssl"`
	Timestamp   float64       `json:"timestamp"`
	Message     postalMessage `json:"message"`
}

type postalServer struct {
	UUID         string `json:"uuid"`
	Name         string `json:"name"`
	Permalink    string `json:"permalink"`
	Organization string `json:"organization"`
}

func unixFloat(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMicro()) / 1e6
}

func postalMsg(id string, f *MessageFacts) postalMessage {
	m := postalMessage{ID: id, Direction: "outgoing", SpamStatus: "NotChecked"}
	if f != nil {
		m.Token, m.MessageID, m.To, m.From, m.Subject = f.SubmissionID, strings.Trim(f.MessageIDHeader, "<>"), f.Recipient, f.MailFrom, f.Subject
		m.Timestamp = unixFloat(f.QueuedAt)
		if f.Tag != "" {
			t := f.Tag
			m.Tag = &t
		}
	}
	return m
}

func serverOf(id string) postalServer {
	org, name, _ := strings.Cut(id, "/")
	return postalServer{UUID: id, Name: name, Permalink: name, Organization: org}
}

func reply(code int, text string) string {
	if code == 0 {
		return text
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s", code, text))
}

// PostalBody builds the body of a Postal-format request: Postal's envelope, event names and
// payload fields. ok is false for an event Postal has no equivalent for.
func PostalBody(in Input) (body []byte, ok bool, err error) {
	env := in.Event
	name := PostalEventName(env)
	if name == "" {
		return nil, false, nil
	}
	ev, err := decode(env)
	if err != nil {
		return nil, false, err
	}
	ts := unixFloat(env.OccurredAt)
	msg := postalMsg(env.StreamID, in.Message)
	status := func(s, details, output string) postalStatus {
		return postalStatus{Status: s, Details: details, Output: output, Timestamp: ts, Message: msg}
	}
	var payload any
	switch e := ev.(type) {
	case *events.MessageDelivered:
		payload = status("Sent", "Message sent by SMTP to "+e.MXHost, reply(e.ReplyCode, e.ReplyText))
	case *events.MessageDeferred:
		payload = status("SoftFail", fmt.Sprintf("%s; next attempt at %s", e.Reason, e.NextAttemptAt.UTC().Format(time.RFC3339)), reply(e.ReplyCode, e.Diagnostic))
	case *events.MessageExpired:
		payload = status("HardFail", fmt.Sprintf("Retries exhausted after %d attempts", e.Attempts), reply(e.LastReplyCode, e.LastReply))
	case *events.MessageHeld:
		payload = status("Held", strings.TrimSpace(e.Reason+" "+e.Details), "")
	case *events.MessageBounced:
		if e.Source != "dsn" {
			payload = status("HardFail", fmt.Sprintf("%s (%s bounce, %s)", e.Reason, e.Class, e.Status), e.Diagnostic)
			break
		}
		payload = struct {
			Original postalMessage `json:"original_message"`
			Bounce   postalMessage `json:"bounce"`
		}{msg, postalMessage{ID: e.ReportID, Token: e.ReportID, Direction: "incoming", From: e.RemoteMTA,
			Subject: "Delivery Status Notification (" + e.Reason + ")", Timestamp: ts, SpamStatus: "NotChecked"}}
	case *events.MessageClicked:
		payload = struct {
			URL       string        `json:"url"`
			Token     string        `json:"token"`
			IPAddress string        `json:"ip_address"`
			UserAgent string        `json:"user_agent"`
			Message   postalMessage `json:"message"`
		}{e.URL, env.ID, e.IP, e.UserAgent, msg}
	case *events.MessageOpened:
		payload = struct {
			IPAddress string        `json:"ip_address"`
			UserAgent string        `json:"user_agent"`
			Message   postalMessage `json:"message"`
		}{e.IP, e.UserAgent, msg}
	case *events.ServerSendLimitApproaching:
		payload = map[string]any{"server": serverOf(env.Server()), "volume": e.Count, "limit": e.Limit}
	case *events.ServerSendLimitExceeded:
		payload = map[string]any{"server": serverOf(env.Server()), "volume": e.Count, "limit": e.Limit}
	case *events.DomainDNSChecked:
		p := map[string]any{"domain": env.StreamID, "uuid": env.StreamID, "dns_checked_at": ts, "server": serverOf(env.Server())}
		for _, k := range []string{"spf", "dkim", "mx", "return_path"} {
			p[k+"_status"], p[k+"_error"] = nil, nil
		}
		for _, r := range e.Records {
			key := r.Purpose
			if key != "spf" && key != "dkim" && key != "mx" && key != "return_path" {
				continue
			}
			st := map[string]string{"ok": "OK", "missing": "Missing", "invalid": "Invalid"}[r.Status]
			if st == "" {
				st = r.Status
			}
			if prev, _ := p[key+"_status"].(string); prev != "" && prev != "OK" {
				continue // keep the first failure of a purpose with several records
			}
			p[key+"_status"] = st
			if r.Reason != "" {
				p[key+"_error"] = r.Reason
			}
		}
		payload = p
	case pingEvent:
		payload = map[string]any{"webhook_id": in.WebhookID, "message": "test event from posthaste webhook test"}
	default:
		return nil, false, nil
	}
	b, err := json.Marshal(PostalEnvelope{Event: name, Timestamp: ts, Payload: payload, UUID: in.DeliveryID})
	if err != nil {
		return nil, false, fmt.Errorf("webhook: postal payload of %s: %w", env.ID, err)
	}
	return b, true, nil
}

type pingEvent struct{}

func (pingEvent) EventType() string { return PingType }

func decode(env events.Envelope) (events.Event, error) {
	if env.Type == PingType {
		return pingEvent{}, nil
	}
	return events.Decode(env)
}
