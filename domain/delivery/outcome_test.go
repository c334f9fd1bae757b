package delivery_test

import (
	"errors"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/bounce"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/events"
)

func decider(t *testing.T) *delivery.Decider {
	t.Helper()
	d, err := delivery.NewDecider(delivery.DefaultRetryPolicy())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNewDeciderRefusesBadWiring(t *testing.T) {
	if _, err := delivery.NewDecider(delivery.RetryPolicy{}); err == nil {
		t.Fatal("zero policy accepted")
	}
}

func TestDecideDelivered(t *testing.T) {
	r := delivery.AttemptResult{MXHost: "mx.example.com", IP: "192.0.2.1", TLSVersion: "TLS 1.3",
		ReplyCode: 250, EnhancedCode: "2.0.0", ReplyText: "queued as X", Duration: 1500 * time.Millisecond, TranscriptID: "tr1"}
	dec, err := decider(t).Decide(1, pinned, r)
	if err != nil {
		t.Fatal(err)
	}
	if dec.Outcome != delivery.Delivered || len(dec.Events) != 2 {
		t.Fatalf("decision %+v", dec)
	}
	att := dec.Events[0].(events.MessageAttempted)
	if att.Result != "delivered" || att.DurationMS != 1500 || att.MXHost != "mx.example.com" || att.TLSVersion != "TLS 1.3" || att.TranscriptID != "tr1" || att.Attempt != 1 {
		t.Fatalf("attempted %+v", att)
	}
	del := dec.Events[1].(events.MessageDelivered)
	if del.ReplyCode != 250 || del.Attempt != 1 {
		t.Fatalf("delivered %+v", del)
	}
}

func TestDecideDeferredThenExpired(t *testing.T) {
	d := decider(t)
	r := delivery.AttemptResult{MXHost: "mx", ReplyCode: 451, EnhancedCode: "4.3.0", ReplyText: "try later"}
	dec, _ := d.Decide(3, pinned, r)
	if dec.Outcome != delivery.Deferred || dec.Expired || len(dec.Events) != 2 {
		t.Fatalf("decision %+v", dec)
	}
	def := dec.Events[1].(events.MessageDeferred)
	if want := pinned.Add(d.Policy().Wait(3)); !def.NextAttemptAt.Equal(want) || !dec.NextAttemptAt.Equal(want) {
		t.Fatalf("next attempt %s, want %s", def.NextAttemptAt, want)
	}
	if def.Attempt != 3 || def.ReplyCode != 451 || def.Diagnostic != "451 4.3.0 try later" || def.Reason != "systemerror" { // the classifier's reason for "try later"
		t.Fatalf("deferred %+v", def)
	}
	// greylisting hint
	dec, _ = d.Decide(1, pinned, delivery.AttemptResult{ReplyCode: 451, EnhancedCode: "4.7.1", ReplyText: "Greylisted, try again in 120 seconds"})
	if got := dec.NextAttemptAt.Sub(pinned); got != 2*time.Minute {
		t.Fatalf("hinted wait %s", got)
	}
	// network error: no reply
	dec, _ = d.Decide(2, pinned, delivery.AttemptResult{Local: true, Err: errors.New("dial tcp: connection refused")})
	if dec.Outcome != delivery.Deferred || dec.Events[1].(events.MessageDeferred).Reason != "networkerror" {
		t.Fatalf("network error decision %+v", dec)
	}
	if a := dec.Events[0].(events.MessageAttempted); a.ReplyText != "dial tcp: connection refused" || a.Result != "deferred" {
		t.Fatalf("attempted %+v", a)
	}
	// last attempt
	dec, _ = d.Decide(18, pinned, r)
	if !dec.Expired || dec.Outcome != delivery.Deferred || len(dec.Events) != 2 {
		t.Fatalf("decision %+v", dec)
	}
	exp := dec.Events[1].(events.MessageExpired)
	if exp.Attempts != 18 || exp.LastReplyCode != 451 {
		t.Fatalf("expired %+v", exp)
	}
}

func TestDecideBounced(t *testing.T) {
	d := decider(t)
	dec, _ := d.Decide(1, pinned, delivery.AttemptResult{MXHost: "mx.example.com", ReplyCode: 550, EnhancedCode: "5.1.1", ReplyText: "no such user"})
	if dec.Outcome != delivery.Bounced || !dec.Suppress {
		t.Fatalf("decision %+v", dec)
	}
	b := dec.Events[1].(events.MessageBounced)
	if b.Reason != "userunknown" || b.Class != "hard" || b.Status != "5.1.1" || b.Source != "smtp" || b.RemoteMTA != "mx.example.com" || b.Diagnostic != "550 5.1.1 no such user" {
		t.Fatalf("bounced %+v", b)
	}
	// a 5xx policy block is a soft bounce: bounced, not suppressed
	dec, _ = d.Decide(1, pinned, delivery.AttemptResult{ReplyCode: 554, ReplyText: "blocked"})
	if dec.Outcome != delivery.Bounced || dec.Suppress || dec.Events[1].(events.MessageBounced).Status != "5.0.0" {
		t.Fatalf("decision %+v", dec)
	}
	// a 5xx on the very last attempt is still a bounce, not an expiry
	dec, _ = d.Decide(18, pinned, delivery.AttemptResult{ReplyCode: 550, EnhancedCode: "5.1.1"})
	if dec.Outcome != delivery.Bounced || dec.Expired {
		t.Fatalf("decision %+v", dec)
	}
	// every event of a decision builds a valid envelope
	for i, ev := range dec.Events {
		if _, err := events.New(ev, events.Meta{ID: "x", StreamType: events.StreamMessage, StreamID: "m", StreamVersion: int64(i + 1), OccurredAt: pinned, Actor: events.Actor{Type: events.ActorSystem, ID: "delivery"}}); err != nil {
			t.Fatal(err)
		}
	}
}

// RFC 5321 section 4.5.3.1.10: a 552 to RCPT is treated as 452, a temporary failure: the
// message is deferred (and its hint read), not bounced. A 552 after the message was sent
// still bounces.
func TestDecide552ToRcptIsDeferred(t *testing.T) {
	d := decider(t)
	r := delivery.AttemptResult{MXHost: "mx", Stage: bounce.StageRcpt, ReplyCode: 552, EnhancedCode: "5.5.3", ReplyText: "Too many recipients, try again in 120 seconds"}
	if r.Outcome() != delivery.Deferred {
		t.Fatalf("outcome %s, want deferred", r.Outcome())
	}
	dec, err := d.Decide(1, pinned, r)
	if err != nil {
		t.Fatal(err)
	}
	if dec.Outcome != delivery.Deferred || dec.Suppress || len(dec.Events) != 2 || dec.NextAttemptAt.Sub(pinned) != 2*time.Minute {
		t.Fatalf("decision %+v", dec)
	}
	if def := dec.Events[1].(events.MessageDeferred); def.ReplyCode != 552 || def.Diagnostic != "552 5.5.3 Too many recipients, try again in 120 seconds" {
		t.Fatalf("deferred %+v", def)
	}
	r.Stage = bounce.StageDataEnd
	if dec, _ := d.Decide(1, pinned, r); dec.Outcome != delivery.Bounced {
		t.Fatalf("552 at the end of DATA: %+v", dec)
	}
}

// A failure of our own AUTH to a smart host is deferred whatever its code: the recipient is
// not at fault.
func TestDecideAuthFailureIsDeferred(t *testing.T) {
	dec, _ := decider(t).Decide(1, pinned, delivery.AttemptResult{Stage: bounce.StageAuth, ReplyCode: 535, EnhancedCode: "5.7.8", ReplyText: "authentication failed"})
	if dec.Outcome != delivery.Deferred || dec.Events[1].EventType() != "message.deferred" {
		t.Fatalf("decision %+v", dec)
	}
}
