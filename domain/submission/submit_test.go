package submission_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/events"
)

var pinned = time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC)

// counterReader is a deterministic random source.
type counterReader struct{ n byte }

func (c *counterReader) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

type domainsDouble struct {
	verified map[string]bool
	err      error
	asked    []string
}

func (d *domainsDouble) IsVerifiedSenderDomain(_ context.Context, serverID, domain string) (bool, error) {
	d.asked = append(d.asked, serverID+"/"+domain)
	return d.verified[serverID+"/"+domain], d.err
}

type acceptorDouble struct {
	got []submission.Acceptance
	err error
}

func (a *acceptorDouble) Accept(_ context.Context, acc submission.Acceptance) error {
	if a.err != nil {
		return a.err
	}
	a.got = append(a.got, acc)
	return nil
}

func newHandler(t *testing.T) (*submission.Handler, *domainsDouble, *acceptorDouble) {
	t.Helper()
	d := &domainsDouble{verified: map[string]bool{"srv-1/example.com": true}}
	a := &acceptorDouble{}
	h, err := submission.NewHandler(submission.Config{Hostname: "mx.posthaste.test", Domains: d, Acceptor: a,
		Clock: func() time.Time { return pinned }, Random: &counterReader{}})
	if err != nil {
		t.Fatal(err)
	}
	return h, d, a
}

var principal = submission.Principal{ServerID: "srv-1", CredentialID: "cred-9"}

const msg = "From: \"Billing\" <Billing@Example.COM>\r\nTo: a@dest.test, B <b@dest.test>\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\nX-Posthaste-Tag: receipts\r\nX-Postal-Tag: ignored\r\n\r\nbody\r\n"

func TestSubmitQueuesOneMessagePerRecipient(t *testing.T) {
	h, d, a := newHandler(t)
	p := principal
	p.Hold = true
	res, err := h.Submit(context.Background(), submission.Submission{Principal: p, MailFrom: "rp@example.com",
		Recipients: []string{"a@dest.test", "b@dest.test", "a@DEST.TEST"}, Body: []byte(msg), ClientIP: "192.0.2.7", TLS: true, Source: "smtp"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.asked) != 1 || d.asked[0] != "srv-1/example.com" {
		t.Fatalf("domain checks %v", d.asked)
	}
	if len(a.got) != 1 {
		t.Fatalf("%d acceptances", len(a.got))
	}
	acc := a.got[0]
	wantMsgID := "<" + res.SubmissionID + "@mx.posthaste.test>"
	if res.MessageID != wantMsgID || string(acc.Body) != "Message-ID: "+wantMsgID+"\r\n"+msg {
		t.Fatalf("message id %q, body %q", res.MessageID, acc.Body)
	}
	if acc.SubmissionID != res.SubmissionID || acc.BodyID != res.SubmissionID || acc.ServerID != "srv-1" {
		t.Fatalf("acceptance %+v", acc)
	}
	if len(res.MessageIDs) != 2 || len(acc.Events) != 4 {
		t.Fatalf("%d messages, %d events; want 2 and 4 (queued+held each)", len(res.MessageIDs), len(acc.Events))
	}
	for i, rcpt := range []string{"a@dest.test", "b@dest.test"} {
		q, held := acc.Events[2*i], acc.Events[2*i+1]
		if q.Type != "message.queued" || q.StreamID != res.MessageIDs[i] || q.StreamVersion != 1 || q.Server() != "srv-1" ||
			q.CorrelationID != res.SubmissionID || q.Actor != (events.Actor{Type: "smtp", ID: "cred-9"}) || !q.OccurredAt.Equal(pinned) {
			t.Errorf("queued envelope %+v", q)
		}
		ev, err := events.Decode(q)
		if err != nil {
			t.Fatal(err)
		}
		got := *ev.(*events.MessageQueued)
		want := events.MessageQueued{SubmissionID: res.SubmissionID, BodyID: res.SubmissionID, MailFrom: "rp@example.com", RcptTo: rcpt,
			HeaderFrom: "Billing@Example.COM", Subject: "Café", MessageID: wantMsgID, Size: int64(len(acc.Body)), Tag: "receipts",
			CredentialID: "cred-9", ClientIP: "192.0.2.7", TLS: true, Source: "smtp"}
		if strings.Join(got.HeaderTo, ",") != "a@dest.test,b@dest.test" {
			t.Errorf("header to %v", got.HeaderTo)
		}
		got.HeaderTo = nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("queued payload\n got %+v\nwant %+v", got, want)
		}
		if held.Type != "message.held" || held.StreamID != q.StreamID || held.StreamVersion != 2 || held.CausationID != q.ID {
			t.Errorf("held envelope %+v", held)
		}
		hv, _ := events.Decode(held)
		if h := hv.(*events.MessageHeld); h.Reason != events.HoldCredential || !h.Expires.Equal(pinned.Add(7*24*time.Hour)) {
			t.Errorf("held payload %+v", h)
		}
	}
}

func TestSubmitKeepsExistingMessageIDAndBody(t *testing.T) {
	h, _, a := newHandler(t)
	body := "Message-Id: <own@example.com>\r\nFrom: x@example.com\r\nX-Postal-Tag: postal\r\n\r\nhi\r\n"
	res, err := h.Submit(context.Background(), submission.Submission{Principal: principal, Recipients: []string{"r@d.test"}, Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	if res.MessageID != "<own@example.com>" || string(a.got[0].Body) != body || len(a.got[0].Events) != 1 {
		t.Fatalf("res %+v body %q", res, a.got[0].Body)
	}
	ev, _ := events.Decode(a.got[0].Events[0])
	if q := ev.(*events.MessageQueued); q.Tag != "postal" || q.Source != "smtp" {
		t.Fatalf("queued %+v", q)
	}
}

func TestSubmitRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		sub  submission.Submission
		want string
	}{
		{"unverified From domain", submission.Submission{Principal: principal, Recipients: []string{"r@d.test"}, Body: []byte("From: ceo@example.org\r\n\r\nx\r\n")},
			"550 5.7.1 From domain example.org is not a verified domain of this server"},
		{"verified elsewhere only", submission.Submission{Principal: submission.Principal{ServerID: "srv-2"}, Recipients: []string{"r@d.test"}, Body: []byte("From: a@example.com\r\n\r\nx\r\n")},
			"550 5.7.1 From domain example.com is not a verified domain of this server"},
		{"one of several From mailboxes", submission.Submission{Principal: principal, Recipients: []string{"r@d.test"}, Body: []byte("From: a@example.com, b@evil.test\r\n\r\nx\r\n")},
			"550 5.7.1 From domain evil.test is not a verified domain of this server"},
		{"two From headers", submission.Submission{Principal: principal, Recipients: []string{"r@d.test"}, Body: []byte("From: a@example.com\r\nFrom: b@evil.test\r\n\r\nx\r\n")},
			"550 5.7.1 Message has more than one From header"},
		{"no From", submission.Submission{Principal: principal, Recipients: []string{"r@d.test"}, Body: []byte("Subject: x\r\n\r\nx\r\n")},
			"550 5.6.0 Message has no From header"},
		{"malformed header", submission.Submission{Principal: principal, Recipients: []string{"r@d.test"}, Body: []byte("From: a@example.com\r\nnot a header\r\n\r\nx\r\n")},
			"554 5.6.0 Message header is malformed"},
		{"no principal", submission.Submission{Recipients: []string{"r@d.test"}, Body: []byte("From: a@example.com\r\n\r\nx\r\n")},
			"530 5.7.0 Authentication required"},
		{"no recipients", submission.Submission{Principal: principal, Recipients: []string{" "}, Body: []byte("From: a@example.com\r\n\r\nx\r\n")},
			"554 5.5.1 No valid recipients"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _, a := newHandler(t)
			_, err := h.Submit(context.Background(), tc.sub)
			var re *submission.ReplyError
			if !errors.As(err, &re) {
				t.Fatalf("err %v, want a ReplyError", err)
			}
			if got := re.Code; got/100 != 5 || re.Temporary() {
				t.Errorf("code %d should be permanent", got)
			}
			if got := strings.SplitN(re.Error(), ": ", 2)[0]; !strings.HasPrefix(re.Error(), tc.want) {
				t.Errorf("reply %q, want %q", got, tc.want)
			}
			if len(a.got) != 0 {
				t.Errorf("acceptor got %d submissions", len(a.got))
			}
		})
	}
}

func TestSubmitTemporaryFailures(t *testing.T) {
	body := []byte("From: a@example.com\r\n\r\nx\r\n")
	h, d, a := newHandler(t)
	d.err = errors.New("db down")
	_, err := h.Submit(context.Background(), submission.Submission{Principal: principal, Recipients: []string{"r@d.test"}, Body: body})
	if re := submission.AsReply(err); re.Code != 451 || re.EnhancedString() != "4.3.0" || !errors.Is(err, d.err) || len(a.got) != 0 {
		t.Fatalf("domains down: %v", err)
	}

	h, _, a = newHandler(t)
	a.err = errors.New("tx rolled back")
	_, err = h.Submit(context.Background(), submission.Submission{Principal: principal, Recipients: []string{"r@d.test"}, Body: body})
	if re := submission.AsReply(err); re.Code != 451 || !re.Temporary() || !errors.Is(err, a.err) {
		t.Fatalf("acceptor down: %v", err)
	}
}

func TestNewHandlerRefusesMissingDependencies(t *testing.T) {
	_, err := submission.NewHandler(submission.Config{})
	if err == nil || !strings.Contains(err.Error(), "hostname") || !strings.Contains(err.Error(), "domains") || !strings.Contains(err.Error(), "acceptor") {
		t.Fatalf("err %v should list every missing dependency", err)
	}
}

func TestSubmitStripsBccAndAddsTrace(t *testing.T) {
	h, _, a := newHandler(t)
	body := "From: a@example.com\r\nBcc: secret@x.test,\r\n\tother@y.test\r\nMessage-ID: <m@example.com>\r\nbcc : again@z.test\r\nSubject: s\r\n\r\nBcc: in the body stays\r\n"
	res, err := h.Submit(context.Background(), submission.Submission{Principal: principal, Recipients: []string{"r@d.test"}, Body: []byte(body),
		ClientIP: "192.0.2.1", Helo: "evil\r\nX-Injected: 1", Protocol: "ESMTPSA"})
	if err != nil {
		t.Fatal(err)
	}
	want := "Received: from evilX-Injected:1 ([192.0.2.1])\r\n\tby mx.posthaste.test (Posthaste) with ESMTPSA id " + res.SubmissionID +
		";\r\n\tTue, 24 Nov 2026 01:02:03 +0000\r\n" +
		"From: a@example.com\r\nMessage-ID: <m@example.com>\r\nSubject: s\r\n\r\nBcc: in the body stays\r\n"
	if got := string(a.got[0].Body); got != want {
		t.Fatalf("stored body\n got %q\nwant %q", got, want)
	}
	if res.Size != int64(len(want)) {
		t.Fatalf("size %d", res.Size)
	}
}
