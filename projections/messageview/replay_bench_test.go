package messageview_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/messageview"
	"github.com/posthaste/posthaste/projections/stats"
)

// seedMessages appends n message streams of 4 events (queued, attempted, deferred or
// delivered or bounced) in batches, and has positions stamped.
func seedMessages(b *testing.B, s store, n int) int {
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var batch []events.Envelope
	total := 0
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := s.Append(ctx, batch...); err != nil {
			b.Fatal(err)
		}
		total += len(batch)
		batch = batch[:0]
	}
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second)
		k := 0
		rec := domain.Recorder{Clock: func() time.Time { k++; return at.Add(time.Duration(k) * time.Second) }}
		rcpt := fmt.Sprintf("user%d@domain%d.test", i, i%50)
		evs := []events.Event{
			&events.MessageQueued{SubmissionID: "s" + strconv.Itoa(i), BodyID: "b", MailFrom: "app@example.org", RcptTo: rcpt,
				HeaderFrom: "App <app@example.org>", Subject: "Invoice " + strconv.Itoa(i), MessageID: "<" + strconv.Itoa(i) + "@x>", Size: 2000, Tag: "t" + strconv.Itoa(i%5), Source: "smtp"},
			&events.MessageAttempted{Attempt: 1, MXHost: "mx.test", ReplyCode: 250, ReplyText: "ok", DurationMS: 40, Result: "delivered"},
		}
		switch i % 10 {
		case 0:
			evs = append(evs, &events.MessageBounced{Reason: "userunknown", Class: "hard", Status: "5.1.1"})
		case 1:
			evs = append(evs, &events.MessageDeferred{Attempt: 1, NextAttemptAt: at.Add(time.Hour), Reason: "greylisted"})
		default:
			evs = append(evs, &events.MessageDelivered{ReplyCode: 250, Attempt: 1})
		}
		envs, err := rec.Envelopes(events.StreamMessage, fmt.Sprintf("m%07d", i), "acme/main", 0, domain.Cause{Actor: events.Actor{Type: events.ActorSystem, ID: "bench"}}, evs...)
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, envs...)
		if len(batch) >= 600 {
			flush()
		}
	}
	flush()
	for {
		p, err := s.Pending(ctx, 10000)
		if err != nil {
			b.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		pos := make([]int64, len(p))
		for i, r := range p {
			pos[i] = r.Position
		}
		if err := s.Ack(ctx, pos); err != nil {
			b.Fatal(err)
		}
	}
	return total
}

// cpuTime is the CPU time (user + system) this process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReplay measures replay speed (events read from the store and applied per second) of
// the message view and the stats projection on both backends, each alone and both in one
// ReplayAll (one read of the log for the two, as `replay --all` does). POSTHASTE_BENCH_MESSAGES
// sets the number of messages seeded (default 5000, 3 events each).
//
// Metrics: events/s over wall time, and events/cpu-s over this process's CPU time (user +
// system), which a loaded machine distorts less; it leaves out the MariaDB server's CPU.
func BenchmarkReplay(b *testing.B) {
	n := 5000
	if v, err := strconv.Atoi(os.Getenv("POSTHASTE_BENCH_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	for _, backend := range []string{"sqlite", "mariadb"} {
		b.Run(backend, func(b *testing.B) {
			var s store
			var db projections.DB
			if backend == "sqlite" {
				st := sqlstoretest.SQLite(b)
				s, db = st, projections.DB{SQL: st.DB(), Dialect: projections.DialectSQLite}
			} else {
				st := sqlstoretest.MariaDB(b)
				s, db = st, projections.DB{SQL: st.DB(), Dialect: projections.DialectMySQL}
			}
			total := seedMessages(b, s, n)
			for _, c := range []struct {
				name  string
				projs func() []projections.Projection
			}{
				{messageview.Name, func() []projections.Projection { return []projections.Projection{messageview.New()} }},
				{stats.Name, func() []projections.Projection { return []projections.Projection{stats.New()} }},
				{"all", func() []projections.Projection { return []projections.Projection{messageview.New(), stats.New()} }},
			} {
				b.Run(c.name, func(b *testing.B) {
					var evs int
					b.ResetTimer()
					cpu := cpuTime(b)
					for range b.N {
						res, err := projections.ReplayAll(context.Background(), db, s, c.projs(), slog.New(slog.NewTextHandler(io.Discard, nil)), projections.Options{})
						if err != nil {
							b.Fatal(err)
						}
						evs += res[0].Events
					}
					cpu = cpuTime(b) - cpu
					if evs != total*b.N {
						b.Fatalf("replayed %d events, want %d", evs, total*b.N)
					}
					b.ReportMetric(float64(evs)/b.Elapsed().Seconds(), "events/s")
					b.ReportMetric(float64(evs)/cpu.Seconds(), "events/cpu-s")
				})
			}
		})
	}
}
