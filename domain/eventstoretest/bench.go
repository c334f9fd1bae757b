package eventstoretest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// benchPayload is a realistic message.queued payload (~400 bytes).
var benchPayload = json.RawMessage(`{"submission_id":"0193a7c2-5b1e-7c3d-9f00-0a1b2c3d4e5f","mail_from":"bounces+x@rp.example.net",` +
	`"rcpt_to":"someone@example.org","from":"Acme <noreply@acme.example>","subject":"Your order #12345 has shipped",` +
	`"message_id":"<0193a7c2.5b1e@mail.acme.example>","size":18234,"tag":"shipping","credential_id":"cred-42",` +
	`"client_ip":"192.0.2.10","tls":true}`)

func benchEnv(stream string, version int64) events.Envelope {
	srv := "srv-bench"
	return events.Envelope{
		ID: events.NewID(base, nil), Type: "message.queued", SchemaVersion: 1,
		StreamType: events.StreamMessage, StreamID: stream, StreamVersion: version, ServerID: &srv,
		OccurredAt: base, Actor: events.Actor{Type: events.ActorSMTP, ID: "cred-42"},
		CorrelationID: "sub-bench", Payload: benchPayload,
	}
}

var benchRun atomic.Int64 // keeps stream ids unique across benchmark rounds on one store

// BenchAppend measures durable appends through the port: b.N Append calls of perAppend events
// each, from goroutines concurrent callers (1 = one caller in a loop). It reports events/s.
func BenchAppend(b *testing.B, s domain.EventStore, goroutines, perAppend int) {
	ctx := context.Background()
	run := benchRun.Add(1)
	var next atomic.Int64 // next Append index
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	done := make(chan struct{}, goroutines)
	for g := range goroutines {
		go func() {
			defer func() { done <- struct{}{} }()
			stream := fmt.Sprintf("bench-%d-%d", run, g)
			version := int64(0)
			envs := make([]events.Envelope, perAppend)
			for next.Add(1) <= int64(b.N) {
				for i := range envs {
					version++
					envs[i] = benchEnv(stream, version)
				}
				if err := s.Append(ctx, envs...); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	for range goroutines {
		<-done
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatalf("append: %v", err)
	}
	b.ReportMetric(float64(b.N*perAppend)/elapsed.Seconds(), "events/s")
}

// BenchRelay measures the relay side: b.N events are appended (untimed, in batches of 100),
// then Pending(limit) + Ack drain them (timed: stamping positions where the store does, reading
// the outbox, deleting acked rows). It reports events/s.
func BenchRelay(b *testing.B, s Store, limit int) {
	ctx := context.Background()
	run := benchRun.Add(1)
	b.StopTimer()
	envs := make([]events.Envelope, 0, 100)
	for i := 0; i < b.N; i++ {
		envs = append(envs, benchEnv(fmt.Sprintf("relay-%d-%d", run, i), 1))
		if len(envs) == cap(envs) || i == b.N-1 {
			if err := s.Append(ctx, envs...); err != nil {
				b.Fatalf("append: %v", err)
			}
			envs = envs[:0]
		}
	}
	b.StartTimer()
	start := time.Now()
	for done := 0; done < b.N; {
		recs, err := s.Pending(ctx, limit)
		if err != nil {
			b.Fatalf("pending: %v", err)
		}
		if len(recs) == 0 {
			b.Fatalf("pending returned nothing after %d of %d events", done, b.N)
		}
		positions := make([]int64, len(recs))
		for i, r := range recs {
			positions[i] = r.Position
		}
		if err := s.Ack(ctx, positions); err != nil {
			b.Fatalf("ack: %v", err)
		}
		done += len(recs)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// AppendBacklog appends n message.queued events (~700 stored bytes each, with their outbox
// rows) through the real Append path, from 4 goroutines of 500 events per call, as a bulk send
// would. It returns the run tag the stream ids carry.
func AppendBacklog(tb testing.TB, s domain.EventStore, n int) int64 {
	tb.Helper()
	ctx := context.Background()
	run := benchRun.Add(1)
	const goroutines, perAppend = 4, 500
	var next atomic.Int64
	var failed atomic.Value
	done := make(chan struct{}, goroutines)
	for range goroutines {
		go func() {
			defer func() { done <- struct{}{} }()
			envs := make([]events.Envelope, 0, perAppend)
			for {
				start := next.Add(perAppend) - perAppend
				if start >= int64(n) {
					return
				}
				envs = envs[:0]
				for i := start; i < min(start+perAppend, int64(n)); i++ {
					envs = append(envs, benchEnv(fmt.Sprintf("backlog-%d-%d", run, i), 1))
				}
				if err := s.Append(ctx, envs...); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	for range goroutines {
		<-done
	}
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatalf("append backlog: %v", err)
	}
	return run
}

// PendingAfter is the relay's read-ahead (domain/relay): the outbox entries above a position
// the relay is still publishing, stamping only what it needs. Stores may implement it.
type PendingAfter interface {
	PendingAfter(ctx context.Context, after int64, limit int) ([]events.Record, error)
}

// BenchRelayBacklog measures the relay side with a large outbox backlog, as during a bulk send:
// backlog+b.N events are appended (untimed), then the relay's reads (PendingAfter(last, limit)
// when the store has it, else Pending(limit)) + Ack drain the first b.N of them (timed). A
// store whose stamping or reading scans the backlog slows down as backlog grows; one that does
// O(limit) work per call does not. It reports events/s and the slowest read.
func BenchRelayBacklog(b *testing.B, s Store, backlog, limit int) {
	ctx := context.Background()
	b.StopTimer()
	AppendBacklog(b, s, backlog+b.N)
	b.StartTimer()
	start := time.Now()
	var slowest time.Duration
	pa, hasAfter := s.(PendingAfter)
	var last int64
	for done := 0; done < b.N; {
		t0 := time.Now()
		var recs []events.Record
		var err error
		if hasAfter {
			recs, err = pa.PendingAfter(ctx, last, limit)
		} else {
			recs, err = s.Pending(ctx, limit)
		}
		if err != nil {
			b.Fatalf("pending: %v", err)
		}
		slowest = max(slowest, time.Since(t0))
		if len(recs) == 0 {
			b.Fatalf("pending returned nothing after %d of %d events", done, b.N)
		}
		positions := make([]int64, len(recs))
		for i, r := range recs {
			positions[i] = r.Position
			last = max(last, r.Position)
		}
		if err := s.Ack(ctx, positions); err != nil {
			b.Fatalf("ack: %v", err)
		}
		done += len(recs)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(slowest.Microseconds())/1000, "slowest-pending-ms")
}
