package messageview_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/messageview"
)

type store interface {
	domain.EventStore
	domain.Outbox
	DB() *sql.DB
}

func eachBackend(t *testing.T, f func(t *testing.T, s store, db projections.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		s := sqlstoretest.SQLite(t)
		f(t, s, projections.DB{SQL: s.DB(), Dialect: projections.DialectSQLite})
	})
	t.Run("mariadb", func(t *testing.T) {
		s := sqlstoretest.MariaDB(t)
		f(t, s, projections.DB{SQL: s.DB(), Dialect: projections.DialectMySQL})
	})
}

// chanSub hands the test's deliveries to the runner.
type chanSub struct{ ch chan projections.Delivery }

func (c chanSub) Subscribe(ctx context.Context, _ string) (<-chan projections.Delivery, <-chan struct{}, error) {
	return c.ch, make(chan struct{}), nil
}

// deliverMessy appends envs to the store, then hands the runner every record shuffled, with
// duplicates and with some left out (gaps the runner fills from the store), and waits until all
// are settled.
func deliverMessy(t *testing.T, s store, db projections.DB, proj projections.Projection, envs []events.Envelope, seed uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Append(ctx, envs...); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pending(ctx, 1); err != nil {
		t.Fatal(err)
	}
	all, err := s.ReadAll(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for _, e := range envs {
		mine[e.ID] = true
	}
	var recs []events.Record
	for _, r := range all {
		if mine[r.Envelope.ID] {
			recs = append(recs, r)
		}
	}
	if len(recs) != len(envs) {
		t.Fatalf("read back %d of %d", len(recs), len(envs))
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var batch []events.Record
	for _, r := range recs {
		switch rng.IntN(4) {
		case 0: // left out: a gap
			continue
		case 1: // duplicated
			batch = append(batch, r, r)
		default:
			batch = append(batch, r)
		}
	}
	// The last version of every stream comes at least once, so every gap gets filled.
	last := map[string]events.Record{}
	for _, r := range recs {
		last[r.Envelope.StreamID] = r
	}
	for _, r := range last {
		batch = append(batch, r)
	}
	rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })

	sub := chanSub{ch: make(chan projections.Delivery, len(batch))}
	acked := make(chan bool, len(batch))
	for _, r := range batch {
		sub.ch <- projections.Delivery{Record: r,
			Ack: func() error { acked <- true; return nil },
			DeadLetter: func(err error) error {
				t.Errorf("dead-lettered %s: %v", r.Envelope.Type, err)
				acked <- false
				return nil
			}}
	}
	rn, err := projections.NewRunner(db, s, sub, []projections.Projection{proj}, slog.New(slog.NewTextHandler(io.Discard, nil)),
		projections.Options{CatchUpInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rn.Run(runCtx) }()
	for range batch {
		select {
		case <-acked:
		case <-ctx.Done():
			t.Fatal("deliveries not settled in time")
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

var t0 = time.Date(2026, 11, 17, 9, 0, 0, 0, time.UTC) // a Tuesday

func stream(t *testing.T, id, server string, start time.Time, evs ...events.Event) []events.Envelope {
	t.Helper()
	n := 0
	rec := domain.Recorder{Clock: func() time.Time { n++; return start.Add(time.Duration(n) * time.Minute) }}
	envs, err := rec.Envelopes(events.StreamMessage, id, server, 0, domain.Cause{Actor: events.Actor{Type: events.ActorSystem, ID: "test"}}, evs...)
	if err != nil {
		t.Fatal(err)
	}
	return envs
}

func queued(rcpt, subject string) *events.MessageQueued {
	return &events.MessageQueued{SubmissionID: "s1", BodyID: "b1", MailFrom: "app@example.org", RcptTo: rcpt,
		HeaderFrom: "Alerts <alerts@example.org>", Subject: subject, MessageID: "<" + rcpt + "@mid>", Size: 1234, Tag: "welcome", Source: "smtp"}
}

// workload is a mixed set of message streams: delivered, deferred then delivered, bounced,
// held then released then delivered, expired, and a message on another server.
func workload(t *testing.T) []events.Envelope {
	att := func(n int, code int, result string) *events.MessageAttempted {
		return &events.MessageAttempted{Attempt: n, MXHost: "mx.remote.test", IP: "192.0.2.1", TLSVersion: "TLS1.3", ReplyCode: code,
			ReplyText: "reply " + result, DurationMS: 120, TranscriptID: "tr", Result: result}
	}
	var envs []events.Envelope
	envs = append(envs, stream(t, "m1", "acme/main", t0, queued("ok@remote.test", "Hello"), att(1, 250, "delivered"),
		&events.MessageDelivered{MXHost: "mx.remote.test", ReplyCode: 250, Attempt: 1})...)
	envs = append(envs, stream(t, "m2", "acme/main", t0.Add(time.Hour), queued("later@remote.test", "Weekly report"), att(1, 451, "deferred"),
		&events.MessageDeferred{Attempt: 1, NextAttemptAt: t0.Add(2 * time.Hour), Reason: "greylisted"}, att(2, 250, "delivered"),
		&events.MessageDelivered{ReplyCode: 250, Attempt: 2})...)
	envs = append(envs, stream(t, "m3", "acme/main", t0.Add(2*time.Hour), queued("nobody@other.test", "Hello"), att(1, 550, "bounced"),
		&events.MessageBounced{Reason: "userunknown", Class: "hard", Status: "5.1.1", Diagnostic: "no such user"})...)
	envs = append(envs, stream(t, "m4", "acme/main", t0.Add(3*time.Hour), queued("dev@remote.test", "Dev"),
		&events.MessageHeld{Reason: events.HoldDevelopmentMode}, &events.MessageReleased{By: "cli:root"}, att(1, 250, "delivered"),
		&events.MessageDelivered{ReplyCode: 250, Attempt: 1})...)
	envs = append(envs, stream(t, "m5", "acme/main", t0.Add(4*time.Hour), queued("gone@remote.test", "Expiring"), att(1, 421, "deferred"),
		&events.MessageExpired{Attempts: 1, LastReplyCode: 421})...)
	envs = append(envs, stream(t, "m6", "acme/other", t0, queued("ok@remote.test", "Other server"))...)
	return envs
}

func TestViewUnderDuplicatesReorderingAndGaps(t *testing.T) {
	eachBackend(t, func(t *testing.T, s store, db projections.DB) {
		ctx := context.Background()
		envs := workload(t)
		deliverMessy(t, s, db, messageview.New(), envs, 7)
		live, err := projections.Checksum(ctx, db, messageview.New())
		if err != nil {
			t.Fatal(err)
		}
		r, _ := messageview.NewReader(db.SQL)
		want := map[string]string{"m1": "delivered", "m2": "delivered", "m3": "bounced", "m4": "delivered", "m5": "expired", "m6": "queued"}
		for id, st := range want {
			d, err := r.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != st {
				t.Errorf("%s: status %s, want %s", id, d.Status, st)
			}
			var n int
			for _, e := range envs {
				if e.StreamID == id {
					n++
				}
			}
			if len(d.Timeline) != n {
				t.Errorf("%s: timeline of %d events, want %d (each once)", id, len(d.Timeline), n)
			}
		}
		d, _ := r.Get(ctx, "m2")
		if d.Attempts != 2 || len(d.AttemptLog) != 2 || d.AttemptLog[0].ReplyCode != 451 || d.LastReplyCode != 250 {
			t.Errorf("m2 attempts: %+v", d)
		}
		if d, _ := r.Get(ctx, "m3"); d.BounceReason != "userunknown" || d.BounceClass != "hard" {
			t.Errorf("m3 bounce: %+v", d.Message)
		}
		// Replaying the log in order gives the same rows.
		if _, err := projections.Replay(ctx, db, s, messageview.New()); err != nil {
			t.Fatal(err)
		}
		replayed, err := projections.Checksum(ctx, db, messageview.New())
		if err != nil {
			t.Fatal(err)
		}
		if replayed.SHA256 != live.SHA256 {
			t.Errorf("replay differs from the live view built from messy deliveries")
		}
	})
}

func TestListFiltersAndCursor(t *testing.T) {
	eachBackend(t, func(t *testing.T, s store, db projections.DB) {
		ctx := context.Background()
		deliverMessy(t, s, db, messageview.New(), workload(t), 3)
		r, _ := messageview.NewReader(db.SQL)
		list := func(q string, oldest bool) []string {
			t.Helper()
			pq, err := messageview.ParseQuery(q)
			if err != nil {
				t.Fatal(err)
			}
			p, err := r.List(ctx, messageview.ListRequest{Server: "acme/main", Query: pq, Oldest: oldest})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range p.Messages {
				ids = append(ids, m.ID)
			}
			return ids
		}
		cases := []struct {
			q      string
			oldest bool
			want   string
		}{
			{"", false, "[m5 m4 m3 m2 m1]"},
			{"", true, "[m1 m2 m3 m4 m5]"},
			{"to:OK@remote.test", false, "[m1]"},
			{"to:@other.test", false, "[m3]"},
			{"to:remote.test status:delivered", true, "[m1 m2 m4]"},
			{"status:bounced status:expired", true, "[m3 m5]"},
			{`subject:"weekly REPORT"`, false, "[m2]"},
			{"msgid:LATER@remote.test@mid", false, "[m2]"},
			{"from:alerts@example.org tag:welcome", true, "[m1 m2 m3 m4 m5]"},
			{"after:2026-11-17T10:00:00Z before:2026-11-17T12:00:00Z", true, "[m2 m3]"},
			{"nobody", false, "[m3]"},
			{"after:2026-11-18", false, "[]"},
		}
		for _, c := range cases {
			if got := fmtIDs(list(c.q, c.oldest)); got != c.want {
				t.Errorf("query %q oldest=%v: %s, want %s", c.q, c.oldest, got, c.want)
			}
		}
		// Keyset pages: 2 at a time, a new message queued between pages does not shift them.
		var got []string
		var cur *messageview.Cursor
		for i := 0; ; i++ {
			p, err := r.List(ctx, messageview.ListRequest{Server: "acme/main", Limit: 2, After: cur})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range p.Messages {
				got = append(got, m.ID)
			}
			if i == 0 {
				deliverMessy(t, s, db, messageview.New(), stream(t, "m9", "acme/main", t0.Add(24*time.Hour), queued("new@remote.test", "New")), 1)
			}
			if p.Next == nil {
				break
			}
			c, err := messageview.DecodeCursor(p.Next.Encode())
			if err != nil {
				t.Fatal(err)
			}
			cur = &c
		}
		if fmtIDs(got) != "[m5 m4 m3 m2 m1]" {
			t.Errorf("paged listing %v, want every message once in order despite an insert", got)
		}
	})
}

func fmtIDs(ids []string) string {
	out := "["
	for i, id := range ids {
		if i > 0 {
			out += " "
		}
		out += id
	}
	return out + "]"
}
