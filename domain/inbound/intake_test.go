package inbound_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/adapters/sqlstore"
	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/inbound/inboundtest"
	"github.com/posthaste/posthaste/domain/suppression"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/messageview"
)

const rpDomain = "rp.posthaste.test"

var now = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

// memStore is an in-memory inbound.Store for these tests (it passes the same acceptance suite).
type memStore struct {
	mu         sync.Mutex
	rs         map[string]inbound.Report
	failFinish int // fail this many FinishReport calls
}

func newMemStore() *memStore { return &memStore{rs: map[string]inbound.Report{}} }

func (m *memStore) SaveReport(_ context.Context, r inbound.Report) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.rs[r.ID]; dup {
		return errors.New("mem: duplicate id")
	}
	r.Raw = append([]byte{}, r.Raw...)
	r.Size = int64(len(r.Raw))
	m.rs[r.ID] = r
	return nil
}

func (m *memStore) FinishReport(_ context.Context, id, status, kind, messageID, summary string, at time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failFinish > 0 {
		m.failFinish--
		return false, errors.New("mem: finish failed")
	}
	r, ok := m.rs[id]
	if !ok || r.Status != inbound.StatusPending {
		return false, nil
	}
	r.Status, r.Kind, r.MessageID, r.Summary, r.ProcessedAt = status, kind, messageID, summary, at
	m.rs[id] = r
	return true, nil
}

func (m *memStore) Report(_ context.Context, id string) (inbound.Report, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rs[id]
	if !ok {
		return inbound.Report{}, inbound.ErrNotFound
	}
	return r, nil
}

func (m *memStore) sorted(keep func(inbound.Report) bool) []inbound.Report {
	var out []inbound.Report
	for _, r := range m.rs {
		if keep(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].ReceivedAt.Equal(out[j].ReceivedAt) {
			return out[i].ReceivedAt.Before(out[j].ReceivedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (m *memStore) Reports(_ context.Context, f inbound.Filter) ([]inbound.Report, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rs := m.sorted(func(r inbound.Report) bool { return f.Status == "" || r.Status == f.Status })
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []inbound.Report
	for i := len(rs) - 1; i >= 0 && len(out) < limit; i-- {
		r := rs[i]
		r.Raw = nil
		out = append(out, r)
	}
	return out, nil
}

func (m *memStore) PendingReports(_ context.Context, t time.Time, limit int) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for _, r := range m.sorted(func(r inbound.Report) bool { return r.Status == inbound.StatusPending && !r.ReceivedAt.After(t) }) {
		if len(ids) < limit {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

func TestMemStoreAcceptance(t *testing.T) {
	inboundtest.Run(t, func(t *testing.T) inbound.Store { return newMemStore() })
}

type policies struct{ hard, spam bool }

func (p policies) SuppressionPolicy(context.Context, string) (bool, bool, error) {
	return p.hard, p.spam, nil
}

type fixture struct {
	es     domain.EventStore
	view   *pt.Database // the message view's database (nil: no Message-ID fallback)
	store  *memStore
	sup    *suppression.Handler
	intake *inbound.Intake
	rec    domain.Recorder
}

// refKey signs the X-Posthaste-Ref fields of these tests.
var refKey = []byte("0123456789abcdef0123456789abcdef")

// newFixture runs the intake on a SQLite event store whose message view (projections/messages)
// serves the Message-ID fallback, as in production.
func newFixture(t testing.TB, pol inbound.Policies) *fixture {
	s := sqlstoretest.SQLite(t)
	db := &pt.Database{Name: "sqlite", DB: s.DB(), Dialect: sqlstore.SQLite}
	r, err := messageview.NewReader(db.DB)
	if err != nil {
		t.Fatal(err)
	}
	return newFixtureOn(t, s, pol, db, viewIndex{r})
}

func newFixtureOn(t testing.TB, es domain.EventStore, pol inbound.Policies, view *pt.Database, idx inbound.MessageIndex) *fixture {
	rec := domain.Recorder{Clock: func() time.Time { return now }}
	sup, err := suppression.NewHandler(es, rec)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{es: es, view: view, store: newMemStore(), sup: sup, rec: rec}
	f.intake, err = inbound.New(inbound.Config{Store: f.store, Events: es, Suppressor: sup, Policies: pol,
		ReturnPathDomain: rpDomain, Recorder: rec, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Messages: idx, RefKey: refKey})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// viewIndex adapts the message view reader to the port (as cmd/posthaste does).
type viewIndex struct{ r *messageview.Reader }

func (v viewIndex) ByMessageID(ctx context.Context, id string, rcpts []string, since time.Time, limit int) ([]inbound.IndexedMessage, error) {
	refs, err := v.r.ByMessageID(ctx, id, rcpts, since, limit)
	var out []inbound.IndexedMessage
	for _, r := range refs {
		out = append(out, inbound.IndexedMessage{ID: r.ID, ServerID: r.ServerID, RcptTo: r.RcptTo})
	}
	return out, err
}

// project folds message id's events into the message view, through the projection's own
// Apply and Flush (what the runner does in its transaction).
func (f *fixture) project(t testing.TB, id string) {
	t.Helper()
	if f.view == nil {
		return
	}
	ctx := context.Background()
	recs, err := f.es.ReadStream(ctx, events.StreamMessage, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	f.view.Apply(t, messageview.New(), recs...)
}

// queue appends a message.queued for id (recipient rcpt, Message-ID header hdrID).
func (f *fixture) queue(t testing.TB, id, rcpt, hdrID string) {
	envs, err := f.rec.Envelopes(events.StreamMessage, id, "acme/main", 0, domain.Cause{Actor: events.Actor{Type: events.ActorSMTP, ID: "cred"}},
		events.MessageQueued{SubmissionID: "sub-" + id, BodyID: "body-" + id, MailFrom: "alerts@example.org", RcptTo: rcpt,
			HeaderFrom: "alerts@example.org", Subject: "hi", MessageID: hdrID, Size: 10, Source: "smtp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.es.Append(context.Background(), envs...); err != nil {
		t.Fatal(err)
	}
	f.project(t, id)
}

func (f *fixture) types(t *testing.T, id string) []string {
	recs, err := f.es.ReadStream(context.Background(), events.StreamMessage, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Envelope.Type)
	}
	return out
}

func (f *fixture) receive(t *testing.T, rcpt string, raw []byte) inbound.Report {
	ctx := context.Background()
	id, err := f.intake.Receive(ctx, inbound.Envelope{RcptTo: []string{rcpt}, ClientIP: "192.0.2.1", Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.intake.Process(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func summary(t *testing.T, r inbound.Report) inbound.Summary {
	var s inbound.Summary
	if err := json.Unmarshal([]byte(r.Summary), &s); err != nil {
		t.Fatalf("summary %q: %v", r.Summary, err)
	}
	return s
}

func dsn(rcpt, action, status, diag, returned string) []byte {
	s := `From: MAILER-DAEMON@mx.remote.test
To: whoever@rp.posthaste.test
Subject: Delivery Status Notification
Message-ID: <dsn-1@mx.remote.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Delivery report.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.test

Final-Recipient: rfc822; ` + rcpt + `
Action: ` + action + `
Status: ` + status + `
Remote-MTA: dns; mx.remote.test
Diagnostic-Code: smtp; ` + diag + `

--B
Content-Type: text/rfc822-headers

` + returned + `
--B--
`
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

func arfReport(rcpt, msgID string) []byte {
	s := `From: fbl@remote.test
To: fbl@rp.posthaste.test
Subject: complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="A"

--A
Content-Type: text/plain

Abuse report.

--A
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: FBL/1
Version: 1
Original-Rcpt-To: <` + rcpt + `>

--A
Content-Type: message/rfc822

From: alerts@example.org
To: ` + rcpt + `
Message-ID: ` + msgID + `

hi
--A--
`
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

const msgA = "01a20b00-0000-7000-8000-00000000000a"
const msgB = "01a20b00-0000-7000-8000-00000000000b"

func TestVERPDSNBouncesAndSuppresses(t *testing.T) {
	f := newFixture(t, nil)
	f.queue(t, msgA, "gone@remote.test", "<m1@example.org>")
	r := f.receive(t, "b+"+msgA+"@"+rpDomain, dsn("gone@remote.test", "failed", "5.1.1", "550 5.1.1 user unknown", "Subject: hi\n"))
	if r.Status != inbound.StatusLinked || r.MessageID != msgA {
		t.Fatalf("report %+v, want linked to %s", r, msgA)
	}
	recs, _ := f.es.ReadStream(context.Background(), events.StreamMessage, msgA, 2)
	if len(recs) != 1 || recs[0].Envelope.Type != "message.bounced" {
		t.Fatalf("events after the DSN: %v", f.types(t, msgA))
	}
	ev, _ := events.Decode(recs[0].Envelope)
	b := ev.(*events.MessageBounced)
	if b.Reason != "userunknown" || b.Class != "hard" || b.Status != "5.1.1" || b.Source != "dsn" || b.ReportID != r.ID || b.RemoteMTA == "" {
		t.Errorf("bounced %+v", b)
	}
	if recs[0].Envelope.Actor.Type != events.ActorSystem || recs[0].Envelope.CorrelationID != r.ID {
		t.Errorf("actor %v correlation %q, want system and the report id", recs[0].Envelope.Actor, recs[0].Envelope.CorrelationID)
	}
	if ok, _ := f.sup.IsSuppressed(context.Background(), "acme/main", "gone@remote.test"); !ok {
		t.Error("hard bounce did not suppress the recipient")
	}
	s := summary(t, r)
	if s.LinkedBy != inbound.LinkedByVERP || len(s.Recipients) != 1 || s.Recipients[0].Outcome != inbound.OutcomeBounced || !s.Recipients[0].Suppressed {
		t.Errorf("summary %+v", s)
	}
}

func TestServerPolicyOffDoesNotSuppress(t *testing.T) {
	f := newFixture(t, policies{hard: false, spam: false})
	f.queue(t, msgA, "gone@remote.test", "<m1@example.org>")
	f.queue(t, msgB, "fan@remote.test", "<m2@example.org>")
	f.receive(t, "b+"+msgA+"@"+rpDomain, dsn("gone@remote.test", "failed", "5.1.1", "550 5.1.1 user unknown", "Subject: hi\n"))
	r := f.receive(t, "fbl@"+rpDomain, arfReport("fan@remote.test", "<m2@example.org>"))
	if r.Status != inbound.StatusLinked || r.MessageID != msgB {
		t.Fatalf("ARF report %+v, want linked to %s by Message-ID", r, msgB)
	}
	if got := f.types(t, msgB); strings.Join(got, " ") != "message.queued message.complained" {
		t.Errorf("events of the complained message: %v", got)
	}
	for _, a := range []string{"gone@remote.test", "fan@remote.test"} {
		if ok, _ := f.sup.IsSuppressed(context.Background(), "acme/main", a); ok {
			t.Errorf("%s suppressed although the server does not suppress", a)
		}
	}
}

func TestDeliveredAndDelayedDSNAreRecordedNotBounced(t *testing.T) {
	f := newFixture(t, nil)
	f.queue(t, msgA, "ok@remote.test", "<m1@example.org>")
	for _, action := range []string{"delivered", "relayed", "delayed"} {
		st := "2.0.0"
		if action == "delayed" {
			st = "4.4.7"
		}
		r := f.receive(t, "b+"+msgA+"@"+rpDomain, dsn("ok@remote.test", action, st, "250 ok", "Subject: hi\n"))
		s := summary(t, r)
		if r.Status != inbound.StatusLinked || len(s.Recipients) != 1 || s.Recipients[0].Outcome != inbound.OutcomeRecorded {
			t.Errorf("%s DSN: status %s summary %+v, want linked and recorded", action, r.Status, s)
		}
	}
	if got := f.types(t, msgA); len(got) != 1 {
		t.Errorf("success/delay DSNs appended events: %v", got)
	}
}

func TestAlreadyBouncedMessageIsNotBouncedAgain(t *testing.T) {
	f := newFixture(t, nil)
	f.queue(t, msgA, "gone@remote.test", "<m1@example.org>")
	envs, _ := f.rec.Envelopes(events.StreamMessage, msgA, "acme/main", 1, domain.Cause{Actor: events.Actor{Type: events.ActorSystem, ID: "worker"}},
		events.MessageBounced{Reason: "userunknown", Class: "hard", Status: "5.1.1", Source: "smtp"})
	if err := f.es.Append(context.Background(), envs...); err != nil {
		t.Fatal(err)
	}
	r := f.receive(t, "b+"+msgA+"@"+rpDomain, dsn("gone@remote.test", "failed", "5.1.1", "550 5.1.1 user unknown", "Subject: hi\n"))
	if s := summary(t, r); s.Recipients[0].Outcome != inbound.OutcomeAlreadyBounced {
		t.Errorf("outcome %+v, want already_bounced", s.Recipients)
	}
	if got := f.types(t, msgA); len(got) != 2 {
		t.Errorf("events %v, want no second bounce", got)
	}
}

func TestMessageIDLinksEachRecipientToItsOwnMessage(t *testing.T) {
	f := newFixture(t, nil)
	// One submission to two recipients: two messages sharing one Message-ID header.
	f.queue(t, msgA, "a@remote.test", "<shared@example.org>")
	f.queue(t, msgB, "b@remote.test", "<shared@example.org>")
	r := f.receive(t, "postmaster@"+rpDomain, dsn("B@remote.test", "failed", "5.1.1", "550 5.1.1 user unknown",
		"From: alerts@example.org\nMessage-ID: <shared@example.org>\n"))
	if r.Status != inbound.StatusLinked || r.MessageID != msgB {
		t.Fatalf("report %+v, want linked to the message of b@ (%s)", r, msgB)
	}
	if s := summary(t, r); s.LinkedBy != inbound.LinkedByMessageID {
		t.Errorf("linked by %q", s.LinkedBy)
	}
	if got := f.types(t, msgA); len(got) != 1 {
		t.Errorf("the other recipient's message got events: %v", got)
	}
	if got := f.types(t, msgB); len(got) != 2 || got[1] != "message.bounced" {
		t.Errorf("events of b@'s message: %v", got)
	}
}

func TestUnlinkableAndMalformedReportsStayStored(t *testing.T) {
	f := newFixture(t, nil)
	r := f.receive(t, "b+01a20b00-0000-7000-8000-0000000000ff@"+rpDomain, dsn("x@remote.test", "failed", "5.1.1", "550 user unknown", "Subject: hi\n"))
	if r.Status != inbound.StatusUnlinked || summary(t, r).Recipients[0].Outcome != inbound.OutcomeUnlinked {
		t.Errorf("DSN about an unknown message: %+v", r)
	}
	for _, raw := range [][]byte{[]byte("\x00\xff garbage"), []byte("Subject: just a note\r\n\r\nHello, how are you?\r\n")} {
		r := f.receive(t, "b+whatever@"+rpDomain, raw)
		if r.Status != inbound.StatusMalformed || summary(t, r).Error == "" {
			t.Errorf("%q: %+v, want malformed with the reason", raw, r)
		}
		got, err := f.store.Report(context.Background(), r.ID)
		if err != nil || string(got.Raw) != string(raw) {
			t.Errorf("stored raw %q, %v", got.Raw, err)
		}
	}
}

func TestPendingReportsAreRetriedWithoutDuplicates(t *testing.T) {
	f := newFixture(t, nil)
	f.queue(t, msgA, "gone@remote.test", "<m1@example.org>")
	ctx := context.Background()
	raw := dsn("gone@remote.test", "failed", "5.1.1", "550 5.1.1 user unknown", "Subject: hi\n")
	id, err := f.intake.Receive(ctx, inbound.Envelope{RcptTo: []string{"b+" + msgA + "@" + rpDomain}, Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	// The events are appended but recording the outcome fails (a crash at that point).
	f.store.failFinish = 1
	if _, err := f.intake.Process(ctx, id); err == nil {
		t.Fatal("Process succeeded although the outcome was not recorded")
	}
	if r, _ := f.store.Report(ctx, id); r.Status != inbound.StatusPending {
		t.Fatalf("status %s after the failure, want pending", r.Status)
	}
	n, err := f.intake.ProcessPending(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("ProcessPending = %d, %v; want 1, nil", n, err)
	}
	if got := f.types(t, msgA); len(got) != 2 {
		t.Errorf("events after the retry: %v, want exactly one bounce", got)
	}
	r, _ := f.store.Report(ctx, id)
	if r.Status != inbound.StatusLinked || summary(t, r).Recipients[0].Outcome != inbound.OutcomeBounced || !summary(t, r).Recipients[0].Suppressed {
		t.Errorf("after the retry: %+v, want the bounce this report made and the suppression", r)
	}
	if n, _ := f.intake.ProcessPending(ctx, 0); n != 0 {
		t.Errorf("ProcessPending found %d more", n)
	}
}

func TestAcceptsOnlyTheReturnPathDomain(t *testing.T) {
	f := newFixture(t, nil)
	for d, want := range map[string]bool{"rp.posthaste.test": true, "RP.Posthaste.Test.": true, "posthaste.test": false, "example.com": false, "": false} {
		if got := f.intake.AcceptsDomain(d); got != want {
			t.Errorf("AcceptsDomain(%q) = %v", d, got)
		}
	}
}

func TestNewRefusesMissingDependencies(t *testing.T) {
	_, err := inbound.New(inbound.Config{})
	if err == nil {
		t.Fatal("New accepted an empty config")
	}
	for _, w := range []string{"report store", "event store", "suppressor", "logger", "return-path domain"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name the %s", err, w)
		}
	}
}

// FuzzIntake feeds arbitrary bytes through the whole workflow (store, parse, link, record):
// it must never panic, never fail on input, and always leave a processed report.
func FuzzIntake(f *testing.F) {
	f.Add([]byte(dsn("gone@remote.test", "failed", "5.1.1", "550 5.1.1 user unknown", "Message-ID: <m1@example.org>\n")), true)
	f.Add(arfReport("gone@remote.test", "<m1@example.org>"), false)
	f.Add([]byte("\x00\xff"), false)
	f.Add([]byte("Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n--x--"), true)
	if ms, _ := filepath.Glob("../../../shared/eval/bounces/dev/*.eml"); len(ms) > 0 {
		for _, m := range ms[:min(20, len(ms))] {
			if b, err := os.ReadFile(m); err == nil {
				f.Add(b, true)
			}
		}
	}
	fx := newFixtureOn(f, memory.NewEventStore(), nil, nil, nil) // in memory: fuzzing measures the workflow, not fsync
	fx.queue(f, msgA, "gone@remote.test", "<m1@example.org>")
	valid := map[string]bool{inbound.StatusLinked: true, inbound.StatusUnlinked: true, inbound.StatusMalformed: true, inbound.StatusAutoReply: true}
	f.Fuzz(func(t *testing.T, raw []byte, verp bool) {
		rcpt := "postmaster@" + rpDomain
		if verp {
			rcpt = "b+" + msgA + "@" + rpDomain
		}
		ctx := context.Background()
		id, err := fx.intake.Receive(ctx, inbound.Envelope{RcptTo: []string{rcpt}, Raw: raw})
		if err != nil {
			t.Fatal(err)
		}
		r, err := fx.intake.Process(ctx, id)
		if err != nil {
			t.Fatalf("Process: %v", err)
		}
		if !valid[r.Status] {
			t.Fatalf("status %q", r.Status)
		}
		if got, _ := fx.store.Report(ctx, id); string(got.Raw) != string(raw) {
			t.Fatal("raw bytes not kept")
		}
	})
}

// A report that names the right Message-ID but not a recipient of that message (a forgery by
// someone who saw the Message-ID, or a report about somebody else's copy) must not bounce or
// suppress anything: it stays unlinked, with the reason for the operator.
func TestForgedMessageIDReportDoesNotBounceOrSuppress(t *testing.T) {
	f := newFixture(t, nil)
	f.queue(t, msgA, "victim@remote.test", "<news-1@example.org>")
	f.queue(t, msgB, "other@remote.test", "<news-2@example.org>")
	for name, raw := range map[string][]byte{
		"dsn": dsn("attacker@evil.test", "failed", "5.1.1", "550 5.1.1 user unknown",
			"From: alerts@example.org\nTo: victim@remote.test\nMessage-ID: <news-1@example.org>\n"),
		"arf": arfReport("attacker@evil.test", "<news-1@example.org>"),
	} {
		r := f.receive(t, "postmaster@"+rpDomain, raw)
		s := summary(t, r)
		if r.Status != inbound.StatusUnlinked || r.MessageID != "" || s.LinkedBy != "" || !strings.Contains(s.Refused, "Message-ID") {
			t.Errorf("%s: status %s message %q summary %+v, want unlinked with the refusal explained", name, r.Status, r.MessageID, s)
		}
		for _, o := range s.Recipients {
			if o.Outcome != inbound.OutcomeUnlinked {
				t.Errorf("%s: recipient outcome %+v", name, o)
			}
		}
	}
	for _, id := range []string{msgA, msgB} {
		if got := f.types(t, id); len(got) != 1 {
			t.Errorf("message %s got events from a forged report: %v", id, got)
		}
	}
	for _, a := range []string{"victim@remote.test", "other@remote.test", "attacker@evil.test"} {
		if ok, _ := f.sup.IsSuppressed(context.Background(), "acme/main", a); ok {
			t.Errorf("%s suppressed by a forged report", a)
		}
	}
}

// By Message-ID, a recipient named in the report links only to the message addressed to it;
// other recipients of the report that are not recipients of the message stay unlinked, and no
// message is given to them by elimination.
func TestMessageIDLinkNeedsTheRecipient(t *testing.T) {
	f := newFixture(t, nil)
	f.queue(t, msgA, "a@remote.test", "<shared@example.org>")
	f.queue(t, msgB, "b@remote.test", "<shared@example.org>")
	raw := []byte(strings.ReplaceAll(`From: MAILER-DAEMON@mx.remote.test
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.test

Final-Recipient: rfc822; a@remote.test
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 mailbox full

Final-Recipient: rfc822; alias@elsewhere.test
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--B
Content-Type: text/rfc822-headers

Message-ID: <SHARED@example.org>

--B--
`, "\n", "\r\n"))
	r := f.receive(t, "postmaster@"+rpDomain, raw)
	s := summary(t, r)
	if r.Status != inbound.StatusLinked || r.MessageID != msgA || s.LinkedBy != inbound.LinkedByMessageID {
		t.Fatalf("report %+v summary %+v, want linked to a@'s message by Message-ID", r, s)
	}
	if len(s.Recipients) != 2 || s.Recipients[0].Outcome != inbound.OutcomeBounced || s.Recipients[1].Outcome != inbound.OutcomeUnlinked {
		t.Errorf("outcomes %+v, want a@ bounced and the unknown address unlinked", s.Recipients)
	}
	if got := f.types(t, msgB); len(got) != 1 {
		t.Errorf("b@'s message got events: %v", got)
	}
}

// Our own reference field (an HMAC of the message id under the server secret) links a report
// whose envelope and recipient were both lost or rewritten (forwarding); a reference with a
// wrong tag proves nothing and is ignored.
func TestRefHeaderLinksAndForgedRefIsIgnored(t *testing.T) {
	f := newFixture(t, nil)
	f.queue(t, msgA, "gone@remote.test", "<m1@example.org>")
	f.queue(t, msgB, "kept@remote.test", "<m2@example.org>")
	good := inbound.Ref(refKey, msgA)
	r := f.receive(t, "postmaster@"+rpDomain, dsn("forwarded@alias.test", "failed", "5.1.1", "550 5.1.1 user unknown",
		"Message-ID: <m1@example.org>\n"+inbound.RefHeader+": "+good+"\n"))
	if s := summary(t, r); r.Status != inbound.StatusLinked || r.MessageID != msgA || s.LinkedBy != inbound.LinkedByRef {
		t.Fatalf("report %+v summary %+v, want linked to %s by the reference", r, s, msgA)
	}
	if ok, _ := f.sup.IsSuppressed(context.Background(), "acme/main", "gone@remote.test"); !ok {
		t.Error("hard bounce linked by reference did not suppress the message's recipient")
	}
	forged := msgB + "." + strings.Repeat("A", 22)
	r = f.receive(t, "postmaster@"+rpDomain, dsn("forwarded@alias.test", "failed", "5.1.1", "550 5.1.1 user unknown",
		"Message-ID: <m2@example.org>\n"+inbound.RefHeader+": "+forged+"\n"))
	if r.Status != inbound.StatusUnlinked {
		t.Errorf("forged reference: status %s, want unlinked", r.Status)
	}
	if got := f.types(t, msgB); len(got) != 1 {
		t.Errorf("forged reference appended %v", got)
	}
}

func TestRefRoundTrip(t *testing.T) {
	v := inbound.Ref(refKey, msgA)
	if id, ok := inbound.VerifyRef(refKey, " "+v+" "); !ok || id != msgA {
		t.Fatalf("VerifyRef(%q) = %q, %v", v, id, ok)
	}
	bad := []string{"", msgA, msgA + ".", "." + v, v + "x", inbound.Ref([]byte("another key......................"), msgA),
		msgB + v[len(msgA):]}
	for _, b := range bad {
		if id, ok := inbound.VerifyRef(refKey, b); ok {
			t.Errorf("VerifyRef(%q) accepted, id %q", b, id)
		}
	}
	if _, ok := inbound.VerifyRef(nil, v); ok {
		t.Error("a nil key verified a reference")
	}
}
