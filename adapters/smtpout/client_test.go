package smtpout_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthaste/posthaste/adapters/dnsresolver"
	"github.com/posthaste/posthaste/adapters/dnsresolver/dnstest"
	"github.com/posthaste/posthaste/adapters/smtpout"
	"github.com/posthaste/posthaste/adapters/smtpout/smtpsinktest"
	"github.com/posthaste/posthaste/domain/bounce"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/events"
)

const rpDomain = "rp.example.net"

var pinned = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// mxClient returns a client resolving through the zone server, with MX port = the sink's.
func mxClient(t *testing.T, zone *dnstest.Server, sink *smtpsinktest.Sink, mod func(*smtpout.Config)) *smtpout.Client {
	t.Helper()
	res, err := dnsresolver.New(zone.Addr, "", 2*time.Second, dnsresolver.WithCache())
	if err != nil {
		t.Fatal(err)
	}
	cfg := smtpout.Config{
		Hostname: "out.posthaste.test", ReturnPathDomain: rpDomain, Resolver: res,
		MXPort: sink.Port, ConnectTimeout: 2 * time.Second, CommandTimeout: 5 * time.Second,
		DataTimeout: 5 * time.Second, Logger: quietLogger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := smtpout.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testMessage(id, rcpt string) smtpout.Message {
	body := "From: Sender <sender@example.org>\r\nTo: <" + rcpt + ">\r\nSubject: hello " + id +
		"\r\nMessage-ID: <" + id + "@example.org>\r\n\r\nSECRET-BODY-LINE " + id + "\r\n.leading dot\r\n"
	return smtpout.Message{ID: id, MailFrom: "sender@example.org", RcptTo: rcpt, Data: []byte(body)}
}

func decide(t *testing.T, attempt int, r delivery.AttemptResult) delivery.Decision {
	t.Helper()
	d, err := delivery.NewDecider(delivery.DefaultRetryPolicy())
	if err != nil {
		t.Fatal(err)
	}
	dec, err := d.Decide(attempt, pinned, r)
	if err != nil {
		t.Fatal(err)
	}
	return dec
}

func TestDeliverToMXWithSTARTTLS(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{TLS: smtpsinktest.StartTLS})
	zone := dnstest.New(t,
		"example.com. 300 IN MX 20 mx2.example.com.", // listed first, preferred last
		"example.com. 300 IN MX 10 mx1.example.com.",
		"mx1.example.com. 300 IN A 127.0.0.2", // nothing listens there: connection refused
		"mx2.example.com. 300 IN A 127.0.0.1",
	)
	c := mxClient(t, zone, sink, nil)
	id := "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	res := c.Deliver(context.Background(), testMessage(id, "rcpt@example.com"))
	if res.Outcome() != delivery.Delivered || res.ReplyCode != 250 {
		t.Fatalf("result %+v\n%s", res, res.Transcript)
	}
	if res.MXHost != "mx2.example.com" || res.IP != "127.0.0.1" || res.TLSVersion == "" || res.TLSCipher == "" || res.Duration <= 0 {
		t.Fatalf("result fields %+v", res)
	}
	msgs := sink.WaitMessages(1, time.Second)
	if len(msgs) != 1 {
		t.Fatalf("sink got %d messages", len(msgs))
	}
	m := msgs[0]
	if m.From != "b+"+id+"@"+rpDomain || len(m.To) != 1 || m.To[0] != "rcpt@example.com" || !m.TLS || m.Helo != "out.posthaste.test" {
		t.Fatalf("received envelope %+v", m)
	}
	if got, err := delivery.DecodeReturnPath(m.From, rpDomain); err != nil || got != id {
		t.Fatalf("return path maps back to %q, %v", got, err)
	}
	if !strings.Contains(string(m.Data), "\r\n.leading dot\r\n") {
		t.Fatalf("dot-stuffing broke the body: %q", m.Data)
	}
	tr := res.Transcript
	for _, want := range []string{"mx1.example.com", "connect failed", "S: 220 ", "C: EHLO out.posthaste.test", "C: STARTTLS", "TLS established",
		"C: MAIL FROM:<b+" + id, "C: RCPT TO:<rcpt@example.com>", "S: 354", "<message content,", "S: 250 "} {
		if !strings.Contains(tr, want) {
			t.Errorf("transcript lacks %q:\n%s", want, tr)
		}
	}
	if strings.Contains(tr, "SECRET-BODY-LINE") {
		t.Errorf("transcript holds the message content:\n%s", tr)
	}
	if strings.Count(tr, "S: 220 greeting already read") != 0 {
		t.Errorf("replayed greeting leaked into the transcript:\n%s", tr)
	}
	if q := strings.Join(zone.Queries(), ","); !strings.Contains(q, "example.com. MX") {
		t.Fatalf("no MX query went to the DNS server: %s", q)
	}
	dec := decide(t, 1, res)
	if dec.Outcome != delivery.Delivered {
		t.Fatalf("decision %+v", dec)
	}
}

func TestAddressLiteralIsDeliveredWithoutMXLookup(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{})
	zone := dnstest.New(t) // no records at all: a lookup of the literal would fail
	c := mxClient(t, zone, sink, nil)
	res := c.Deliver(context.Background(), testMessage("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c", "rcpt@[127.0.0.1]"))
	if res.Outcome() != delivery.Delivered || res.IP != "127.0.0.1" {
		t.Fatalf("result %+v\n%s", res, res.Transcript)
	}
	if msgs := sink.WaitMessages(1, 5*time.Second); len(msgs) != 1 || msgs[0].To[0] != "rcpt@[127.0.0.1]" {
		t.Fatalf("sink got %+v", msgs)
	}
	if q := zone.Queries(); len(q) != 0 {
		t.Fatalf("DNS was asked %v for an address literal", q)
	}
	// A malformed literal is no host: it is looked up as a name, and does not exist.
	if res := c.Deliver(context.Background(), testMessage("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d", "rcpt@[IPv6:127.0.0.1]")); res.Outcome() == delivery.Delivered {
		t.Fatalf("malformed literal delivered: %+v", res)
	}
}

func TestImplicitMX(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{})
	zone := dnstest.New(t, "implicit.example. 300 IN A 127.0.0.1")
	c := mxClient(t, zone, sink, nil)
	res := c.Deliver(context.Background(), testMessage("m1", "who@implicit.example"))
	if res.Outcome() != delivery.Delivered || res.MXHost != "implicit.example" || res.TLSVersion != "" {
		t.Fatalf("result %+v\n%s", res, res.Transcript)
	}
}

func TestNullMXIsPermanentWithoutConnection(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{})
	zone := dnstest.New(t, "nomail.example. 300 IN MX 0 .", "nomail.example. 300 IN A 127.0.0.1")
	c := mxClient(t, zone, sink, nil)
	res := c.Deliver(context.Background(), testMessage("m1", "x@nomail.example"))
	if res.ReplyCode != 556 || res.EnhancedCode != "5.1.10" || !res.Local || res.Outcome() != delivery.Bounced {
		t.Fatalf("result %+v", res)
	}
	if sink.Sessions() != 0 {
		t.Fatal("a connection was made to a null-MX domain")
	}
	dec := decide(t, 1, res)
	b := dec.Events[1].(events.MessageBounced)
	if dec.Outcome != delivery.Bounced || b.Status != "5.1.10" || b.Class != "hard" {
		t.Fatalf("decision %+v / %+v", dec, b)
	}
	// a domain that does not exist bounces the same way
	res = c.Deliver(context.Background(), testMessage("m2", "x@missing.example"))
	if res.ReplyCode != 550 || res.EnhancedCode != "5.1.2" || res.Outcome() != delivery.Bounced || sink.Sessions() != 0 {
		t.Fatalf("nxdomain result %+v", res)
	}
}

func TestDNSFailureDefers(t *testing.T) {
	res, err := dnsresolver.New("127.0.0.1:1", "", 200*time.Millisecond, dnsresolver.WithCache()) // nothing answers
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtpout.New(smtpout.Config{Hostname: "h", Resolver: res, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := c.Deliver(context.Background(), testMessage("m", "a@example.com"))
	if r.Outcome() != delivery.Deferred || r.Err == nil || r.ReplyCode != 0 {
		t.Fatalf("result %+v", r)
	}
}

func TestGreylistedThenDelivered(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{
		Rcpt: smtpsinktest.FailFirst(1, smtpsinktest.Reply(451, "4.7.1", "Greylisted, please try again in 300 seconds")),
	})
	zone := dnstest.New(t, "grey.example. 300 IN MX 10 mx.grey.example.", "mx.grey.example. 300 IN A 127.0.0.1")
	c := mxClient(t, zone, sink, nil)
	res := c.Deliver(context.Background(), testMessage("m1", "a@grey.example"))
	if res.ReplyCode != 451 || res.EnhancedCode != "4.7.1" || res.Outcome() != delivery.Deferred {
		t.Fatalf("first attempt %+v", res)
	}
	dec := decide(t, 1, res)
	def := dec.Events[1].(events.MessageDeferred)
	if !def.NextAttemptAt.Equal(pinned.Add(300*time.Second)) || dec.Events[0].(events.MessageAttempted).Result != "deferred" {
		t.Fatalf("deferred %+v", def)
	}
	res = c.Deliver(context.Background(), testMessage("m1", "a@grey.example"))
	if res.Outcome() != delivery.Delivered {
		t.Fatalf("second attempt %+v\n%s", res, res.Transcript)
	}
	if dec := decide(t, 2, res); dec.Events[1].(events.MessageDelivered).Attempt != 2 {
		t.Fatalf("decision %+v", dec)
	}
	if len(sink.Messages()) != 1 || sink.Tries("a@grey.example") != 2 {
		t.Fatalf("sink messages %d, tries %d", len(sink.Messages()), sink.Tries("a@grey.example"))
	}
}

func TestPlain451FollowsTheSchedule(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{Data: func([]string, int) *smtp.SMTPError {
		return smtpsinktest.Reply(451, "4.3.0", "temporary local problem")
	}})
	zone := dnstest.New(t, "d.example. 300 IN A 127.0.0.1")
	c := mxClient(t, zone, sink, nil)
	res := c.Deliver(context.Background(), testMessage("m1", "a@d.example"))
	dec := decide(t, 4, res)
	if res.ReplyCode != 451 || !dec.NextAttemptAt.Equal(pinned.Add(delivery.DefaultRetryPolicy().Wait(4))) {
		t.Fatalf("result %+v decision %+v", res, dec)
	}
	if dec := decide(t, 18, res); !dec.Expired || dec.Events[1].EventType() != "message.expired" {
		t.Fatalf("attempt 18: %+v", dec)
	}
}

func TestRejectedIsPermanent(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{
		Rcpt: smtpsinktest.Always(smtpsinktest.Reply(550, "5.1.1", "no such user here")),
	})
	zone := dnstest.New(t, "d.example. 300 IN MX 5 mx.d.example.", "mx.d.example. 300 IN A 127.0.0.1")
	c := mxClient(t, zone, sink, nil)
	res := c.Deliver(context.Background(), testMessage("m1", "gone@d.example"))
	if res.ReplyCode != 550 || res.EnhancedCode != "5.1.1" || res.ReplyText != "no such user here" || res.Outcome() != delivery.Bounced {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(res.Transcript, "S: 550 5.1.1 no such user here") {
		t.Fatalf("transcript:\n%s", res.Transcript)
	}
	dec := decide(t, 1, res)
	b := dec.Events[1].(events.MessageBounced)
	if b.Reason != "userunknown" || b.Class != "hard" || !dec.Suppress || b.RemoteMTA != "mx.d.example" {
		t.Fatalf("bounced %+v", b)
	}
	if len(sink.Messages()) != 0 {
		t.Fatal("sink accepted a rejected message")
	}
	// the session survived the rejection (RSET) and is reused
	if c.IdleConnections() != 1 {
		t.Fatalf("idle connections %d after a rejected RCPT", c.IdleConnections())
	}
}

func TestBrokenSTARTTLSRetriesInClear(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{TLS: smtpsinktest.BrokenTLS})
	zone := dnstest.New(t, "tls.example. 300 IN MX 10 mx.tls.example.", "mx.tls.example. 300 IN A 127.0.0.1")
	c := mxClient(t, zone, sink, nil)
	res := c.Deliver(context.Background(), testMessage("m1", "a@tls.example"))
	if res.Outcome() != delivery.Delivered {
		t.Fatalf("result %+v\n%s", res, res.Transcript)
	}
	if res.TLSError == "" || res.TLSVersion != "" {
		t.Fatalf("TLS failure not recorded: %+v", res)
	}
	if !strings.Contains(res.Transcript, "STARTTLS handshake with mx.tls.example failed") || strings.Count(res.Transcript, "connecting to") != 2 {
		t.Fatalf("transcript:\n%s", res.Transcript)
	}
	msgs := sink.WaitMessages(1, time.Second)
	if len(msgs) != 1 || msgs[0].TLS || sink.Sessions() != 2 {
		t.Fatalf("messages %+v, sessions %d", msgs, sink.Sessions())
	}
}

func TestSmartHostWithAuthRedactsTranscript(t *testing.T) {
	for _, mode := range []smtpsinktest.TLSMode{smtpsinktest.StartTLS, smtpsinktest.Implicit} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			sink := smtpsinktest.New(t, smtpsinktest.Options{TLS: mode, Users: map[string]string{"relayuser": "s3cret-pass"}})
			scheme := "smtp"
			if mode == smtpsinktest.Implicit {
				scheme = "smtps"
			}
			relays, err := smtpout.ParseRelays(scheme + "://relayuser:s3cret-pass@" + sink.Addr)
			if err != nil {
				t.Fatal(err)
			}
			c, err := smtpout.New(smtpout.Config{Hostname: "out.test", Relays: relays, ReturnPathDomain: rpDomain,
				RelayTLSConfig: &tls.Config{RootCAs: sink.CertPool()}, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			res := c.Deliver(context.Background(), testMessage("m1", "someone@anywhere.example"))
			if res.Outcome() != delivery.Delivered || res.TLSVersion == "" {
				t.Fatalf("result %+v\n%s", res, res.Transcript)
			}
			msgs := sink.WaitMessages(1, time.Second)
			if len(msgs) != 1 || msgs[0].AuthUser != "relayuser" || !msgs[0].TLS {
				t.Fatalf("messages %+v", msgs)
			}
			tr := res.Transcript
			secret := base64.StdEncoding.EncodeToString([]byte("\x00relayuser\x00s3cret-pass"))
			if strings.Contains(tr, "s3cret") || strings.Contains(tr, secret) {
				t.Fatalf("credentials in transcript:\n%s", tr)
			}
			if !strings.Contains(tr, "C: AUTH PLAIN <redacted>") || !strings.Contains(tr, "S: 235") {
				t.Fatalf("AUTH exchange not in transcript:\n%s", tr)
			}
		})
	}
}

func TestRelayAuthRefusedDefers(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{Users: map[string]string{"u": "right"}})
	relays, _ := smtpout.ParseRelays("smtp://u:wrong@" + sink.Addr)
	c, err := smtpout.New(smtpout.Config{Hostname: "out.test", Relays: relays, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res := c.Deliver(context.Background(), testMessage("m1", "a@b.example"))
	if res.ReplyCode != 535 || res.Outcome() != delivery.Deferred {
		t.Fatalf("a refused relay AUTH must defer, not bounce: %+v", res)
	}
}

func TestConnectionReuseAndIdleTimeout(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{TLS: smtpsinktest.StartTLS})
	zone := dnstest.New(t, "r.example. 300 IN MX 10 mx.r.example.", "mx.r.example. 300 IN A 127.0.0.1")
	c := mxClient(t, zone, sink, func(cfg *smtpout.Config) { cfg.IdleTimeout = 300 * time.Millisecond })
	for i := range 3 {
		res := c.Deliver(context.Background(), testMessage(fmt.Sprintf("m%d", i), fmt.Sprintf("r%d@r.example", i)))
		if res.Outcome() != delivery.Delivered {
			t.Fatalf("delivery %d: %+v\n%s", i, res, res.Transcript)
		}
		if i > 0 && (!strings.Contains(res.Transcript, "reusing connection") || res.TLSVersion == "") {
			t.Fatalf("delivery %d did not reuse the TLS session:\n%s", i, res.Transcript)
		}
	}
	if n := sink.Sessions(); n != 1 {
		t.Fatalf("3 messages used %d connections, want 1:\n%s", n, c.Deliver(context.Background(), testMessage("dbg", "d@r.example")).Transcript)
	}
	deadline := time.Now().Add(3 * time.Second)
	for c.IdleConnections() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if c.IdleConnections() != 0 {
		t.Fatal("idle connection not closed after the idle timeout")
	}
	if res := c.Deliver(context.Background(), testMessage("m9", "x@r.example")); res.Outcome() != delivery.Delivered || sink.Sessions() != 2 {
		t.Fatalf("after idle close: %+v, sessions %d", res, sink.Sessions())
	}
}

func TestPerDestinationConcurrencyLimit(t *testing.T) {
	var active, peak atomic.Int32
	sink := smtpsinktest.New(t, smtpsinktest.Options{Rcpt: func(string, int) *smtp.SMTPError {
		n := active.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(40 * time.Millisecond)
		active.Add(-1)
		return nil
	}})
	zone := dnstest.New(t, "c.example. 300 IN MX 10 mx.c.example.", "mx.c.example. 300 IN A 127.0.0.1")
	c := mxClient(t, zone, sink, func(cfg *smtpout.Config) {
		cfg.Concurrency = delivery.ConcurrencyPolicy{Default: 8, PerDestination: map[string]int{"mx.c.example": 2}}
	})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res := c.Deliver(context.Background(), testMessage(fmt.Sprintf("m%d", i), fmt.Sprintf("u%d@c.example", i))); res.Outcome() != delivery.Delivered {
				t.Errorf("delivery %d: %+v", i, res)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrent sessions %d, want 2 (the limit)", p)
	}
	if len(sink.Messages()) != 8 {
		t.Fatalf("sink got %d of 8", len(sink.Messages()))
	}
}

func TestConfigValidation(t *testing.T) {
	_, err := smtpout.New(smtpout.Config{MXPort: -1})
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, want := range []string{"hostname", "resolver", "logger", "mx port"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, err = smtpout.ParseRelays("smtp://u:p@host:99999, ftp://x, smtps://h")
	if err == nil || strings.Contains(err.Error(), ":p@") || !strings.Contains(err.Error(), "scheme") {
		t.Fatalf("relay errors: %v", err)
	}
	rs, err := smtpout.ParseRelays("smtps://user%40x:p%3Ass@relay.example, smtp://relay2.example:2525")
	if err != nil || len(rs) != 2 || rs[0].Port != 465 || !rs[0].ImplicitTLS || rs[0].Username != "user@x" || rs[0].Password != "p:ss" || rs[1].Port != 2525 {
		t.Fatalf("relays %+v, %v", rs, err)
	}
	if s := rs[0].String(); strings.Contains(s, "p:ss") {
		t.Fatalf("relay string shows the password: %s", s)
	}
}

func TestPooledConnectionDroppedByServerIsReplaced(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{ReadTimeout: 150 * time.Millisecond})
	zone := dnstest.New(t, "p.example. 300 IN A 127.0.0.1")
	c := mxClient(t, zone, sink, func(cfg *smtpout.Config) { cfg.IdleTimeout = time.Minute })
	if res := c.Deliver(context.Background(), testMessage("m1", "a@p.example")); res.Outcome() != delivery.Delivered {
		t.Fatalf("first: %+v", res)
	}
	time.Sleep(400 * time.Millisecond) // the sink hangs up on the idle connection
	res := c.Deliver(context.Background(), testMessage("m2", "b@p.example"))
	if res.Outcome() != delivery.Delivered {
		t.Fatalf("second: %+v\n%s", res, res.Transcript)
	}
	if !strings.Contains(res.Transcript, "reused connection failed") || sink.Sessions() != 2 || len(sink.Messages()) != 2 {
		t.Fatalf("sessions %d messages %d\n%s", sink.Sessions(), len(sink.Messages()), res.Transcript)
	}
}

func TestCancelledContextAbortsTheAttempt(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	sink := smtpsinktest.New(t, smtpsinktest.Options{Rcpt: func(string, int) *smtp.SMTPError {
		select { // a server that stalls after RCPT
		case <-release:
		case <-time.After(5 * time.Second):
		}
		return nil
	}})
	zone := dnstest.New(t, "slow.example. 300 IN A 127.0.0.1")
	c := mxClient(t, zone, sink, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := c.Deliver(ctx, testMessage("m1", "a@slow.example"))
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("cancellation took %s", el)
	}
	if res.Outcome() != delivery.Deferred || res.Err == nil || c.IdleConnections() != 0 {
		t.Fatalf("result %+v, idle %d", res, c.IdleConnections())
	}
}

func TestNullSenderForReports(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{})
	zone := dnstest.New(t, "n.example. 300 IN A 127.0.0.1")
	c := mxClient(t, zone, sink, nil) // ReturnPathDomain is set
	m := testMessage("m1", "a@n.example")
	m.NullSender = true
	if res := c.Deliver(context.Background(), m); res.Outcome() != delivery.Delivered || !strings.Contains(res.Transcript, "C: MAIL FROM:<>") {
		t.Fatalf("result %+v\n%s", res, res.Transcript)
	}
	if msgs := sink.WaitMessages(1, time.Second); len(msgs) != 1 || msgs[0].From != "" {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestDomainWithoutMXOrAddressBounces(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{})
	zone := dnstest.New(t, "txtonly.example. 300 IN TXT \"v=spf1 -all\"",
		"deadmx.example. 300 IN MX 10 gone.deadmx.example.") // an MX host that does not resolve
	c := mxClient(t, zone, sink, nil)
	res := c.Deliver(context.Background(), testMessage("m1", "a@txtonly.example"))
	if res.ReplyCode != 550 || res.EnhancedCode != "5.1.2" || res.Outcome() != delivery.Bounced {
		t.Fatalf("no MX, no A: %+v\n%s", res, res.Transcript)
	}
	res = c.Deliver(context.Background(), testMessage("m2", "a@deadmx.example"))
	if res.Outcome() != delivery.Deferred || res.MXHost != "gone.deadmx.example" || sink.Sessions() != 0 {
		t.Fatalf("unresolvable MX host must defer: %+v\n%s", res, res.Transcript)
	}
}

// Every result names the stage it ended at, and the one classifier reads it: a 552 to RCPT is
// temporary (RFC 5321 section 4.5.3.1.10), the same 552 after the final dot a bounce.
func TestStageReportedAnd552ToRcptDefers(t *testing.T) {
	sink := smtpsinktest.New(t, smtpsinktest.Options{
		Rcpt: func(rcpt string, _ int) *smtp.SMTPError {
			if strings.HasPrefix(rcpt, "many@") {
				return smtpsinktest.Reply(552, "5.5.3", "Too many recipients")
			}
			return nil
		},
		Data: func(to []string, _ int) *smtp.SMTPError {
			if strings.HasPrefix(to[0], "full@") {
				return smtpsinktest.Reply(552, "5.2.2", "Mailbox full")
			}
			return nil
		},
	})
	zone := dnstest.New(t, "s.example. 300 IN MX 10 mx.s.example.", "mx.s.example. 300 IN A 127.0.0.1", "nomail.example. 300 IN MX 0 .")
	c := mxClient(t, zone, sink, nil)
	ctx := context.Background()
	res := c.Deliver(ctx, testMessage("m1", "many@s.example"))
	if res.Stage != bounce.StageRcpt || res.ReplyCode != 552 || res.Outcome() != delivery.Deferred {
		t.Fatalf("552 to RCPT: %+v", res)
	}
	if dec := decide(t, 1, res); dec.Outcome != delivery.Deferred || dec.Events[1].EventType() != "message.deferred" {
		t.Fatalf("552 to RCPT decision %+v", dec)
	}
	res = c.Deliver(ctx, testMessage("m2", "full@s.example"))
	if res.Stage != bounce.StageDataEnd || res.ReplyCode != 552 || res.Outcome() != delivery.Bounced {
		t.Fatalf("552 after the final dot: %+v", res)
	}
	if res = c.Deliver(ctx, testMessage("m3", "ok@s.example")); res.Stage != bounce.StageDataEnd || res.Outcome() != delivery.Delivered {
		t.Fatalf("delivered: %+v", res)
	}
	if res = c.Deliver(ctx, testMessage("m4", "x@nomail.example")); res.Stage != bounce.StageResolve || res.Outcome() != delivery.Bounced {
		t.Fatalf("null MX: %+v", res)
	}
}
