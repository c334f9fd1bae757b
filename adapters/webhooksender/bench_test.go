package webhooksender_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/webhooksender"
	"github.com/posthaste/posthaste/events"
)

// BenchmarkWebhookDeliveries100k: 100 000 message.delivered events (POSTHASTE_BENCH_WEBHOOK_EVENTS
// overrides) enqueued by the projection for one subscription, then sent, signed (Standard
// Webhooks HMAC-SHA256), to a local receiver answering 204, with every attempt recorded. The
// timed part is the sender from the first claim to the last recorded success. Run with
// -benchtime=1x: one iteration is the whole batch. Enqueueing 100 000 events through the
// projection takes minutes on MariaDB (untimed), hence the longer -timeout.
//
//	go test -timeout 30m -run '^$' -bench WebhookDeliveries -benchtime=1x ./adapters/webhooksender/
func BenchmarkWebhookDeliveries100k(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("POSTHASTE_BENCH_WEBHOOK_EVENTS")); err == nil && v > 0 {
		n = v
	}
	for name, mk := range backends() {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				f := mk(b)
				var hits atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Header.Get("webhook-signature") == "" {
						w.WriteHeader(400)
						return
					}
					hits.Add(1)
					w.WriteHeader(http.StatusNoContent)
				}))
				sub, _ := f.subscribe(b, srv.URL)
				now := time.Now()
				envs := make([]events.Envelope, 0, 2*n)
				for m := 0; m < n; m++ {
					envs = append(envs, messageEvents(b, fmt.Sprintf("bench-%06d", m), now,
						events.MessageDelivered{MXHost: "mx.remote.test", ReplyCode: 250, ReplyText: "2.0.0 OK", Attempt: 1})...)
				}
				f.project(b, envs)
				s := f.sender(b, "bench", webhooksender.Config{AllowPrivate: true, Workers: 64, PerEndpoint: 64, Batch: 1000}, time.Now)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				b.StartTimer()
				start, cpu0 := time.Now(), cpuTime()
				go func() { defer close(done); s.Run(ctx) }()
				for hits.Load() < int64(n) {
					time.Sleep(20 * time.Millisecond)
				}
				for {
					var ok int
					if err := f.db.QueryRow(`SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ? AND status = 'succeeded'`, sub.ID).Scan(&ok); err != nil {
						b.Fatal(err)
					}
					if ok == n {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				el, cpu := time.Since(start), cpuTime()-cpu0
				b.StopTimer()
				cancel()
				<-done
				srv.Close()
				if hits.Load() < int64(n) {
					b.Fatalf("receiver got %d of %d", hits.Load(), n)
				}
				// CPU of this process (sender, receiver, SQLite in-process) per delivery: the rate two
				// idle cores would give, since the shared machine's wall clock is noisy.
				perCPU := cpu / time.Duration(n)
				b.ReportMetric(float64(n)/el.Seconds(), "deliveries/s")
				b.ReportMetric(float64(perCPU.Microseconds()), "cpu-µs/delivery")
				b.Logf("%s: %d deliveries in %v (%.0f/s wall), %v CPU per delivery in this process (≈%.0f/s on 2 idle cores), %d requests",
					name, n, el.Round(time.Millisecond), float64(n)/el.Seconds(), perCPU, 2/perCPU.Seconds(), hits.Load())
			}
		})
	}
}

// cpuTime is the user+system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
