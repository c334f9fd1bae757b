package webhooksender_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/posthaste/posthaste/adapters/webhooksender"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// A receiver on loopback is refused at connect time unless private targets are allowed; the
// refusal is recorded as a failed attempt and nothing reaches the receiver.
func TestPrivateTargetRefusedUnlessAllowed(t *testing.T) {
	for name, mk := range backends() {
		t.Run(name, func(t *testing.T) {
			f := mk(t)
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
			defer srv.Close()
			sub, _ := f.subscribe(t, srv.URL)
			f.project(t, messageEvents(t, "m1", time.Now(), events.MessageDelivered{MXHost: "mx.remote.test", ReplyCode: 250}))

			s := f.sender(t, "node-a", webhooksender.Config{}, time.Now)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); s.Run(ctx) }()
			waitUntil(t, 10*time.Second, "a refused attempt", func() bool {
				ds := deliveries(t, f, sub.ID)
				return len(ds) == 1 && len(ds[0].History) == 1
			})
			cancel()
			<-done
			d := deliveries(t, f, sub.ID)[0]
			if hits.Load() != 0 || d.Status != webhookqueue.StatusPending || !strings.Contains(d.History[0].Error, "loopback") ||
				!strings.Contains(d.History[0].Error, "refused") {
				t.Fatalf("private target: %d hits, delivery %+v", hits.Load(), d)
			}
			// Allowed: the retry reaches it.
			if _, err := f.store.Redeliver(context.Background(), d.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			run(t, f.sender(t, "node-b", webhooksender.Config{AllowPrivate: true}, time.Now))
			waitUntil(t, 10*time.Second, "the delivery when allowed", func() bool { return deliveries(t, f, sub.ID)[0].Status == webhookqueue.StatusSucceeded })
			if hits.Load() != 1 {
				t.Errorf("receiver hit %d times", hits.Load())
			}
		})
	}
}

// DNS rebinding: a name is only an address at connect time. A host name resolving to loopback
// is refused by the dialer's check, not by a look-up before it.
func TestHostNameResolvingToLoopbackRefused(t *testing.T) {
	c := webhooksender.NewClient(false, 2*time.Second, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	_, err := c.Post(u, "application/json", strings.NewReader("{}"))
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("localhost target: %v", err)
	}
}

// Redirects are not followed (a 3xx is a failure, retried), response bodies are read with a
// cap and recorded as at most 1 KiB, and every attempt is visible.
func TestNoRedirectsAndCappedResponses(t *testing.T) {
	f := backends()["sqlite"](t)
	var other atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { other.Add(1) }))
	defer target.Close()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			http.Redirect(w, r, target.URL, http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, strings.Repeat("x", 1<<20)) // 1 MiB: read up to the cap only
	}))
	defer srv.Close()
	sub, _ := f.subscribe(t, srv.URL)
	f.project(t, messageEvents(t, "m1", time.Now(), events.MessageDelivered{MXHost: "mx", ReplyCode: 250}))
	sched := webhook.Schedule{Initial: 20 * time.Millisecond, Factor: 1, MaxWait: 20 * time.Millisecond, GiveUpAfter: time.Hour}
	run(t, f.sender(t, "a", webhooksender.Config{AllowPrivate: true, Schedule: sched, ResponseCap: 4096}, time.Now))
	waitUntil(t, 10*time.Second, "two attempts", func() bool { return len(deliveries(t, f, sub.ID)[0].History) >= 2 })
	h := deliveries(t, f, sub.ID)[0].History
	if other.Load() != 0 || h[0].StatusCode != http.StatusFound {
		t.Errorf("redirect followed? target hits %d, first attempt %+v", other.Load(), h[0])
	}
	if h[1].StatusCode != 500 || len(h[1].Response) != 1024 || h[1].Result != "failed" {
		t.Errorf("second attempt: code %d, response %d bytes, result %s", h[1].StatusCode, len(h[1].Response), h[1].Result)
	}
}

// The 3-day curve through the sender on a fake clock: a receiver that always fails gets
// attempts until 3 days have passed, then the delivery is dead.
func TestDeadAfterThreeDaysOnFakeClock(t *testing.T) {
	f := backends()["sqlite"](t)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	sub, _ := f.subscribe(t, srv.URL)
	f.project(t, messageEvents(t, "m1", time.Now(), events.MessageDelivered{MXHost: "mx", ReplyCode: 250}))
	f.clock.Add(time.Now().Add(time.Second).Sub(f.clock.Now()))
	start := f.clock.Now()
	run(t, f.sender(t, "a", webhooksender.Config{AllowPrivate: true}, f.clock.Now))
	for i := 0; ; i++ {
		seen := hits.Load()
		waitUntil(t, 10*time.Second, fmt.Sprintf("attempt %d", i+1), func() bool {
			return hits.Load() > seen || deliveries(t, f, sub.ID)[0].Status == webhookqueue.StatusDead
		})
		d := deliveries(t, f, sub.ID)[0]
		waitUntil(t, 10*time.Second, "the attempt recorded", func() bool {
			d = deliveries(t, f, sub.ID)[0]
			return d.Attempts == int(hits.Load())
		})
		if d.Status == webhookqueue.StatusDead {
			elapsed := d.LastAttemptAt.Sub(start)
			if elapsed < 72*time.Hour || d.Attempts < 15 {
				t.Fatalf("dead after %v and %d attempts; want >= 3 days", elapsed, d.Attempts)
			}
			t.Logf("dead after %v, %d attempts", elapsed, d.Attempts)
			return
		}
		if d.Status != webhookqueue.StatusPending || d.NextAttemptAt.Sub(d.LastAttemptAt) > 7*time.Hour+12*time.Minute {
			t.Fatalf("after attempt %d: %+v", d.Attempts, d)
		}
		f.clock.Add(d.NextAttemptAt.Sub(f.clock.Now()) + time.Millisecond)
		if i > 100 {
			t.Fatal("never dead")
		}
	}
}

// Per-message order and leases: two senders (two nodes) share the table; a receiver that fails
// at random still gets each message's events in order, each accepted exactly once.
func TestOrderPerMessageAcrossTwoSenders(t *testing.T) {
	for name, mk := range backends() {
		t.Run(name, func(t *testing.T) {
			f := mk(t)
			var mu sync.Mutex
			accepted := map[string][]int64{} // message → versions in arrival order
			ids := map[string]int{}
			var n atomic.Int64
			var secret string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if n.Add(1)%3 == 0 {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				wh, _ := standardwebhooks.NewWebhook(secret)
				if err := wh.Verify(body, r.Header); err != nil {
					t.Errorf("verify: %v", err)
					w.WriteHeader(400)
					return
				}
				var p webhook.StandardPayload
				if err := jsonUnmarshal(body, &p); err != nil {
					t.Error(err)
				}
				mu.Lock()
				accepted[p.Data.MessageID] = append(accepted[p.Data.MessageID], p.Data.StreamVersion)
				ids[r.Header.Get("webhook-id")]++
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			_, secret = f.subscribe(t, srv.URL)
			var envs []events.Envelope
			now := time.Now()
			for i := 0; i < 30; i++ {
				envs = append(envs, messageEvents(t, fmt.Sprintf("m%02d", i), now,
					events.MessageDeferred{Attempt: 1, Reason: "greylisted"}, events.MessageDeferred{Attempt: 2, Reason: "greylisted"},
					events.MessageDelivered{MXHost: "mx", ReplyCode: 250})...)
			}
			f.project(t, envs)
			sched := webhook.Schedule{Initial: 10 * time.Millisecond, Factor: 1.5, MaxWait: 50 * time.Millisecond, Jitter: 0.2, GiveUpAfter: time.Hour}
			run(t, f.sender(t, "node-a", webhooksender.Config{AllowPrivate: true, Schedule: sched, PerEndpoint: 4}, time.Now))
			run(t, f.sender(t, "node-b", webhooksender.Config{AllowPrivate: true, Schedule: sched, PerEndpoint: 4}, time.Now))
			waitUntil(t, 60*time.Second, "90 accepted deliveries", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(ids) == 90
			})
			time.Sleep(200 * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			for id, c := range ids {
				if c != 1 {
					t.Errorf("%s accepted %d times", id, c)
				}
			}
			for m, vs := range accepted {
				if fmt.Sprint(vs) != "[2 3 4]" {
					t.Errorf("message %s: versions arrived %v, want [2 3 4]", m, vs)
				}
			}
		})
	}
}

// 410 Gone disables the subscription: webhook.disabled is recorded and its other deliveries
// are not sent.
func TestGoneDisablesSubscription(t *testing.T) {
	f := backends()["sqlite"](t)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusGone)
	}))
	defer srv.Close()
	sub, _ := f.subscribe(t, srv.URL)
	f.project(t, messageEvents(t, "m1", time.Now(), events.MessageDelivered{MXHost: "mx", ReplyCode: 250}))
	run(t, f.sender(t, "a", webhooksender.Config{AllowPrivate: true}, time.Now))
	waitUntil(t, 10*time.Second, "the subscription disabled", func() bool {
		s, err := f.h.Get(context.Background(), sub.ID)
		return err == nil && !s.Enabled
	})
	f.projectStream(t, sub.ID)
	f.project(t, messageEvents(t, "m2", time.Now(), events.MessageDelivered{MXHost: "mx", ReplyCode: 250}))
	time.Sleep(300 * time.Millisecond)
	ds := deliveries(t, f, sub.ID)
	if hits.Load() != 1 || len(ds) != 1 || ds[0].Status != webhookqueue.StatusFailed {
		t.Errorf("after 410: %d hits, deliveries %+v", hits.Load(), ds)
	}
	s, _ := f.h.Get(context.Background(), sub.ID)
	if !strings.Contains(s.DisabledReason, "410") {
		t.Errorf("disabled reason %q", s.DisabledReason)
	}
}

// At shutdown, deliveries still waiting for a slot are handed back untried (pending, no lease,
// no attempt counted) instead of being sent one after another.
func TestShutdownHandsBackWaitingDeliveries(t *testing.T) {
	f := backends()["sqlite"](t)
	started := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		time.Sleep(300 * time.Millisecond)
	}))
	defer srv.Close()
	sub, _ := f.subscribe(t, srv.URL)
	var envs []events.Envelope
	for i := 0; i < 6; i++ {
		envs = append(envs, messageEvents(t, fmt.Sprintf("m%d", i), time.Now(), events.MessageDelivered{MXHost: "mx", ReplyCode: 250})...)
	}
	f.project(t, envs)
	s := f.sender(t, "a", webhooksender.Config{AllowPrivate: true, PerEndpoint: 1}, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	<-started
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return promptly after cancel")
	}
	var sent, back int
	for _, d := range deliveries(t, f, sub.ID) {
		switch {
		case d.Status == webhookqueue.StatusSucceeded && d.Attempts == 1:
			sent++
		case d.Status == webhookqueue.StatusPending && d.Attempts == 0:
			back++
		default:
			t.Errorf("delivery after shutdown: %+v", d)
		}
	}
	var leased int
	f.db.QueryRow(`SELECT COUNT(*) FROM webhook_deliveries WHERE lease_owner <> ''`).Scan(&leased)
	if sent != 1 || back != 5 || leased != 0 {
		t.Errorf("sent %d, handed back %d, still leased %d; want 1, 5, 0", sent, back, leased)
	}
}

var cliCause = domain.Cause{Actor: events.Actor{Type: events.ActorCLI, ID: "test"}}

// webhook update: the domain refuses invalid values and records nothing when nothing differs;
// the projection follows, and the sender sends to the new URL in the new format. An event
// enqueued under the standard format that Postal has no name for (message.released) fails
// unsent, with no attempt recorded.
func TestUpdatedSubscriptionIsFollowed(t *testing.T) {
	for name, mk := range backends() {
		t.Run(name, func(t *testing.T) {
			f := mk(t)
			var oldHits atomic.Int64
			old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { oldHits.Add(1) }))
			defer old.Close()
			var mu sync.Mutex
			var got []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				got = append(got, r.Header.Get(webhook.HeaderPostalSignature)+"|"+string(b))
				mu.Unlock()
			}))
			defer srv.Close()
			sub, _ := f.subscribe(t, old.URL)
			ctx := context.Background()
			bad := "ftp://x"
			if _, err := f.h.Update(ctx, sub.ID, webhook.Update{URL: &bad, Cause: cliCause}); err == nil || !strings.Contains(err.Error(), "invalid") {
				t.Fatalf("update to %s: %v", bad, err)
			}
			same := old.URL
			if s, err := f.h.Update(ctx, sub.ID, webhook.Update{URL: &same, Cause: cliCause}); err != nil || s.Version != sub.Version {
				t.Fatalf("update to the same URL: version %d → %d, %v", sub.Version, s.Version, err)
			}
			f.project(t, messageEvents(t, "m1", time.Now(), events.MessageReleased{By: "cli:x"}, events.MessageDelivered{MXHost: "mx", ReplyCode: 250}))
			url, postal := srv.URL+"/v2", webhook.FormatPostal
			s, err := f.h.Update(ctx, sub.ID, webhook.Update{URL: &url, Format: &postal, Cause: cliCause})
			if err != nil || s.URL != url || s.Format != postal || s.Version != sub.Version+1 {
				t.Fatalf("update: %+v, %v", s, err)
			}
			f.projectStream(t, sub.ID)
			run(t, f.sender(t, "node-a", webhooksender.Config{AllowPrivate: true}, time.Now))
			waitUntil(t, 30*time.Second, "both deliveries settled", func() bool {
				ds := deliveries(t, f, sub.ID)
				return len(ds) == 2 && ds[0].Status != webhookqueue.StatusPending && ds[1].Status != webhookqueue.StatusPending
			})
			ds := deliveries(t, f, sub.ID)
			if ds[0].EventType != "message.released" || ds[0].Status != webhookqueue.StatusFailed || len(ds[0].History) != 0 ||
				!strings.Contains(ds[0].LastError, "Postal") {
				t.Errorf("released after the switch to postal: %+v", ds[0])
			}
			if ds[1].Status != webhookqueue.StatusSucceeded || len(ds[1].History) != 1 {
				t.Errorf("delivered: %+v", ds[1])
			}
			mu.Lock()
			defer mu.Unlock()
			if oldHits.Load() != 0 || len(got) != 1 || strings.HasPrefix(got[0], "|") || !strings.Contains(got[0], `"event":"MessageSent"`) {
				t.Errorf("old URL hit %d times; new URL got %q", oldHits.Load(), got)
			}
		})
	}
}
