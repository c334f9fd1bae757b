package bounce

import (
	"errors"
	"strings"
	"testing"
)

// crlf turns a test message written with LF into the CRLF that arrives over SMTP.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func mustParse(t *testing.T, raw string) Report {
	t.Helper()
	rep, err := Parse([]byte(raw))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return rep
}

func wantRecipient(t *testing.T, rep Report, addr string, reason Reason, class Class, status string) Recipient {
	t.Helper()
	for _, r := range rep.Recipients {
		if strings.EqualFold(r.Address, addr) {
			if r.Reason != reason || r.Class != class || r.Status != status {
				t.Errorf("%s: got reason %s class %s status %q; want %s %s %q (diag %q)",
					addr, r.Reason, r.Class, r.Status, reason, class, status, r.Diagnostic)
			}
			return r
		}
	}
	t.Fatalf("recipient %s not found in %+v", addr, rep.Recipients)
	return Recipient{}
}

const dsnMessage = `Return-Path: <>
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: sender@example.org
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B0UND"

This is a MIME-encapsulated message.

--B0UND
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<bob@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1
    <bob@example.com>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)

--B0UND
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Tue, 24 Nov 2026 01:02:03 +0000 (UTC)

Final-Recipient: rfc822; bob@example.com
Original-Recipient: rfc822;bob@example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 550 5.1.1 <bob@example.com>: Recipient address
    rejected: User unknown in local recipient table

Final-Recipient: rfc822; carol@example.com
Action: delayed
Status: 4.2.2
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 452 4.2.2 <carol@example.com>: mailbox is over quota

--B0UND
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <sender@example.org>
From: sender@example.org
To: bob@example.com, carol@example.com
Subject: hello
Message-ID: <abc123@example.org>
X-Posthaste-Message: m-42

--B0UND--
`

func TestParseDSN(t *testing.T) {
	for name, raw := range map[string][]byte{"lf": []byte(dsnMessage), "crlf": crlf(dsnMessage)} {
		t.Run(name, func(t *testing.T) {
			rep, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Kind != KindDSN || rep.ReportingMTA != "mx.example.net" {
				t.Fatalf("kind %s mta %q, want dsn mx.example.net", rep.Kind, rep.ReportingMTA)
			}
			if len(rep.Recipients) != 2 {
				t.Fatalf("got %d recipients, want 2: %+v", len(rep.Recipients), rep.Recipients)
			}
			bob := wantRecipient(t, rep, "bob@example.com", UserUnknown, Hard, "5.1.1")
			if bob.Action != "failed" || bob.RemoteMTA != "mx.example.com" || bob.ReplyCode != 550 ||
				!strings.Contains(bob.Diagnostic, "User unknown in local recipient table") {
				t.Errorf("bob: %+v", bob)
			}
			carol := wantRecipient(t, rep, "carol@example.com", MailboxFull, Soft, "4.2.2")
			if carol.Action != "delayed" || carol.ReplyCode != 452 {
				t.Errorf("carol: %+v", carol)
			}
			if rep.OriginalMessageID != "abc123@example.org" || rep.OriginalHeaders["x-posthaste-message"] != "m-42" {
				t.Errorf("original: id %q headers %v", rep.OriginalMessageID, rep.OriginalHeaders)
			}
		})
	}
}

const arfMessage = `From: <feedback@mail.example.net>
To: <abuse@example.org>
Subject: FW: Earn money
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <somespammer@example.org>
Original-Rcpt-To: <user@example.com>
Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT
Reporting-MTA: dns; mail.example.com
Source-IP: 192.0.2.1

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

From: <somespammer@example.org>
Received: from mailserver.example.net (mailserver.example.net
    [192.0.2.1]) by example.com with ESMTP id M63d4137594e46;
    Thu, 08 Mar 2005 14:00:00 -0400
To: <Undisclosed Recipients>
Subject: Earn money
MIME-Version: 1.0
Content-type: text/plain
Message-ID: 8787KJKJ3K4J3K4J3K4J3.mail@example.org
Date: Thu, 02 Sep 2004 12:31:03 -0500

Spam Spam Spam

--part1_13d.2e68ed54_boundary--
`

func TestParseARF(t *testing.T) {
	rep := mustParse(t, arfMessage)
	if rep.Kind != KindFeedback || rep.FeedbackType != "abuse" || rep.ReportingMTA != "mail.example.com" {
		t.Fatalf("kind %s type %q mta %q", rep.Kind, rep.FeedbackType, rep.ReportingMTA)
	}
	if len(rep.Recipients) != 1 {
		t.Fatalf("recipients %+v", rep.Recipients)
	}
	wantRecipient(t, rep, "user@example.com", Feedback, None, "")
	if rep.OriginalMessageID != "8787KJKJ3K4J3K4J3K4J3.mail@example.org" {
		t.Errorf("original message id %q", rep.OriginalMessageID)
	}
}

const autoReply = `Return-Path: <>
From: Alice Example <alice@example.com>
To: sender@example.org
Subject: Out of Office: your order
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=utf-8

I am out of the office until Monday and will reply when I am back.
For urgent matters write to bob@example.com.
`

func TestParseAutoReply(t *testing.T) {
	rep := mustParse(t, autoReply)
	if rep.Kind != KindAutoReply {
		t.Fatalf("kind %s, want auto-reply (%+v)", rep.Kind, rep.Recipients)
	}
	if len(rep.Recipients) != 1 {
		t.Fatalf("recipients %+v", rep.Recipients)
	}
	wantRecipient(t, rep, "alice@example.com", Vacation, None, "")
}

func TestParseNotABounce(t *testing.T) {
	rep := mustParse(t, `From: Alice <alice@example.com>
To: bob@example.com
Subject: lunch?

Are we still on for lunch at noon? My other address is carol@example.net.
`)
	if rep.Kind != KindNone || len(rep.Recipients) != 0 {
		t.Fatalf("got %s %+v, want none and no recipients", rep.Kind, rep.Recipients)
	}
	// A person's mail about a problem, listing addresses, is not a bounce either.
	rep = mustParse(t, `From: Alice <alice@example.com>
To: support@example.org
Subject: Problem with my order

carol@example.net: she ordered the same thing.
dave@example.net: he did too, and it failed.
`)
	if rep.Kind != KindNone || len(rep.Recipients) != 0 {
		t.Fatalf("human mail: got %s %+v, want none and no recipients", rep.Kind, rep.Recipients)
	}
}

// Non-standard reports: the text body is all there is.
func TestParsePlainTextReports(t *testing.T) {
	cases := []struct {
		name, raw, addr string
		reason          Reason
		class           Class
		status          string
	}{
		{"postfix", `From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: sender@example.org
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

                   The mail system

<dave@example.com>: host mx.example.com[192.0.2.7] said: 552 5.2.2
    <dave@example.com>: Mailbox full (in reply to RCPT TO command)
`, "dave@example.com", MailboxFull, Soft, "5.2.2"},
		{"exim", `From: Mail Delivery System <Mailer-Daemon@relay.example.net>
To: sender@example.org
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: erin@example.com

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  erin@example.com
    host mx.example.com [192.0.2.8]
    SMTP error from remote mail server after RCPT TO:<erin@example.com>:
    550 5.1.1 <erin@example.com>: no such user here

------ This is a copy of the message, including all the headers. ------

From: sender@example.org
To: erin@example.com
Subject: hi
`, "erin@example.com", UserUnknown, Hard, "5.1.1"},
		{"qmail", `From: MAILER-DAEMON@qmail.example.net
To: sender@example.org
Subject: failure notice

Hi. This is the qmail-send program at qmail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<frank@example.com>:
192.0.2.9 does not like recipient.
Remote host said: 554 5.7.1 Service unavailable; Client host [198.51.100.2] blocked using zen.spamhaus.org
Giving up on 192.0.2.9.

--- Below this line is a copy of the message.

Return-Path: <sender@example.org>
To: frank@example.com
`, "frank@example.com", Blocked, Soft, "5.7.1"},
		{"sendmail transcript", `From: Mail Delivery Subsystem <MAILER-DAEMON@old.example.net>
To: sender@example.org
Subject: Returned mail: Host unknown

   ----- Transcript of session follows -----
550 5.1.2 <gina@nowhere.example>... Host unknown (Name server: nowhere.example: host not found)

   ----- Unsent message follows -----
From: sender@example.org
To: gina@nowhere.example
`, "gina@nowhere.example", HostUnknown, Hard, "5.1.2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := mustParse(t, c.raw)
			if rep.Kind != KindDSN {
				t.Fatalf("kind %s, want dsn", rep.Kind)
			}
			wantRecipient(t, rep, c.addr, c.reason, c.class, c.status)
			for _, r := range rep.Recipients {
				if strings.EqualFold(r.Address, "sender@example.org") {
					t.Errorf("the original sender was reported as a failed recipient")
				}
			}
		})
	}
}

func TestParseSESNotification(t *testing.T) {
	raw := `From: no-reply@sns.amazonaws.com
To: ops@example.org
Subject: AWS Notification Message

{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","reportingMTA":"dsn; a1-2.smtp-out.amazonses.com","bouncedRecipients":[{"emailAddress":"hank@example.com","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}]},"mail":{"messageId":"0100"}}
`
	rep := mustParse(t, raw)
	if rep.Kind != KindDSN {
		t.Fatalf("kind %s", rep.Kind)
	}
	wantRecipient(t, rep, "hank@example.com", UserUnknown, Hard, "5.1.1")

	complaint := `From: no-reply@sns.amazonaws.com
To: ops@example.org
Subject: AWS Notification Message

{"eventType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"ivy@example.com"}],"complaintFeedbackType":"abuse"},"mail":{"messageId":"0101"}}
`
	rep = mustParse(t, complaint)
	if rep.Kind != KindFeedback || rep.FeedbackType != "abuse" {
		t.Fatalf("complaint: kind %s type %q", rep.Kind, rep.FeedbackType)
	}
	wantRecipient(t, rep, "ivy@example.com", Feedback, None, "")
}

func TestParseMalformedNeverPanics(t *testing.T) {
	inputs := []string{
		"",
		"   \n\n",
		"no header at all",
		"Content-Type: multipart/report; boundary=\"x\"\n\n--x\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822;\n--x",
		"Content-Type: multipart/mixed; boundary=\n\n--\n--\n",
		"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n",
		"Content-Transfer-Encoding: base64\nContent-Type: text/plain\n\n!!!!====\n",
		"Content-Transfer-Encoding: quoted-printable\n\n=ZZ=\n=",
		"From: MAILER-DAEMON@x\nSubject: failure\n\n<\n<@>:\n@@@ 550 5.1.1 <a@b>...\n",
		strings.Repeat("Content-Type: multipart/mixed; boundary=a\n\n--a\n", 50),
	}
	for _, in := range inputs {
		rep, err := Parse([]byte(in))
		if err == nil && rep.Kind == "" {
			t.Errorf("Parse(%q): no error and no kind", in)
		}
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Errorf("Parse(%q) panicked inside: %v", in, err)
		}
	}
	if _, err := Parse(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("Parse(nil) = %v, want ErrEmpty", err)
	}
	if _, err := Parse([]byte("just some words\nand more\n")); !errors.Is(err, ErrNotMessage) {
		t.Errorf("Parse(words) = %v, want ErrNotMessage", err)
	}
}

func BenchmarkParseDSN(b *testing.B) {
	raw := []byte(dsnMessage)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClassifyReply(b *testing.B) {
	for b.Loop() {
		ClassifyReply(Reply{Code: 550, Enhanced: "5.7.1", Text: "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"})
	}
}
