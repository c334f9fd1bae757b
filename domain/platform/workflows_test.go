package platform_test

import (
	"bytes"
	"context"
	"github.com/posthaste/posthaste/adapters/dkimsign"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/tenancy"
)

// sink is a delivery.Sender that accepts everything and keeps what it was given.
type sink struct {
	mu   sync.Mutex
	got  []delivery.Envelope
	sent chan string
}

func (s *sink) Send(_ context.Context, e delivery.Envelope) delivery.AttemptResult {
	s.mu.Lock()
	s.got = append(s.got, e)
	s.mu.Unlock()
	s.sent <- e.MessageID
	return delivery.AttemptResult{MXHost: "mx.remote.test", IP: "192.0.2.25", ReplyCode: 250, EnhancedCode: "2.0.0", ReplyText: "ok",
		Duration: time.Millisecond, Transcript: "S: 250 ok\r\n"}
}

// TestDeliveryWorkflow: an acceptance by any edge is offered to the local worker at once (no
// projector runs), which signs with the From domain's active keys, adds a reference the MX
// intake verifies, and records the outcome; a held message is not offered until released.
func TestDeliveryWorkflow(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		out := &sink{sent: make(chan string, 10)}
		bus, err := memory.NewBus(0)
		must(t, err)
		e := newEnv(t, b, func(d *platform.Deps) {
			d.Sender, d.DKIM, d.Config.WorkerOwner = out, dkimsign.NewCrypto(), "test-worker"
			d.Outbox, d.Publisher, d.Locker = b.store, bus, memory.NewLocker()
			d.Run = []platform.Workflow{platform.RunDelivery, platform.RunHoldExpiry, platform.RunRelay, platform.RunMXIntake}
		})
		w := e.app.Workflows
		if w.Delivery == nil || w.Relay == nil || w.Intake == nil || w.HoldExpiry == nil || w.PendingReports == nil {
			t.Fatalf("workflows not built: %+v", w)
		}
		var mu sync.Mutex
		var offered []string
		e.app.OnAccepted(func(ids []string) { mu.Lock(); offered = append(offered, ids...); mu.Unlock() })

		ctx, stop := context.WithCancel(ctxT(t))
		done := make(chan error, 1)
		go func() { done <- w.Delivery.Run(ctx) }()
		defer func() { stop(); <-done }()

		ref := e.tenant(t, "acme", "main", "")
		_, err = e.app.Commands.AddDomain(ctxT(t), cli, tenancy.AddDomain{Domain: "main.example", Server: ref, Ed25519: true, SkipVerification: true})
		must(t, err)
		res, err := e.app.Commands.SendTest(ctxT(t), cli, platform.SendTest{Server: ref.String(), From: "ops@main.example", To: "rcpt@remote.test"})
		must(t, err)
		select {
		case id := <-out.sent:
			if id != res.MessageID {
				t.Fatalf("sent %s; want %s", id, res.MessageID)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the accepted message was not attempted: the worker was not offered it")
		}
		out.mu.Lock()
		body := out.got[0].Body
		out.mu.Unlock()
		for _, re := range []string{`(?m)^DKIM-Signature: .*a=rsa-sha256`, `(?m)^DKIM-Signature: .*a=ed25519-sha256`, `d=main\.example`} {
			if !regexp.MustCompile(re).Match(body) {
				t.Errorf("sent body does not match %s:\n%s", re, body)
			}
		}
		ref0 := regexp.MustCompile(`(?m)^X-Posthaste-Ref: (\S+)\r?$`).FindSubmatch(body)
		if n := bytes.Count(body, []byte("DKIM-Signature:")); n != 2 {
			t.Errorf("%d signatures; want two (rsa and ed25519)", n)
		}
		if ref0 == nil {
			t.Fatalf("no X-Posthaste-Ref in\n%s", body)
		}
		if id, ok := inbound.VerifyRef(inbound.RefKey(testKey), string(ref0[1])); !ok || id != res.MessageID {
			t.Errorf("the reference %q does not verify under the key derived from the server secret", ref0[1])
		}
		waitStatus(t, e, res.MessageID, message.StatusDelivered)
		if show, err := e.app.Queries.MessageDetail(ctxT(t), cli, res.MessageID, time.Time{}); err != nil || len(show.Transcripts) != 1 ||
			show.Transcripts[0].Text != "S: 250 ok\r\n" || show.Transcripts[0].Unavailable != nil {
			t.Errorf("transcript of the attempt: %+v, %v", show.Transcripts, err)
		}
		mu.Lock()
		if len(offered) != 1 || offered[0] != res.MessageID {
			t.Errorf("offered %v; want the one message", offered)
		}
		offered = nil
		mu.Unlock()

		// A server in development mode holds everything: nothing is offered until a release.
		devRef := tenancy.ServerRef{Org: "acme", Name: "dev"}
		_, err = e.app.Commands.CreateServer(ctxT(t), cli, tenancy.CreateServer{Ref: devRef, Mode: tenancy.ModeDevelopment})
		must(t, err)
		_, err = e.app.Commands.AddDomain(ctxT(t), cli, tenancy.AddDomain{Domain: "dev.example", Server: devRef, SkipVerification: true})
		must(t, err)
		held, err := e.app.Commands.SendTest(ctxT(t), cli, platform.SendTest{Server: devRef.String(), From: "ops@dev.example", To: "held@remote.test"})
		must(t, err)
		waitStatus(t, e, held.MessageID, message.StatusHeld)
		mu.Lock()
		if len(offered) != 0 {
			t.Errorf("a held message was offered: %v", offered)
		}
		mu.Unlock()
		if _, err := e.app.Commands.ReleaseHold(ctxT(t), cli, held.MessageID); err != nil {
			t.Fatal(err)
		}
		select {
		case id := <-out.sent:
			if id != held.MessageID {
				t.Errorf("sent %s after the release; want %s", id, held.MessageID)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the released message was not attempted")
		}
		waitStatus(t, e, held.MessageID, message.StatusDelivered)
	})
}

func waitStatus(t *testing.T, e *env, id string, want message.Status) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := e.app.Queries.Message(ctxT(t), cli, id)
		if err == nil && m.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s: %+v, %v; want %s", id, m, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
