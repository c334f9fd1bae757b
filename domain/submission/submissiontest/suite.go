// Package submissiontest is the acceptance suite every submission.Acceptor implementation
// must pass (in-memory, SQLite, MariaDB): the body and every event of a submission are
// written together or not at all, and concurrent submissions do not interfere.
//
// It is a test-helper package: it imports testing and must not be imported by non-test code.
package submissiontest

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/events"
)

// Fixture is one fresh, isolated Acceptor and the ways to read back what it wrote.
type Fixture struct {
	Acceptor submission.Acceptor
	// ReadStream returns the events of one stream in version order (e.g. EventStore.ReadStream
	// from version 1).
	ReadStream func(ctx context.Context, streamType, streamID string) ([]events.Record, error)
	// Body returns a stored body and whether it exists.
	Body func(ctx context.Context, bodyID string) ([]byte, bool, error)
	// PostalID, when set with PostalIDExists, makes a Postal id (Acceptance.PostalIDs) for
	// messageID, with an integer id unique to the call; PostalIDExists tells whether the id of
	// messageID was recorded. The suite then checks that Postal ids are recorded exactly when
	// their acceptance is.
	PostalID       func(messageID string) submission.PostalID
	PostalIDExists func(ctx context.Context, messageID string) (bool, error)
}

// withPostalIDs adds one Postal id per message stream of a when the fixture supports them.
func withPostalIDs(f Fixture, a submission.Acceptance) submission.Acceptance {
	if f.PostalID == nil || f.PostalIDExists == nil {
		return a
	}
	seen := map[string]bool{}
	for _, e := range a.Events {
		if !seen[e.StreamID] {
			seen[e.StreamID] = true
			a.PostalIDs = append(a.PostalIDs, f.PostalID(e.StreamID))
		}
	}
	return a
}

// checkPostalIDs fails unless the Postal id of every message stream of a exists (want) or
// none does (!want).
func checkPostalIDs(t *testing.T, f Fixture, a submission.Acceptance, want bool) {
	t.Helper()
	if f.PostalID == nil || f.PostalIDExists == nil {
		return
	}
	for _, e := range a.Events {
		got, err := f.PostalIDExists(context.Background(), e.StreamID)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("postal id of %s exists=%v, want %v", e.StreamID, got, want)
		}
	}
}

type allVerified struct{}

func (allVerified) IsVerifiedSenderDomain(context.Context, string, string) (bool, error) {
	return true, nil
}

// build runs the real Submit command against a capturing acceptor to get a realistic
// Acceptance without writing it.
func build(t *testing.T, rcpts ...string) submission.Acceptance {
	t.Helper()
	var got submission.Acceptance
	h, err := submission.NewHandler(submission.Config{Hostname: "suite.posthaste.test", Domains: allVerified{},
		Acceptor: captureFunc(func(a submission.Acceptance) { got = a })})
	if err != nil {
		t.Fatal(err)
	}
	body := "From: suite@example.com\r\nTo: x@dest.test\r\nSubject: suite\r\n\r\nbody " + fmt.Sprint(time.Now().UnixNano()) + "\r\n"
	if _, err := h.Submit(context.Background(), submission.Submission{
		Principal:  submission.Principal{ServerID: "suite-server", CredentialID: "suite-cred", Hold: true},
		MailFrom:   "rp@example.com",
		Recipients: rcpts,
		Body:       []byte(body),
		ClientIP:   netip.MustParseAddr("192.0.2.1").String(),
		Protocol:   "ESMTPSA",
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

type captureFunc func(submission.Acceptance)

func (f captureFunc) Accept(_ context.Context, a submission.Acceptance) error { f(a); return nil }

// RunAcceptorSuite runs every contract test against fresh fixtures.
func RunAcceptorSuite(t *testing.T, newFixture func(t *testing.T) Fixture) {
	t.Run("body and events are durable together", func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		a := withPostalIDs(f, build(t, "a@dest.test", "b@dest.test"))
		if err := f.Acceptor.Accept(ctx, a); err != nil {
			t.Fatalf("accept: %v", err)
		}
		checkPostalIDs(t, f, a, true)
		body, ok, err := f.Body(ctx, a.BodyID)
		if err != nil || !ok || string(body) != string(a.Body) {
			t.Fatalf("body %q ok=%v err=%v, want the submitted body", body, ok, err)
		}
		perStream := map[string][]events.Envelope{}
		for _, e := range a.Events {
			perStream[e.StreamID] = append(perStream[e.StreamID], e)
		}
		if len(perStream) != 2 {
			t.Fatalf("suite bug: %d streams", len(perStream))
		}
		for id, want := range perStream {
			recs, err := f.ReadStream(ctx, events.StreamMessage, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(want) {
				t.Fatalf("stream %s: %d events, want %d", id, len(recs), len(want))
			}
			for i, r := range recs {
				if r.Envelope.ID != want[i].ID || r.Envelope.Type != want[i].Type || r.Envelope.StreamVersion != want[i].StreamVersion ||
					r.Envelope.CorrelationID != a.SubmissionID || r.Envelope.Server() != "suite-server" {
					t.Errorf("stream %s[%d] = %+v, want %+v", id, i, r.Envelope, want[i])
				}
			}
		}
	})

	t.Run("a failing append stores no body and no event", func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		first := build(t, "a@dest.test")
		if err := f.Acceptor.Accept(ctx, first); err != nil {
			t.Fatalf("accept: %v", err)
		}
		second := withPostalIDs(f, build(t, "b@dest.test", "c@dest.test"))
		// Make the last envelope clash with the first submission's stream at version 1.
		clash := second.Events[len(second.Events)-1]
		clash.StreamID = first.Events[0].StreamID
		clash.StreamVersion = 1
		second.Events[len(second.Events)-1] = clash
		if err := f.Acceptor.Accept(ctx, second); err == nil {
			t.Fatal("accept with a version clash returned nil")
		}
		checkPostalIDs(t, f, submission.Acceptance{Events: second.Events[:len(second.Events)-1]}, false)
		if _, ok, err := f.Body(ctx, second.BodyID); err != nil || ok {
			t.Fatalf("body of the failed submission stored (ok=%v err=%v)", ok, err)
		}
		for _, e := range second.Events[:len(second.Events)-1] {
			recs, err := f.ReadStream(ctx, events.StreamMessage, e.StreamID)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 0 {
				t.Fatalf("stream %s of the failed submission has %d events", e.StreamID, len(recs))
			}
		}
		if recs, _ := f.ReadStream(ctx, events.StreamMessage, first.Events[0].StreamID); len(recs) != 2 {
			t.Fatalf("first submission's stream changed: %d events", len(recs))
		}
	})

	t.Run("a failing postal id stores nothing", func(t *testing.T) {
		f := newFixture(t)
		if f.PostalID == nil || f.PostalIDExists == nil {
			t.Skip("the fixture records no postal ids")
		}
		ctx := context.Background()
		first := withPostalIDs(f, build(t, "a@dest.test"))
		if err := f.Acceptor.Accept(ctx, first); err != nil {
			t.Fatalf("accept: %v", err)
		}
		second := withPostalIDs(f, build(t, "b@dest.test", "c@dest.test"))
		second.PostalIDs[len(second.PostalIDs)-1] = first.PostalIDs[0] // an id already given
		if err := f.Acceptor.Accept(ctx, second); err == nil {
			t.Fatal("accept with a duplicate postal id returned nil")
		}
		if _, ok, err := f.Body(ctx, second.BodyID); err != nil || ok {
			t.Fatalf("body of the failed submission stored (ok=%v err=%v)", ok, err)
		}
		for _, e := range second.Events {
			if recs, err := f.ReadStream(ctx, events.StreamMessage, e.StreamID); err != nil || len(recs) != 0 {
				t.Fatalf("stream %s of the failed submission: %d events, err %v", e.StreamID, len(recs), err)
			}
		}
		checkPostalIDs(t, f, submission.Acceptance{Events: second.Events[:1]}, false)
	})

	t.Run("a faulty submission among concurrent ones fails alone", func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		first := build(t, "a@dest.test")
		if err := f.Acceptor.Accept(ctx, first); err != nil {
			t.Fatalf("accept: %v", err)
		}
		const n = 24
		accs := make([]submission.Acceptance, n)
		for i := range accs {
			accs[i] = withPostalIDs(f, build(t, "a@dest.test", "b@dest.test"))
		}
		bad := n / 2 // its first envelope clashes with the first submission's stream
		clash := accs[bad].Events[0]
		clash.StreamID, clash.StreamVersion = first.Events[0].StreamID, 1
		accs[bad].Events[0] = clash
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range accs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs[i] = f.Acceptor.Accept(ctx, accs[i])
			}(i)
		}
		wg.Wait()
		for i, err := range errs {
			_, ok, berr := f.Body(ctx, accs[i].BodyID)
			if berr != nil {
				t.Fatal(berr)
			}
			if i == bad {
				if err == nil || ok {
					t.Fatalf("the faulty submission: err %v, body stored %v", err, ok)
				}
				continue
			}
			if err != nil || !ok {
				t.Fatalf("submission %d: err %v, body stored %v", i, err, ok)
			}
			checkPostalIDs(t, f, accs[i], true)
		}
	})

	t.Run("concurrent submissions", func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		const n = 16
		accs := make([]submission.Acceptance, n)
		for i := range accs {
			accs[i] = build(t, "a@dest.test", "b@dest.test")
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for _, a := range accs {
			wg.Add(1)
			go func(a submission.Acceptance) {
				defer wg.Done()
				errs <- f.Acceptor.Accept(ctx, a)
			}(a)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent accept: %v", err)
			}
		}
		for _, a := range accs {
			if _, ok, err := f.Body(ctx, a.BodyID); !ok || err != nil {
				t.Fatalf("body %s missing (err %v)", a.BodyID, err)
			}
			for _, e := range a.Events {
				recs, err := f.ReadStream(ctx, events.StreamMessage, e.StreamID)
				if err != nil || len(recs) != 2 {
					t.Fatalf("stream %s: %d events, err %v", e.StreamID, len(recs), err)
				}
			}
		}
	})
}
