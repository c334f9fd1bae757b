package projectiontest

import (
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// T0 is the start of Workload's streams.
var T0 = time.Date(2026, 11, 17, 9, 0, 0, 0, time.UTC) // a Tuesday

// Stream builds the envelopes of message stream id of server, one event a minute after start.
func Stream(t *testing.T, id, server string, start time.Time, evs ...events.Event) []events.Envelope {
	t.Helper()
	n := 0
	rec := domain.Recorder{Clock: func() time.Time { n++; return start.Add(time.Duration(n) * time.Minute) }}
	envs, err := rec.Envelopes(events.StreamMessage, id, server, 0, domain.Cause{Actor: events.Actor{Type: events.ActorSystem, ID: "test"}}, evs...)
	if err != nil {
		t.Fatal(err)
	}
	return envs
}

// Queued is a message.queued event to rcpt with a subject.
func Queued(rcpt, subject string) *events.MessageQueued {
	return &events.MessageQueued{SubmissionID: "s1", BodyID: "b1", MailFrom: "app@example.org", RcptTo: rcpt,
		HeaderFrom: "Alerts <alerts@example.org>", Subject: subject, MessageID: "<" + rcpt + "@mid>", Size: 1234, Tag: "welcome", Source: "smtp"}
}

// Workload is a mixed set of message streams: delivered, deferred then delivered, bounced,
// held then released then delivered, expired, and a message on another server.
func Workload(t *testing.T) []events.Envelope {
	att := func(n int, code int, result string) *events.MessageAttempted {
		return &events.MessageAttempted{Attempt: n, MXHost: "mx.remote.test", IP: "192.0.2.1", TLSVersion: "TLS1.3", ReplyCode: code,
			ReplyText: "reply " + result, DurationMS: 120, TranscriptID: "tr", Result: result}
	}
	var envs []events.Envelope
	envs = append(envs, Stream(t, "m1", "acme/main", T0, Queued("ok@remote.test", "Hello"), att(1, 250, "delivered"),
		&events.MessageDelivered{MXHost: "mx.remote.test", ReplyCode: 250, Attempt: 1})...)
	envs = append(envs, Stream(t, "m2", "acme/main", T0.Add(time.Hour), Queued("later@remote.test", "Weekly report"), att(1, 451, "deferred"),
		&events.MessageDeferred{Attempt: 1, NextAttemptAt: T0.Add(2 * time.Hour), Reason: "greylisted"}, att(2, 250, "delivered"),
		&events.MessageDelivered{ReplyCode: 250, Attempt: 2})...)
	envs = append(envs, Stream(t, "m3", "acme/main", T0.Add(2*time.Hour), Queued("nobody@other.test", "Hello"), att(1, 550, "bounced"),
		&events.MessageBounced{Reason: "userunknown", Class: "hard", Status: "5.1.1", Diagnostic: "no such user"})...)
	envs = append(envs, Stream(t, "m4", "acme/main", T0.Add(3*time.Hour), Queued("dev@remote.test", "Dev"),
		&events.MessageHeld{Reason: events.HoldDevelopmentMode}, &events.MessageReleased{By: "cli:root"}, att(1, 250, "delivered"),
		&events.MessageDelivered{ReplyCode: 250, Attempt: 1})...)
	envs = append(envs, Stream(t, "m5", "acme/main", T0.Add(4*time.Hour), Queued("gone@remote.test", "Expiring"), att(1, 421, "deferred"),
		&events.MessageExpired{Attempts: 1, LastReplyCode: 421})...)
	envs = append(envs, Stream(t, "m6", "acme/other", T0, Queued("ok@remote.test", "Other server"))...)
	return envs
}
