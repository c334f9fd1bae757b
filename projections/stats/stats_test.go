package stats_test

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
	"github.com/posthaste/posthaste/projections/stats"
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

func TestStatsUnderDuplicatesReorderingAndGaps(t *testing.T) {
	eachBackend(t, func(t *testing.T, s store, db projections.DB) {
		ctx := context.Background()
		deliverMessy(t, s, db, stats.New(), workload(t), 11)
		live, err := projections.Checksum(ctx, db, stats.New())
		if err != nil {
			t.Fatal(err)
		}
		rep, err := stats.BuildReport(ctx, db.SQL, stats.ReportRequest{Server: "acme/main", From: t0.Add(-24 * time.Hour), To: t0.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		c := rep.Total
		if c.Queued != 5 || c.Delivered != 3 || c.Deferred != 1 || c.Bounced != 1 || c.BouncedHard != 1 || c.Held != 1 || c.Expired != 1 {
			t.Errorf("totals %+v", c)
		}
		if c.BounceReasons["userunknown"] != 1 || c.BounceRate != 0.25 {
			t.Errorf("bounce reasons %v rate %v", c.BounceReasons, c.BounceRate)
		}
		// Latencies (queued → delivered): m1 2 min, m2 4 min, m4 4 min.
		if c.LatencyMS["p50"] < 240000 || c.LatencyMS["p50"] > 240000*6/5 || c.LatencyMS["p99"] < 240000 {
			t.Errorf("latency %v", c.LatencyMS)
		}
		if len(rep.Buckets) != 1 || rep.Buckets[0].Queued != 5 {
			t.Errorf("day buckets %+v", rep.Buckets)
		}
		if len(rep.TopDomains) != 2 || rep.TopDomains[0] != (stats.DomainOutcome{Domain: "remote.test", Queued: 4, Delivered: 3, Deferred: 1, Expired: 1}) ||
			rep.TopDomains[1] != (stats.DomainOutcome{Domain: "other.test", Queued: 1, Bounced: 1}) {
			t.Errorf("top domains %+v", rep.TopDomains)
		}
		hours, _ := stats.BuildReport(ctx, db.SQL, stats.ReportRequest{Server: "acme/main", From: t0, To: t0.Add(24 * time.Hour), ByHour: true})
		if len(hours.Buckets) != 5 || hours.Buckets[1].Queued != 1 || hours.Buckets[1].Deferred != 1 {
			t.Errorf("hour buckets %+v", hours.Buckets)
		}
		// A time zone moves the day boundary: in Pacific/Kiritimati (UTC+14) 10:00Z is the next day.
		kz, _ := time.LoadLocation("Pacific/Kiritimati")
		zoned, _ := stats.BuildReport(ctx, db.SQL, stats.ReportRequest{Server: "acme/main", From: t0.Add(-24 * time.Hour), To: t0.Add(24 * time.Hour), Zone: kz})
		if len(zoned.Buckets) != 2 || zoned.Buckets[0].Queued != 1 || zoned.Buckets[1].Queued != 4 {
			t.Errorf("Kiritimati days %+v", zoned.Buckets)
		}
		if _, err := projections.Replay(ctx, db, s, stats.New()); err != nil {
			t.Fatal(err)
		}
		replayed, _ := projections.Checksum(ctx, db, stats.New())
		if replayed.SHA256 != live.SHA256 {
			t.Errorf("replay differs from the live stats built from messy deliveries")
		}
	})
}

func TestPercentileFromBuckets(t *testing.T) {
	h := map[int]int64{}
	for ms := 1; ms <= 1000; ms++ {
		h[stats.LatencyBucket(time.Duration(ms)*time.Millisecond)]++
	}
	for p, want := range map[float64]time.Duration{0.5: 500 * time.Millisecond, 0.99: 990 * time.Millisecond} {
		got := stats.Percentile(h, p)
		if got < want || got > want*6/5 {
			t.Errorf("p%v = %v, want within 20%% above %v", p*100, got, want)
		}
	}
}
