package bounce

import "testing"

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
		got := ClassifyReply(c.code, c.enhanced, c.text)
		if got.Reason != c.reason || got.Class != c.class || got.Status != c.status || got.Permanent != c.perm {
			t.Errorf("ClassifyReply(%d, %q, %q) = %+v; want reason %s class %s status %q permanent %v",
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
