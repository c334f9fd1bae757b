package message_test

import (
	"errors"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/events"
)

// timed records evs one minute apart from t0 on stream id.
func timed(t *testing.T, id string, evs ...events.Event) []events.Record {
	t.Helper()
	var out []events.Record
	for i, ev := range evs {
		at := t0.Add(time.Duration(i) * time.Minute)
		rec := domain.Recorder{Clock: func() time.Time { return at }}
		envs, err := rec.Envelopes(events.StreamMessage, id, "acme/main", int64(i), domain.Cause{Actor: events.Actor{Type: events.ActorSystem, ID: "t"}}, ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, events.Record{Position: int64(len(out) + 1), Envelope: envs[0]})
	}
	return out
}

func TestDetailAsOf(t *testing.T) {
	recs := timed(t, "m1",
		events.MessageQueued{RcptTo: "Bob@Example.COM", MailFrom: "S@Example.org", HeaderFrom: "s@example.org", Subject: "hi",
			MessageID: " <ABC@host> ", Size: 10, SubmissionID: "sub1", Tag: "t"},
		events.MessageHeld{Reason: events.HoldCredential},
		events.MessageReleased{},
		events.MessageAttempted{Attempt: 1, ReplyCode: 451, EnhancedCode: "4.7.1", ReplyText: "later", TranscriptID: "tr1", Result: "deferred"},
		events.MessageDeferred{Attempt: 1, NextAttemptAt: t0.Add(time.Hour)},
		events.MessageAttempted{Attempt: 2, ReplyCode: 550, EnhancedCode: "5.1.1", ReplyText: "no such user", Result: "bounced"},
		events.MessageBounced{Reason: "userunknown", Class: "hard"},
	)
	d, err := message.DetailAsOf(recs, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Summary
	if s.ID != "m1" || s.ServerID != "acme/main" || s.Status != message.StatusBounced || s.RcptTo != "bob@example.com" || s.MailFrom != "s@example.org" ||
		s.MessageIDHeader != "abc@host" || s.Attempts != 2 || s.LastReplyCode != 550 || s.LastReply != "550 5.1.1 no such user" ||
		s.BounceReason != "userunknown" || s.BounceClass != "hard" || s.HoldReason != "" || !s.QueuedAt.Equal(t0) || !s.LastEventAt.Equal(t0.Add(6*time.Minute)) {
		t.Errorf("summary = %+v", s)
	}
	if len(d.Timeline) != 7 || d.Timeline[6].Type != "message.bounced" || d.Timeline[0].Actor != "system:t" {
		t.Errorf("timeline = %+v", d.Timeline)
	}
	if len(d.Attempts) != 2 || d.Attempts[0].TranscriptID != "tr1" || d.Attempts[1].ReplyCode != 550 {
		t.Errorf("attempts = %+v", d.Attempts)
	}

	held, err := message.DetailAsOf(recs, t0.Add(90*time.Second))
	if err != nil || held.Summary.Status != message.StatusHeld || held.Summary.HoldReason != events.HoldCredential || len(held.Timeline) != 2 {
		t.Errorf("as of 1.5 minutes: %+v, %v; want held by the credential", held.Summary, err)
	}
	if _, err := message.DetailAsOf(recs, t0.Add(-time.Second)); !errors.Is(err, message.ErrNotYetQueued) || !errors.Is(err, message.ErrNotFound) {
		t.Errorf("before it was queued: %v", err)
	}
	if _, err := message.DetailAsOf(nil, time.Time{}); !errors.Is(err, message.ErrNotFound) || errors.Is(err, message.ErrNotYetQueued) {
		t.Errorf("no stream: %v", err)
	}
}

func TestTallyStreams(t *testing.T) {
	var recs []events.Record
	recs = append(recs, timed(t, "a", events.MessageQueued{}, events.MessageDelivered{})...)
	recs = append(recs, timed(t, "b", events.MessageQueued{}, events.MessageHeld{})...)
	recs = append(recs, timed(t, "c", events.MessageQueued{})...)
	// Streams may come interleaved and out of order.
	recs[0], recs[3] = recs[3], recs[0]
	tl, err := message.TallyStreams(recs)
	if err != nil {
		t.Fatal(err)
	}
	if tl.Messages != 3 || tl.Events != 5 || tl.ByStatus[message.StatusDelivered] != 1 || tl.ByStatus[message.StatusHeld] != 1 ||
		tl.ByStatus[message.StatusQueued] != 1 || len(tl.ByStatus) != len(message.Statuses) {
		t.Errorf("tally = %+v", tl)
	}
	gap := append(append([]events.Record(nil), recs[:3]...), recs[4:]...) // stream a without its message.queued
	if _, err := message.TallyStreams(gap); err == nil {
		t.Error("a stream with a gap folded")
	}
}
