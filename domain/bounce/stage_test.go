package bounce

import (
	"fmt"
	"strings"
	"testing"
)

// dsnWith builds a minimal RFC 3464 report for one recipient whose delivery-status group
// carries status and the Diagnostic-Code field diagField ("smtp; 550 ..." or "x-unix; ...";
// "" for none). notice is the human-readable part.
func dsnWith(rcpt, status, diagField, notice string) string {
	diag := ""
	if diagField != "" {
		diag = "Diagnostic-Code: " + diagField + "\n"
	}
	return fmt.Sprintf(`Return-Path: <>
From: MAILER-DAEMON@relay.example.net
To: sender@example.org
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="XYZ"

--XYZ
Content-Type: text/plain

%s

--XYZ
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.net

Final-Recipient: rfc822; %s
Action: failed
Status: %s
%s
--XYZ--
`, notice, rcpt, status, diag)
}

// A remote "user unknown" is a bad address when the server said it to RCPT or with an
// address status; otherwise (no stage, vague status) it is the receiver refusing this mail.
func TestParseUserUnknownNeedsRCPTOrAddressStatus(t *testing.T) {
	cases := []struct {
		name, status, diag string
		reason             Reason
		class              Class
	}{
		{"postfix in reply to RCPT", "5.0.0", "smtp; 550 no such user here: carol (in reply to RCPT TO command)", UserUnknown, Hard},
		{"exim after RCPT command", "5.2.1", "smtp; SMTP error from remote server after RCPT command: 550 5.2.1 carol... User unknown", UserUnknown, Hard},
		{"bracketed RCPT_TO stage", "5.2.1", "smtp; 550 5.2.1 carol... User unknown [RCPT_TO]", UserUnknown, Hard},
		{"dma did not like our RCPT", "5.2.1", "smtp; mx.example.com did not like our RCPT TO: 550 5.2.1 User unknown", UserUnknown, Hard},
		{"address status 5.1.1 with no stage", "5.1.1", "smtp; 550 5.1.1 mailbox carol unknown", UserUnknown, Hard},
		{"office 365 5.1.10", "5.1.10", "smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", UserUnknown, Hard},
		{"postfix recipient restriction", "5.0.0", "smtp; 550 <carol@example.com>: Recipient address rejected: User unknown", UserUnknown, Hard},
		{"gateway SMTP:RCPT notation", "5.3.0", "smtp; Technical details: SMTP:RCPT host 192.0.2.7: 553 5.3.0 <carol@example.com>... No such user here", UserUnknown, Hard},
		{"mailbox disabled status, no stage", "5.2.1", "smtp; 550 5.2.1 <carol@example.com>... User unknown", Filtered, Soft},
		{"specific status without a reply code", "5.2.1", "smtp; Invalid Address, code=550, status=5.2.1 <carol@example.com>... User unknown", Filtered, Soft},
		{"vague status, no stage", "5.0.0", "smtp; 550 sorry, user unknown", Filtered, Soft},
		{"after end of data", "5.0.0", "smtp; host mx.example.com said: 550 user unknown (in reply to end of DATA command)", Filtered, Soft},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := mustParse(t, dsnWith("carol@example.com", c.status, c.diag, "Delivery failed."))
			r := wantRecipient(t, rep, "carol@example.com", c.reason, c.class, c.status)
			_ = r
		})
	}
}

// The reporting MTA's own verdict (no remote reply code) is believed as it is.
func TestParseOwnVerdictUserUnknownStaysHard(t *testing.T) {
	raw := dsnWith("dave@example.com", "5.0.0", "",
		"** Address not found **\n\nYour message wasn't delivered to dave@example.com because the address couldn't be found.")
	wantRecipient(t, mustParse(t, raw), "dave@example.com", UserUnknown, Hard, "5.0.0")
}

// A Diagnostic-Code of type X-Unix is the local delivery program's failure: mailererror,
// even when the program's words look like "no such user"; storage limits stay mailboxfull.
func TestParseLocalMailerDiagnostic(t *testing.T) {
	rep := mustParse(t, dsnWith("erin@example.com", "5.1.1",
		`x-unix; maildrop: Unable to create "/home/erin/Maildir": No such user`, "Local delivery failed."))
	wantRecipient(t, rep, "erin@example.com", MailerError, Soft, "5.1.1")

	rep = mustParse(t, dsnWith("erin@example.com", "4.3.0", "X-Unix; 75", "Local delivery deferred."))
	wantRecipient(t, rep, "erin@example.com", MailerError, Soft, "4.3.0")

	rep = mustParse(t, dsnWith("erin@example.com", "5.2.2", "x-unix; /home/erin/Maildir: Disk quota exceeded", "Quota."))
	wantRecipient(t, rep, "erin@example.com", MailboxFull, Soft, "5.2.2")
}

// A permanent 5.4.4 after a failed MX lookup is a domain that takes no mail (notaccept,
// hard); "host or domain name not found" stays hostunknown.
func TestParseUnroutableDomain(t *testing.T) {
	cases := []struct {
		diag   string
		reason Reason
	}{
		{"smtp; Name service error for name=mail.example.test type=MX: Malformed or unexpected name server reply", NotAccept},
		{"smtp; Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)", NotAccept},
		{"smtp; Host or domain name not found. Name service error for name=example.test type=A: Host not found", HostUnknown},
	}
	for _, c := range cases {
		rep := mustParse(t, dsnWith("frank@example.test", "5.4.4", c.diag, "Undeliverable."))
		wantRecipient(t, rep, "frank@example.test", c.reason, Hard, "5.4.4")
	}
}

// Synchronous replies at delivery time keep the address verdict (the client knows it sent
// RCPT), and policy refusals stay soft.
func TestClassifyReplyStageRulesDoNotApply(t *testing.T) {
	for _, text := range []string{"550 user unknown", "550 5.2.1 <g@example.com>... User Unknown", "550 5.1.1 user unknown"} {
		if c := classifyText(0, "", text); c.Reason != UserUnknown || c.Class != Hard {
			t.Errorf("classifyText(%q) = %+v, want userunknown/hard", text, c)
		}
	}
	for _, text := range []string{
		"550 5.7.1 Message rejected due to local policy",
		"554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using bl.example.net",
		"550 5.7.1 Message rejected as spam by Content Filtering",
	} {
		if c := classifyText(0, "", text); c.Class != Soft || !c.Permanent || strings.HasPrefix(string(c.Reason), "user") {
			t.Errorf("classifyText(%q) = %+v, want a soft permanent non-address reason", text, c)
		}
	}
}

// Refusing the client at MAIL FROM because it should send through its provider's relay
// (outbound port 25 blocking) is a block of the client, not a sender-address problem.
func TestParseUseYourISPRelayIsBlocked(t *testing.T) {
	rep := mustParse(t, dsnWith("henry@example.com", "5.7.0",
		"smtp; SMTP error from remote mail server after MAIL FROM:<sender@example.org>: 550 5.7.0 Please use the SMTP server of your ISP to send mail.",
		"A message could not be delivered."))
	wantRecipient(t, rep, "henry@example.com", Blocked, Soft, "5.7.0")
}

// qmail-remote says at which stage the remote host refused: "does not like recipient" is
// RCPT (an address verdict), "failed after I sent the message" is end of DATA (filtered).
func TestParseQmailStage(t *testing.T) {
	report := func(stage string) string {
		return `From: MAILER-DAEMON@mx.example.net
To: sender@example.org
Subject: failure notice

Hi. This is the qmail-send program at mx.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<ivan@example.com>:
192.0.2.44 ` + stage + `
Remote host said: 550 sorry, user unknown
Giving up on 192.0.2.44.

--- Below this line is a copy of the message.

Return-Path: <sender@example.org>
To: ivan@example.com
`
	}
	wantRecipient(t, mustParse(t, report("does not like recipient.")), "ivan@example.com", UserUnknown, Hard, "5.0.0")
	wantRecipient(t, mustParse(t, report("failed after I sent the message.")), "ivan@example.com", Filtered, Soft, "5.0.0")
}
