package delivery_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/events"
)

// stubClassifier stands in for domain/bounce: 5.1.1 → userunknown/hard, else by code.
var stubClassifier = delivery.ClassifierFunc(func(code int, enh, text string) delivery.Classification {
	switch {
	case enh == "5.1.1":
		return delivery.Classification{Reason: "userunknown", Class: "hard", Status: enh, Permanent: true}
	case enh == "5.1.10":
		return delivery.Classification{Reason: "hostunknown", Class: "hard", Status: enh, Permanent: true}
	case code >= 500:
		return delivery.Classification{Reason: "rejected", Class: "soft", Status: enh, Permanent: true}
	case strings.Contains(strings.ToLower(text), "greylist"):
		return delivery.Classification{Reason: "blocked", Class: "soft", Status: enh}
	}
	return delivery.Classification{Reason: "onhold", Class: "soft", Status: enh}
})

func decider(t *testing.T) *delivery.Decider {
	t.Helper()
	d, err := delivery.NewDecider(delivery.DefaultRetryPolicy(), stubClassifier)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNewDeciderRefusesBadWiring(t *testing.T) {
	if _, err := delivery.NewDecider(delivery.DefaultRetryPolicy(), nil); err == nil {
		t.Fatal("nil classifier accepted")
	}
	if _, err := delivery.NewDecider(delivery.RetryPolicy{}, stubClassifier); err == nil {
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
	if def.Attempt != 3 || def.ReplyCode != 451 || def.Diagnostic != "451 4.3.0 try later" || def.Reason != "onhold" {
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
