package delivery

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// Tests of one delivery attempt (worker_attempt.go) through the run loop and its claims,
// against the fakes of worker_fakes_test.go, with the clock and the event ids pinned.

const (
	testServer = "srv-1"
	testBody   = "From: Ann <ann@Example.org>\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nhello\r\n"
)

type fixture struct {
	clock      *clock
	store      *memStore
	queue      *fakeQueue
	bodies     *fakeBodies
	signer     *fakeSigner
	sender     *fakeSender
	suppressor *fakeSuppressor
	observer   *fakeObserver
	logs       logSink
	cfg        WorkerConfig
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		clock:      &clock{now: t0},
		store:      newMemStore(),
		queue:      newFakeQueue(),
		bodies:     &fakeBodies{data: map[string][]byte{}, reads: map[string]int{}},
		signer:     &fakeSigner{},
		sender:     &fakeSender{replies: map[string]AttemptResult{}},
		suppressor: &fakeSuppressor{},
		observer:   &fakeObserver{},
		logs:       newLogSink(),
	}
	f.cfg = WorkerConfig{
		Owner:        "test-node:1",
		Store:        f.store,
		Queue:        f.queue,
		Bodies:       f.bodies,
		Signer:       f.signer,
		Sender:       f.sender,
		Transcripts:  f.store, // the event store records transcripts with the events, as in production
		Suppressor:   f.suppressor,
		Decider:      testDecider(t),
		Recorder:     domain.Recorder{Clock: f.clock.Now, Rand: newSeededRand(2)},
		Concurrency:  1,
		PollInterval: time.Millisecond,
		Logger:       slog.New(f.logs),
		Observer:     f.observer,
		Ref:          func(id string) string { return "ref-" + id },
	}
	return f
}

// testDecider builds the Decider through its constructor with the default retry policy; the
// replies these tests use (250, 451 4.7.1, 550 5.1.1) classify plainly: these tests are about
// what the worker records, not about classifying replies.
func testDecider(t *testing.T) *Decider {
	t.Helper()
	d, err := NewDecider(DefaultRetryPolicy())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *fixture) worker(t *testing.T) *Worker {
	t.Helper()
	w, err := NewWorker(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// queueMessage records message.queued (version 1) of message id, one recipient of submission
// sub whose body is bodyID, a minute before t0.
func (f *fixture) queueMessage(t *testing.T, id, sub, bodyID, rcpt string) events.Envelope {
	t.Helper()
	f.bodies.mu.Lock()
	if _, ok := f.bodies.data[bodyID]; !ok {
		f.bodies.data[bodyID] = []byte(testBody)
	}
	f.bodies.mu.Unlock()
	rec := domain.Recorder{Clock: func() time.Time { return t0.Add(-time.Minute) }, Rand: newSeededRand(1)}
	envs, err := rec.Envelopes(events.StreamMessage, id, testServer, 0,
		domain.Cause{Actor: events.Actor{Type: events.ActorSMTP, ID: "cred-1"}, CorrelationID: sub},
		events.MessageQueued{SubmissionID: sub, BodyID: bodyID, MailFrom: "ann@example.org", RcptTo: rcpt,
			HeaderFrom: "Ann <ann@Example.org>", Subject: "hi", MessageID: "<" + sub + "@example.org>",
			Size: int64(len(testBody)), Source: "smtp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Append(context.Background(), envs...); err != nil {
		t.Fatal(err)
	}
	return envs[0]
}

// run lets w's run loop take ids from the queue until every one of their claims is released,
// then stops it (Run drains and returns).
func (f *fixture) run(t *testing.T, w *Worker, ids ...string) {
	t.Helper()
	f.queue.setDue(ids...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		all := true
		for _, id := range ids {
			if _, ok := f.queue.releasedVersion(id); !ok {
				all = false
			}
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("claims of %v not released within 10s; logs: %q", ids, f.logs.lines())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func typesOf(envs []events.Envelope) []string {
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = e.Type
	}
	return out
}

func decodeAs[T events.Event](t *testing.T, env events.Envelope) T {
	t.Helper()
	ev, err := events.Decode(env)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := any(ev).(*T)
	if !ok {
		var zero T
		t.Fatalf("%s decoded as %T, want %T", env.Type, ev, &zero)
	}
	return *p
}

// checkRecorded checks the envelopes the attempt appended after version from: consecutive
// stream versions, the pinned clock, the worker's actor, the submission as correlation and
// the last event read as causation.
func checkRecorded(t *testing.T, envs []events.Envelope, from int64, at time.Time, sub, causation string) {
	t.Helper()
	for i, e := range envs {
		if want := from + int64(i) + 1; e.StreamVersion != want {
			t.Errorf("%s at version %d, want %d", e.Type, e.StreamVersion, want)
		}
		if !e.OccurredAt.Equal(at) {
			t.Errorf("%s occurred at %s, want the pinned clock %s", e.Type, e.OccurredAt, at)
		}
		if e.Actor != (events.Actor{Type: events.ActorSystem, ID: "dispatch"}) {
			t.Errorf("%s actor %+v", e.Type, e.Actor)
		}
		if e.CorrelationID != sub || e.CausationID != causation {
			t.Errorf("%s correlation %q causation %q, want %q %q", e.Type, e.CorrelationID, e.CausationID, sub, causation)
		}
		if e.Server() != testServer {
			t.Errorf("%s server %q", e.Type, e.Server())
		}
	}
}

func TestAttempt250RecordsSignedAttemptedDelivered(t *testing.T) {
	f := newFixture(t)
	queued := f.queueMessage(t, "m-1", "sub-1", "body-1", "bob@example.net")
	f.run(t, f.worker(t), "m-1")

	got := f.store.stream(t, "m-1")
	if want := []string{"message.queued", "message.signed", "message.attempted", "message.delivered"}; !slices.Equal(typesOf(got), want) {
		t.Fatalf("stream %v, want %v", typesOf(got), want)
	}
	checkRecorded(t, got[1:], 1, t0, "sub-1", queued.ID)
	if s := decodeAs[events.MessageSigned](t, got[1]); !slices.Equal(s.Signatures, []events.DKIMSignature{testSignature}) {
		t.Errorf("signed %+v", s)
	}
	att := decodeAs[events.MessageAttempted](t, got[2])
	want := events.MessageAttempted{Attempt: 1, MXHost: "mx.example.net", IP: "192.0.2.25", TLSVersion: "TLS 1.3",
		TLSCipher: "TLS_AES_128_GCM_SHA256", ReplyCode: 250, EnhancedCode: "2.0.0", ReplyText: "OK queued as 4F2A",
		DurationMS: 120, TranscriptID: "m-1.1", Result: "delivered"}
	if att != want {
		t.Errorf("attempted\n %+v, want\n %+v", att, want)
	}
	if d := decodeAs[events.MessageDelivered](t, got[3]); d != (events.MessageDelivered{MXHost: "mx.example.net", ReplyCode: 250, ReplyText: "OK queued as 4F2A", Attempt: 1}) {
		t.Errorf("delivered %+v", d)
	}
	if v, _ := f.queue.releasedVersion("m-1"); v != 4 {
		t.Errorf("claim released with version %d, want 4 (message.delivered)", v)
	}

	sent := f.sender.envelopes()
	if len(sent) != 1 {
		t.Fatalf("sent %d times", len(sent))
	}
	wantBody := "X-Posthaste-Ref: ref-m-1\r\nDKIM-Signature: v=1; d=example.org; s=s1\r\n" + testBody
	if e := sent[0]; e.MessageID != "m-1" || e.MailFrom != "ann@example.org" || e.RcptTo != "bob@example.net" || string(e.Body) != wantBody {
		t.Errorf("sent %+v (body %q), want the signed body with the ref field first", e, e.Body)
	}
	if got := f.signer.calls; !slices.Equal(got, []string{testServer + "/example.org"}) {
		t.Errorf("signer calls %v, want one for the From domain, lower-cased", got)
	}
	if got := f.observer.recorded(); !slices.Equal(got, []Outcome{Delivered}) {
		t.Errorf("observer %v", got)
	}
	if got := f.suppressor.recorded(); len(got) != 0 {
		t.Errorf("suppressed %+v after a delivery", got)
	}

	// The clock and the ids are pinned: the same attempt records the same bytes.
	again := newFixture(t)
	again.queueMessage(t, "m-1", "sub-1", "body-1", "bob@example.net")
	again.run(t, again.worker(t), "m-1")
	if a, b := marshalAll(t, f.store), marshalAll(t, again.store); a != b {
		t.Errorf("two runs of one attempt recorded different bytes:\n%s\n%s", a, b)
	}
}

func marshalAll(t *testing.T, s *memStore) string {
	t.Helper()
	recs, err := s.Query(context.Background(), domain.EventFilter{Limit: math.MaxInt})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range recs {
		data, err := events.Marshal(r.Envelope)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestAttempt451RecordsDeferredAtTheRetryPolicysTime(t *testing.T) {
	f := newFixture(t)
	f.sender.replies["bob@example.net"] = reply(451, "4.7.1", "greylisted")
	queued := f.queueMessage(t, "m-1", "sub-1", "body-1", "bob@example.net")
	w := f.worker(t)
	f.run(t, w, "m-1")

	policy := f.cfg.Decider.Policy()
	got := f.store.stream(t, "m-1")
	if want := []string{"message.queued", "message.signed", "message.attempted", "message.deferred"}; !slices.Equal(typesOf(got), want) {
		t.Fatalf("stream %v, want %v", typesOf(got), want)
	}
	checkRecorded(t, got[1:], 1, t0, "sub-1", queued.ID)
	if att := decodeAs[events.MessageAttempted](t, got[2]); att.Attempt != 1 || att.Result != "deferred" || att.ReplyCode != 451 || att.TranscriptID != "m-1.1" {
		t.Errorf("attempted %+v", att)
	}
	next := t0.Add(policy.Wait(1))
	d := decodeAs[events.MessageDeferred](t, got[3])
	if d.Attempt != 1 || !d.NextAttemptAt.Equal(next) || d.ReplyCode != 451 || d.Diagnostic != "451 4.7.1 greylisted" || d.Reason != "onhold" {
		t.Errorf("deferred %+v, want attempt 1, next attempt at %s (t0 + %s)", d, next, policy.Wait(1))
	}
	if v, _ := f.queue.releasedVersion("m-1"); v != 4 {
		t.Errorf("claim released with version %d, want 4 (message.deferred)", v)
	}
	if got := f.suppressor.recorded(); len(got) != 0 {
		t.Errorf("suppressed %+v after a deferral", got)
	}
	if got := f.observer.recorded(); !slices.Equal(got, []Outcome{Deferred}) {
		t.Errorf("observer %v", got)
	}

	// Before the next attempt is due, a queue that lists the message again gets nothing
	// recorded and the stream's version back.
	if v, err := w.attempt(context.Background(), "m-1"); err != nil || v != 4 {
		t.Errorf("early attempt = %d, %v; want 4, nil", v, err)
	}
	if n := len(f.store.stream(t, "m-1")); n != 4 || len(f.sender.envelopes()) != 1 {
		t.Errorf("early attempt recorded or sent: %d events, %d sends", n, len(f.sender.envelopes()))
	}

	// When it is due, attempt 2 is recorded (not signed again: the stream says it was) and the
	// next one is due after the policy's second wait.
	f.clock.Set(next)
	if v, err := w.attempt(context.Background(), "m-1"); err != nil || v != 6 {
		t.Fatalf("second attempt = %d, %v; want 6, nil", v, err)
	}
	got = f.store.stream(t, "m-1")
	if want := []string{"message.attempted", "message.deferred"}; len(got) != 6 || !slices.Equal(typesOf(got[4:]), want) {
		t.Fatalf("stream %v, want the second attempt's %v after version 4", typesOf(got), want)
	}
	checkRecorded(t, got[4:], 4, next, "sub-1", got[3].ID)
	if att := decodeAs[events.MessageAttempted](t, got[4]); att.Attempt != 2 || att.TranscriptID != "m-1.2" {
		t.Errorf("second attempted %+v", att)
	}
	if d := decodeAs[events.MessageDeferred](t, got[5]); d.Attempt != 2 || !d.NextAttemptAt.Equal(next.Add(policy.Wait(2))) {
		t.Errorf("second deferred %+v, want next attempt at %s", d, next.Add(policy.Wait(2)))
	}
}

func TestAttempt550RecordsBouncedAndSuppresses(t *testing.T) {
	f := newFixture(t)
	f.sender.replies["bob@example.net"] = reply(550, "5.1.1", "no such user")
	queued := f.queueMessage(t, "m-1", "sub-1", "body-1", "bob@example.net")
	f.run(t, f.worker(t), "m-1")

	got := f.store.stream(t, "m-1")
	if want := []string{"message.queued", "message.signed", "message.attempted", "message.bounced"}; !slices.Equal(typesOf(got), want) {
		t.Fatalf("stream %v, want %v", typesOf(got), want)
	}
	checkRecorded(t, got[1:], 1, t0, "sub-1", queued.ID)
	if att := decodeAs[events.MessageAttempted](t, got[2]); att.Attempt != 1 || att.Result != "bounced" || att.ReplyCode != 550 || att.EnhancedCode != "5.1.1" {
		t.Errorf("attempted %+v", att)
	}
	b := decodeAs[events.MessageBounced](t, got[3])
	if want := (events.MessageBounced{Reason: "userunknown", Class: "hard", Status: "5.1.1", Diagnostic: "550 5.1.1 no such user", RemoteMTA: "mx.example.net", Source: "smtp"}); b != want {
		t.Errorf("bounced %+v, want %+v", b, want)
	}
	if v, _ := f.queue.releasedVersion("m-1"); v != 4 {
		t.Errorf("claim released with version %d, want 4 (message.bounced)", v)
	}
	sup := f.suppressor.recorded()
	wantCause := domain.Cause{Actor: events.Actor{Type: events.ActorSystem, ID: "dispatch"}, CorrelationID: "sub-1", CausationID: queued.ID}
	if len(sup) != 1 || sup[0] != (suppressCall{testServer, "bob@example.net", "hard_bounce", got[3].ID, wantCause}) {
		t.Errorf("suppressions %+v, want one of bob@example.net caused by message.bounced %s", sup, got[3].ID)
	}
	if got := f.observer.recorded(); !slices.Equal(got, []Outcome{Bounced}) {
		t.Errorf("observer %v", got)
	}
}

// TestAttemptLostRaceDropsTheResult: another worker recorded this attempt between our read and
// our append. The append's conflict drops our result: nothing of it is recorded, the hard
// bounce suppresses nobody, the observer sees nothing, and the claim is released.
func TestAttemptLostRaceDropsTheResult(t *testing.T) {
	// otherWorker records attempt 1 of id (a delivery) as the next version of its stream.
	otherWorker := func(t *testing.T, f *fixture, id string) []events.Envelope {
		rec := domain.Recorder{Clock: f.clock.Now, Rand: newSeededRand(9)}
		envs, err := rec.Envelopes(events.StreamMessage, id, testServer, 1,
			domain.Cause{Actor: events.Actor{Type: events.ActorSystem, ID: "dispatch"}},
			events.MessageAttempted{Attempt: 1, MXHost: "mx.example.net", ReplyCode: 250, Result: "delivered"},
			events.MessageDelivered{MXHost: "mx.example.net", ReplyCode: 250, Attempt: 1})
		if err != nil {
			t.Fatal(err)
		}
		f.store.beforeAppend = func() {
			if err := f.store.Append(context.Background(), envs...); err != nil {
				t.Error(err)
			}
		}
		return envs
	}
	check := func(t *testing.T, f *fixture, queued events.Envelope, theirs []events.Envelope) {
		t.Helper()
		got := f.store.stream(t, "m-1")
		if want := append([]events.Envelope{queued}, theirs...); len(got) != len(want) || got[0].ID != want[0].ID || got[1].ID != want[1].ID || got[2].ID != want[2].ID {
			t.Errorf("stream %v, want only message.queued and the other worker's events", typesOf(got))
		}
		if len(f.store.transcripts) != 0 {
			t.Errorf("transcripts %v stored by the loser", f.store.transcripts)
		}
		if got := f.suppressor.recorded(); len(got) != 0 {
			t.Errorf("the lost 550 suppressed %+v", got)
		}
		if got := f.observer.recorded(); len(got) != 0 {
			t.Errorf("observer saw %v for a dropped result", got)
		}
	}

	t.Run("Attempt", func(t *testing.T) {
		f := newFixture(t)
		f.sender.replies["bob@example.net"] = reply(550, "5.1.1", "no such user")
		queued := f.queueMessage(t, "m-1", "sub-1", "body-1", "bob@example.net")
		theirs := otherWorker(t, f, "m-1")
		if err := f.worker(t).Attempt(context.Background(), "m-1"); !errors.Is(err, ErrLostRace) {
			t.Fatalf("Attempt = %v, want ErrLostRace", err)
		}
		check(t, f, queued, theirs)
	})
	t.Run("Run", func(t *testing.T) {
		f := newFixture(t)
		f.sender.replies["bob@example.net"] = reply(550, "5.1.1", "no such user")
		queued := f.queueMessage(t, "m-1", "sub-1", "body-1", "bob@example.net")
		theirs := otherWorker(t, f, "m-1")
		f.run(t, f.worker(t), "m-1")
		check(t, f, queued, theirs)
		if v, _ := f.queue.releasedVersion("m-1"); v != 0 {
			t.Errorf("claim released with version %d, want 0 (nothing recorded)", v)
		}
		if logs := f.logs.lines(); !slices.Contains(logs, "WARN delivery: attempt lost the race") {
			t.Errorf("logs %q, want the lost race as a warning", logs)
		}
	})
}

func TestAttemptStoresTranscript(t *testing.T) {
	t.Run("with the events", func(t *testing.T) {
		f := newFixture(t)
		res := reply(250, "2.0.0", "OK")
		f.sender.replies["bob@example.net"] = res
		f.queueMessage(t, "m-1", "sub-1", "body-1", "bob@example.net")
		f.run(t, f.worker(t), "m-1")
		got := f.store.stream(t, "m-1")
		att := decodeAs[events.MessageAttempted](t, got[2])
		if att.TranscriptID != "m-1.1" {
			t.Errorf("attempted transcript id %q, want m-1.1", att.TranscriptID)
		}
		if text := f.store.transcripts[att.TranscriptID]; text != res.Transcript {
			t.Errorf("transcript %s = %q, want %q", att.TranscriptID, text, res.Transcript)
		}
		if f.store.withText != 1 {
			t.Errorf("%d appends carried a transcript, want the attempt's one", f.store.withText)
		}
	})
	t.Run("in a transcript store", func(t *testing.T) {
		f := newFixture(t)
		ts := &fakeTranscripts{saved: map[string]string{}}
		f.cfg.Transcripts = ts
		res := reply(451, "4.3.0", "try later")
		f.sender.replies["bob@example.net"] = res
		f.queueMessage(t, "m-1", "sub-1", "body-1", "bob@example.net")
		f.run(t, f.worker(t), "m-1")
		att := decodeAs[events.MessageAttempted](t, f.store.stream(t, "m-1")[2])
		if att.TranscriptID != "tr-m-1/1" || ts.saved["m-1/1"] != res.Transcript {
			t.Errorf("attempted transcript id %q, saved %q", att.TranscriptID, ts.saved)
		}
	})
	t.Run("store failed", func(t *testing.T) {
		f := newFixture(t)
		f.cfg.Transcripts = &fakeTranscripts{saved: map[string]string{}, err: errors.New("disk full")}
		f.queueMessage(t, "m-1", "sub-1", "body-1", "bob@example.net")
		f.run(t, f.worker(t), "m-1")
		got := f.store.stream(t, "m-1")
		if want := []string{"message.queued", "message.signed", "message.attempted", "message.delivered"}; !slices.Equal(typesOf(got), want) {
			t.Fatalf("stream %v, want the attempt recorded without its transcript", typesOf(got))
		}
		if att := decodeAs[events.MessageAttempted](t, got[2]); att.TranscriptID != "" {
			t.Errorf("attempted names transcript %q that was not stored", att.TranscriptID)
		}
		if logs := f.logs.lines(); !slices.Contains(logs, "WARN delivery: transcript not stored") {
			t.Errorf("logs %q", logs)
		}
	})
	t.Run("none", func(t *testing.T) {
		f := newFixture(t)
		res := reply(250, "2.0.0", "OK")
		res.Transcript = ""
		f.sender.replies["bob@example.net"] = res
		f.queueMessage(t, "m-1", "sub-1", "body-1", "bob@example.net")
		f.run(t, f.worker(t), "m-1")
		if att := decodeAs[events.MessageAttempted](t, f.store.stream(t, "m-1")[2]); att.TranscriptID != "" || len(f.store.transcripts) != 0 {
			t.Errorf("attempted transcript id %q, transcripts %v, want none", att.TranscriptID, f.store.transcripts)
		}
	})
}

// TestAttemptsSignOncePerBody: the recipients of one submission share its body, which is read
// and signed once for all of them, also when their attempts run at the same time; another
// submission's body is signed on its own. Each stream records its own message.signed.
func TestAttemptsSignOncePerBody(t *testing.T) {
	f := newFixture(t)
	f.cfg.Concurrency = 8
	f.signer.delay = 20 * time.Millisecond // the attempts of one claim batch overlap in Sign
	ids := []string{"m-1", "m-2", "m-3", "m-4"}
	f.queueMessage(t, "m-1", "sub-1", "body-1", "bob@example.net")
	f.queueMessage(t, "m-2", "sub-1", "body-1", "carol@example.net")
	f.queueMessage(t, "m-3", "sub-1", "body-1", "dave@example.com")
	f.queueMessage(t, "m-4", "sub-2", "body-2", "erin@example.com")
	f.run(t, f.worker(t), ids...)

	if n := f.signer.count(); n != 2 {
		t.Errorf("signed %d times, want 2 (once per body)", n)
	}
	if f.bodies.reads["body-1"] != 1 || f.bodies.reads["body-2"] != 1 {
		t.Errorf("body reads %v, want one per body", f.bodies.reads)
	}
	for _, id := range ids {
		got := f.store.stream(t, id)
		if want := []string{"message.queued", "message.signed", "message.attempted", "message.delivered"}; !slices.Equal(typesOf(got), want) {
			t.Errorf("%s: stream %v, want %v", id, typesOf(got), want)
		}
		if v, _ := f.queue.releasedVersion(id); v != 4 {
			t.Errorf("%s: released with version %d, want 4", id, v)
		}
	}
	signed := []byte("DKIM-Signature: v=1; d=example.org; s=s1\r\n" + testBody)
	for _, e := range f.sender.envelopes() {
		if !bytes.HasSuffix(e.Body, signed) || !bytes.HasPrefix(e.Body, []byte("X-Posthaste-Ref: ref-"+e.MessageID+"\r\n")) {
			t.Errorf("%s sent %q, want its own ref field before the shared signed body", e.MessageID, e.Body)
		}
	}
}

// TestAttemptBodyFailureIsNotKept: an attempt whose body cannot be read records nothing and
// releases its claim with version 0; the failure is not cached, so the next attempt reads the
// body again and delivers.
func TestAttemptBodyFailureIsNotKept(t *testing.T) {
	f := newFixture(t)
	f.queueMessage(t, "m-1", "sub-1", "body-1", "bob@example.net")
	f.bodies.mu.Lock()
	delete(f.bodies.data, "body-1")
	f.bodies.mu.Unlock()
	w := f.worker(t)
	f.run(t, w, "m-1")
	if n := len(f.store.stream(t, "m-1")); n != 1 || len(f.sender.envelopes()) != 0 {
		t.Fatalf("%d events, %d sends after a failed body read", n, len(f.sender.envelopes()))
	}
	if v, _ := f.queue.releasedVersion("m-1"); v != 0 {
		t.Errorf("claim released with version %d, want 0", v)
	}
	if logs := f.logs.lines(); !slices.Contains(logs, "ERROR delivery: attempt failed") {
		t.Errorf("logs %q", logs)
	}

	f.bodies.mu.Lock()
	f.bodies.data["body-1"] = []byte(testBody)
	f.bodies.mu.Unlock()
	if err := w.Attempt(context.Background(), "m-1"); err != nil {
		t.Fatal(err)
	}
	if got := typesOf(f.store.stream(t, "m-1")); len(got) != 4 || got[3] != "message.delivered" {
		t.Errorf("stream %v after the body came back", got)
	}
	if f.bodies.reads["body-1"] != 2 || f.signer.count() != 1 {
		t.Errorf("body reads %v, signatures %d: want 2 reads and 1 signature", f.bodies.reads, f.signer.count())
	}
}
