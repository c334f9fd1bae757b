package bounce

import "testing"

// Rules found on the held-out set (testdata/heldout), each checked on wording of its own.
func TestGeneralRulesFromHeldOut(t *testing.T) {
	cases := []struct {
		name   string
		code   int
		status string
		text   string
		want   Reason
	}{
		{"address named after a reason is not evidence", 550, "5.1.1",
			"<virus-alerts@example.org>: Recipient address rejected: User unknown in local recipient table", UserUnknown},
		{"postfix suspended destination is not a suspended account", 0, "4.4.1",
			"delivery temporarily suspended: connect to mx.example.com[192.0.2.1]:25: Connection timed out", Expired},
		{"mailbox size limit is a full mailbox", 552, "5.2.2", "552 5.2.2 Mailbox size limit exceeded", MailboxFull},
		{"message size limit stays too big", 552, "5.3.4", "552 5.3.4 Message size exceeds fixed limit", MesgTooBig},
		{"exchange resolver not found", 550, "5.1.10",
			"550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient x@example.com not found by SMTP address lookup", UserUnknown},
		{"null MX stays notaccept", 556, "5.1.10", "556 5.1.10 Domain example.com does not accept mail (nullMX)", NotAccept},
		{"named block list beats policy", 554, "5.7.1",
			"554 5.7.1 Blocked by policy: blacklisted by rbl - see https://ipcheck.example/?ip=192.0.2.1", Blocked},
		{"permanently deferred IP is blocked", 553, "5.7.2",
			"553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT succeed.", Blocked},
		{"DNS error with a bad-destination-system status is an unknown host", 0, "5.1.2",
			"DNS Error: 1234 DNS type 'mx' lookup of nowhere.example responded with code NXDOMAIN Domain name not found: nowhere.example", HostUnknown},
		{"DNS error without it stays a network error", 0, "4.0.0",
			"DNS Error: 1234 DNS type 'mx' lookup of nowhere.example responded with code NXDOMAIN Domain name not found: nowhere.example", NetworkError},
		{"mailbox exceeded its limit", 0, "",
			"The number of messages in recipient's mailbox exceeded the local limit.", MailboxFull},
	}
	for _, c := range cases {
		if got := classifyText(c.code, c.status, c.text); got.Reason != c.want {
			t.Errorf("%s: %q → %s, want %s", c.name, c.text, got.Reason, c.want)
		}
	}
}

// A transcript quotes the successes before the refusal: the refusal is what the report is about.
func TestTranscriptStatusIsTheFailure(t *testing.T) {
	if got := findStatus("<-- 250 2.1.0 Sender OK --> RCPT To:<a@example.biz> <-- 550 5.1.1 <a@example.biz> User unknown"); got != "5.1.1" {
		t.Errorf("findStatus = %q, want 5.1.1", got)
	}
	if got := findStatus("250 2.1.5 Ok"); got != "2.1.5" {
		t.Errorf("findStatus of a success = %q", got)
	}
	raw := `From: Mail Delivery System <MDaemon@mail.example.biz>
To: sender@example.org
Subject: Permanent Delivery Failure
Content-Type: text/plain

The attached message had PERMANENT fatal delivery errors!

--- Session Transcript ---
 --> MAIL From:<sender@example.org>
 <-- 250 2.1.0 Sender OK
 --> RCPT To:<gone@example.biz>
 <-- 550 5.1.1 <gone@example.biz>: Recipient address rejected: User unknown
--- End Transcript ---
`
	rep, err := Parse([]byte(raw))
	if err != nil || len(rep.Recipients) != 1 {
		t.Fatalf("parse: %v %+v", err, rep)
	}
	if r := rep.Recipients[0]; r.Address != "gone@example.biz" || r.Reason != UserUnknown || r.Class != Hard || r.Status != "5.1.1" {
		t.Errorf("recipient %+v, want gone@ userunknown hard 5.1.1", r)
	}
}
