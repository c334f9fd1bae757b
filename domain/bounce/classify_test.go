package bounce

import (
	"strings"
	"testing"
)

func TestClassifyReply(t *testing.T) {
	cases := []struct {
		code     int
		enhanced string
		text     string
		reason   Reason
		class    Class
		status   string
		perm     bool
	}{
		{550, "5.1.1", "<bob@example.com>: Recipient address rejected: User unknown in local recipient table", UserUnknown, Hard, "5.1.1", true},
		{550, "", "5.1.1 The email account that you tried to reach does not exist.", UserUnknown, Hard, "5.1.1", true},
		{450, "4.1.1", "<bob@example.com>: Recipient address rejected: User unknown", UserUnknown, Hard, "4.1.1", false},
		{552, "5.2.2", "Mailbox full", MailboxFull, Soft, "5.2.2", true},
		{452, "4.2.2", "The email account that you tried to reach is over quota.", MailboxFull, Soft, "4.2.2", false},
		{554, "5.7.1", "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", Blocked, Soft, "5.7.1", true},
		{550, "5.7.1", "Our system has detected that this message is likely unsolicited mail (spam).", SpamDetected, Soft, "5.7.1", true},
		{550, "5.7.26", "Unauthenticated email from example.com is not accepted due to domain's DMARC policy", AuthFailure, Soft, "5.7.26", true},
		{550, "5.7.25", "The IP address sending this message does not have a PTR record setup", RequirePTR, Soft, "5.7.25", true},
		{554, "5.7.1", "<bob@example.net>: Relay access denied", NoRelaying, Soft, "5.7.1", true},
		{552, "5.3.4", "Message size exceeds fixed maximum message size", MesgTooBig, Soft, "5.3.4", true},
		{421, "4.7.0", "Too many concurrent SMTP connections from this IP address; please try again later.", TooManyConn, Soft, "4.7.0", false},
		{550, "5.1.10", "", NotAccept, Hard, "5.1.10", true},
		{556, "", "", NotAccept, Hard, "5.0.0", true},
		{550, "5.2.1", "The email account that you tried to reach is disabled.", Suspend, Soft, "5.2.1", true},
		{550, "5.1.2", "", HostUnknown, Hard, "5.1.2", true},
		{554, "5.6.0", "", ContentError, Soft, "5.6.0", true},
		{550, "", "", OnHold, Soft, "5.0.0", true},
		{0, "", "", Undefined, Soft, "", false},
		{421, "", "host mx.example.com[192.0.2.3] refused to talk to me: 421 Service not available", Blocked, Soft, "4.0.0", false},
		{550, "5.1.1", "SMTP error from remote mail server after end of data: 550 5.1.1 user unknown", UserUnknown, Hard, "5.1.1", true},
		{550, "", "SMTP error from remote mail server after end of data: 550 user unknown", Filtered, Soft, "5.0.0", true},
		{553, "", "SMTP error from remote mail server after MAIL FROM:<a@example.org>: 553 example.org does not exist", Rejected, Soft, "5.0.0", true},
		{250, "2.0.0", "OK queued as 12345", Delivered, None, "2.0.0", false},
		{250, "", "ok", Delivered, None, "2.0.0", false},
		{0, "", "550 5.1.1 <x@example.org>... User unknown", UserUnknown, Hard, "5.1.1", true},
	}
	for _, c := range cases {
		got := classifyText(c.code, c.enhanced, c.text)
		if got.Reason != c.reason || got.Class != c.class || got.Status != c.status || got.Permanent != c.perm {
			t.Errorf("classifyText(%d, %q, %q) = %+v; want reason %s class %s status %q permanent %v",
				c.code, c.enhanced, c.text, got, c.reason, c.class, c.status, c.perm)
		}
	}
}

func TestFindStatusSkipsAddresses(t *testing.T) {
	if got := findStatus("host 192.0.2.4 said: 550 5.7.1 no"); got != "5.7.1" {
		t.Fatalf("findStatus = %q, want 5.7.1", got)
	}
	if got := findStatus("release 4.4.12.1 here"); got != "" {
		t.Fatalf("findStatus = %q, want none", got)
	}
}

// classifyText classifies a reply whose stage is not known, as a report quotes it.
func classifyText(code int, enhanced, text string) Verdict {
	return ClassifyReply(Reply{Code: code, Enhanced: enhanced, Text: text})
}

func TestClassifyReplyOutcome(t *testing.T) {
	cases := []struct {
		name    string
		reply   Reply
		outcome Outcome
		reason  Reason
		class   Class
		status  string
		code    int
	}{
		{"no reply", Reply{Stage: StageConnect, NoReply: true, Text: "ignored 550"}, OutcomeDeferred, NetworkError, Soft, "", 0},
		{"dns failure", Reply{Stage: StageResolve, NoReply: true}, OutcomeDeferred, NetworkError, Soft, "", 0},
		{"null MX", Reply{Stage: StageResolve, Code: 556, Enhanced: "5.1.10", Text: "recipient domain does not accept mail (null MX, RFC 7505)"}, OutcomeBounced, NotAccept, Hard, "5.1.10", 556},
		{"no such domain", Reply{Stage: StageResolve, Code: 550, Enhanced: "5.1.2", Text: "recipient domain does not exist (NXDOMAIN)"}, OutcomeBounced, HostUnknown, Hard, "5.1.2", 550},
		{"greeting refused", Reply{Stage: StageConnect, Code: 554, Text: "no SMTP service here"}, OutcomeBounced, NotAccept, Hard, "5.0.0", 554},
		{"delivered", Reply{Stage: StageDataEnd, Code: 250, Enhanced: "2.0.0", Text: "Ok: queued as X"}, OutcomeDelivered, Delivered, None, "2.0.0", 250},
		{"greylisted", Reply{Stage: StageRcpt, Code: 451, Enhanced: "4.7.1", Text: "Greylisted, try again in 300 seconds"}, OutcomeDeferred, "", Soft, "4.7.1", 451},
		{"unknown user", Reply{Stage: StageRcpt, Code: 550, Enhanced: "5.1.1", Text: "no such user here"}, OutcomeBounced, UserUnknown, Hard, "5.1.1", 550},
		{"full mailbox at end of data stays a bounce", Reply{Stage: StageDataEnd, Code: 552, Enhanced: "5.2.2", Text: "Mailbox full"}, OutcomeBounced, MailboxFull, Soft, "5.2.2", 552},
		{"too big at MAIL stays a bounce", Reply{Stage: StageMail, Code: 552, Enhanced: "5.3.4", Text: "Message size exceeds fixed maximum message size"}, OutcomeBounced, MesgTooBig, Soft, "5.3.4", 552},
		{"smart host refused our AUTH", Reply{Stage: StageAuth, Code: 535, Enhanced: "5.7.8", Text: "authentication failed"}, OutcomeDeferred, "", Soft, "5.7.8", 535},
		{"a 5xx whose status says success is a soft bounce", Reply{Stage: StageRcpt, Code: 550, Enhanced: "2.0.0", Text: "odd"}, OutcomeBounced, Delivered, Soft, "2.0.0", 550},
		{"code found in the text", Reply{Text: "550 5.1.1 <x@example.org>... User unknown"}, OutcomeBounced, UserUnknown, Hard, "5.1.1", 550},
	}
	for _, c := range cases {
		got := ClassifyReply(c.reply)
		if got.Outcome != c.outcome || c.reason != "" && got.Reason != c.reason || got.Class != c.class || got.Status != c.status || got.Code != c.code {
			t.Errorf("%s: ClassifyReply(%+v) = %+v; want %s %s %s %q code %d", c.name, c.reply, got, c.outcome, c.reason, c.class, c.status, c.code)
		}
	}
}

// RFC 5321 section 4.5.3.1.10: RFC 821 listed "too many recipients" as 552; its code is 452,
// and a client treats a 552 to RCPT as temporary: deferred, not bounced, whatever its words.
func TestClassifyReply552ToRcptIsTemporary(t *testing.T) {
	for _, r := range []Reply{
		{Stage: StageRcpt, Code: 552, Enhanced: "5.5.3", Text: "Too many recipients"},
		{Stage: StageRcpt, Code: 552, Enhanced: "5.2.2", Text: "Mailbox full"},
		{Stage: StageRcpt, Code: 552, Text: "5.2.2 mailbox over quota"},
		{Stage: StageRcpt, Code: 552, Text: "too many recipients"},
	} {
		v := ClassifyReply(r)
		if v.Outcome != OutcomeDeferred || v.Code != 452 || v.Permanent || strings.HasPrefix(v.Status, "5.") {
			t.Errorf("ClassifyReply(%+v) = %+v; want deferred as a 452 (temporary status)", r, v)
		}
	}
	if v := ClassifyReply(Reply{Stage: StageRcpt, Code: 552, Enhanced: "5.2.2", Text: "Mailbox full"}); v.Reason != MailboxFull || v.Status != "4.2.2" {
		t.Errorf("552 5.2.2 to RCPT = %+v; want mailboxfull with status 4.2.2", v)
	}
}
