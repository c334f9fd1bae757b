package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/smtpout/smtpsinktest"
)

// mxClient is Python smtplib talking to the MX listener as a remote reporter would: EHLO,
// STARTTLS (self-signed certificate), MAIL FROM:<>, one RCPT, DATA with the file's bytes as
// they are (smtplib does not fix line endings of bytes). It prints the replies as JSON.
const mxClient = `
import smtplib, ssl, sys, json
host, port, rcpt, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
raw = open(path, 'rb').read()
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, port, timeout=30)
s.ehlo('reporter.test'); s.starttls(context=ctx); s.ehlo('reporter.test')
out = {}
s.mail('')
code, msg = s.rcpt(rcpt); out['rcpt'] = [code, msg.decode()]
if code == 250:
    try:
        code, msg = s.data(raw)
    except smtplib.SMTPDataError as e:
        code, msg = e.smtp_code, e.smtp_error
    out['data'] = [code, msg.decode()]
print(json.dumps(out))
try:
    s.quit()
except Exception:
    pass
`

type mxReply struct {
	Rcpt []any `json:"rcpt"`
	Data []any `json:"data"`
}

func (r mxReply) code(which []any) int {
	if len(which) == 0 {
		return 0
	}
	f, _ := which[0].(float64)
	return int(f)
}

func (r mxReply) text(which []any) string {
	if len(which) < 2 {
		return ""
	}
	s, _ := which[1].(string)
	return s
}

// sendToMX submits raw (line endings as given) to rcpt on the MX listener.
func sendToMX(t *testing.T, mxAddr, rcpt string, raw []byte) mxReply {
	t.Helper()
	f := filepath.Join(t.TempDir(), "report.eml")
	if err := os.WriteFile(f, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(mxAddr, ":")
	out, err := exec.Command("python3", "-c", mxClient, host, port, rcpt, f).CombinedOutput()
	if err != nil {
		t.Fatalf("smtplib to the MX listener: %v\n%s", err, out)
	}
	var r mxReply
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("smtplib output %q: %v", out, err)
	}
	return r
}

func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
}

// rfc3464 builds a Postfix-like RFC 3464 DSN for rcpt; returned holds the returned header lines.
func rfc3464(to, rcpt, returned string) []byte {
	return crlf(`From: Mail Delivery System <MAILER-DAEMON@mx.remote.test>
To: <` + to + `>
Subject: Undelivered Mail Returned to Sender
Date: Tue, 24 Nov 2026 03:00:00 +0000
Message-ID: <dsn-` + rcpt + `@mx.remote.test>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="DSN.b0undary"

This is a MIME-encapsulated message.

--DSN.b0undary
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.remote.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<` + rcpt + `>: host mx.remote.test[192.0.2.25] said: 550 5.1.1 user unknown
    (in reply to RCPT TO command)

--DSN.b0undary
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.test
Arrival-Date: Tue, 24 Nov 2026 02:59:58 +0000

Final-Recipient: rfc822; ` + rcpt + `
Original-Recipient: rfc822;` + rcpt + `
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.remote.test
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--DSN.b0undary
Content-Type: text/rfc822-headers

` + returned + `
--DSN.b0undary--
`)
}

// arf builds an RFC 5965 abuse report about the message sent to rcpt with the given return path.
func arf(to, rcpt, returnPath, msgID string) []byte {
	return crlf(`From: Feedback Loop <fbl@fbl.remote.test>
To: <` + to + `>
Subject: Abuse report
Date: Tue, 24 Nov 2026 03:00:00 +0000
Message-ID: <arf-1@fbl.remote.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="ARF.b0undary"

--ARF.b0undary
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for a message received from 127.0.0.1.

--ARF.b0undary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: RemoteFBL/1.0
Version: 1
Original-Mail-From: <` + returnPath + `>
Original-Rcpt-To: <` + rcpt + `>
Arrival-Date: Tue, 24 Nov 2026 02:59:00 +0000
Reported-Domain: example.org
Source-IP: 127.0.0.1

--ARF.b0undary
Content-Type: message/rfc822
Content-Disposition: inline

Return-Path: <` + returnPath + `>
From: alerts@example.org
To: ` + rcpt + `
Subject: Inbound test
Message-ID: ` + msgID + `

Hello.

--ARF.b0undary--
`)
}

// sample reads a real report from the evaluation set and rewrites its failed recipient (and,
// when given, the returned Message-ID) to those of a message we sent.
func sample(t *testing.T, name string, repl map[string]string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../../shared/eval/bounces/dev", name))
	if err != nil {
		t.Fatalf("evaluation sample: %v", err)
	}
	s := string(b)
	for from, to := range repl {
		re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(from))
		if !re.MatchString(s) {
			t.Fatalf("%s does not contain %q", name, from)
		}
		s = re.ReplaceAllLiteralString(s, to)
	}
	return crlf(s)
}

type reportLine struct {
	ID        string   `json:"id"`
	Status    string   `json:"status"`
	Kind      string   `json:"kind"`
	MessageID string   `json:"message_id"`
	RcptTo    []string `json:"rcpt_to"`
	Size      int64    `json:"size"`
	Summary   *struct {
		LinkedBy   string `json:"linked_by"`
		Refused    string `json:"refused"`
		Error      string `json:"error"`
		Recipients []struct {
			Address, Outcome, Reason, Class string
			Suppressed                      bool
			MessageID                       string `json:"message_id"`
		}
	} `json:"summary"`
}

func reportsOf(t *testing.T, env map[string]string, args ...string) []reportLine {
	t.Helper()
	out := mustRun(t, env, append([]string{"bounce", "reports", "--json"}, args...)...)
	var rs []reportLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var r reportLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("bounce reports line %q: %v", l, err)
		}
		rs = append(rs, r)
	}
	return rs
}

func showReport(t *testing.T, env map[string]string, id string) reportLine {
	t.Helper()
	var r reportLine
	if err := json.Unmarshal([]byte(mustRun(t, env, "bounce", "show", id, "--json")), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("MX listener %s not listening: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestInboundReportsEndToEnd delivers messages through Posthaste to a sink, then sends the
// reports a remote world would send back to the MX listener with a real client, on both
// backends: an RFC 3464 DSN to the VERP return path the sink saw (bounced userunknown/hard,
// recipient suppressed, visible in `events --message`); an ARF report to a non-VERP address
// whose returned message carries the VERP Return-Path (complained, suppressed); a DSN to a
// non-VERP address that only carries the original Message-ID and names the message's recipient
// (still linked); a forged DSN with the right Message-ID but another recipient (unlinked, not
// applied: no bounce, no suppression); real-world
// samples of the evaluation set rewritten to our recipients (Gmail, Sendmail by Message-ID,
// Exim, ARF, an RFC 3834 auto-reply); a duplicate DSN (no second bounce); a foreign domain
// (550 5.7.1); garbage (stored as malformed and visible); a bare LF (refused, not stored).
func TestInboundReportsEndToEnd(t *testing.T) {
	for name, mkEnv := range lifecycleEnvs(t) {
		t.Run(name, func(t *testing.T) {
			sink := smtpsinktest.New(t, smtpsinktest.Options{})
			env := mkEnv(t)
			env["POSTHASTE_SMTP_RELAYS"] = "smtp://" + sink.Addr
			env["POSTHASTE_HOSTNAME"] = "posthaste.test"
			env["POSTHASTE_RETURN_PATH_DOMAIN"] = "rp.posthaste.test"
			mxAddr := freeAddr(t)
			env["POSTHASTE_MX_LISTEN"] = mxAddr
			mustRun(t, env, "org", "create", "acme")
			mustRun(t, env, "server", "create", "acme/main")
			mustRun(t, env, "domain", "create", "example.org", "--server", "acme/main", "--skip-verification")
			var cred struct{ Username, Password string }
			if err := json.Unmarshal([]byte(mustRun(t, env, "credential", "create", "--server", "acme/main", "--type", "smtp", "--json")), &cred); err != nil {
				t.Fatal(err)
			}
			smtpAddr := freeAddr(t)
			env["POSTHASTE_SMTP_LISTEN"] = smtpAddr
			startServe(t, env) // no --roles: mx joins the default roles because POSTHASTE_MX_LISTEN is set
			waitListening(t, mxAddr)

			// One message per recipient, each with its own Message-ID.
			rcpts := []string{"gone", "fan", "lost", "away", "s1", "s2", "s3", "s4", "victim", "fwd"}
			host, port, _ := strings.Cut(smtpAddr, ":")
			py := `
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30)
s.starttls(context=ctx); s.login(sys.argv[3], sys.argv[4])
for r in sys.argv[5:]:
    msg = "From: alerts@example.org\r\nTo: %s@remote.test\r\nSubject: Inbound test\r\nMessage-ID: <e2e-%s@example.org>\r\n\r\nHello.\r\n" % (r, r)
    s.sendmail("alerts@example.org", [r + "@remote.test"], msg)
s.quit()
`
			if out, err := exec.Command("python3", append([]string{"-c", py, host, port, cred.Username, cred.Password}, rcpts...)...).CombinedOutput(); err != nil {
				t.Fatalf("smtplib: %v\n%s", err, out)
			}
			msgs := sink.WaitMessages(len(rcpts), 60*time.Second)
			if len(msgs) < len(rcpts) {
				t.Fatalf("sink received %d messages, want %d", len(msgs), len(rcpts))
			}
			verp := map[string]string{} // recipient local part → return path the sink saw
			refs := map[string]string{} // recipient local part → X-Posthaste-Ref field it carried
			refRe := regexp.MustCompile(`(?m)^X-Posthaste-Ref: (\S+)\r?$`)
			for _, m := range msgs {
				verp[strings.TrimSuffix(m.To[0], "@remote.test")] = m.From
				if f := refRe.FindSubmatch(m.Data); f != nil {
					refs[strings.TrimSuffix(m.To[0], "@remote.test")] = string(f[1])
				}
			}
			ids := map[string]string{} // recipient local part → message id
			for _, e := range readEvents(t, env, "--type", "message.queued") {
				var p struct {
					RcptTo string `json:"rcpt_to"`
				}
				json.Unmarshal(e.Payload, &p)
				ids[strings.TrimSuffix(p.RcptTo, "@remote.test")] = e.StreamID
			}
			for _, r := range rcpts {
				if !strings.HasPrefix(verp[r], "b+"+ids[r]+"@") {
					t.Fatalf("return path of %s is %q, want the VERP address of message %s", r, verp[r], ids[r])
				}
				if !strings.HasPrefix(refs[r], ids[r]+".") {
					t.Fatalf("X-Posthaste-Ref of the message to %s is %q, want %s.<tag>", r, refs[r], ids[r])
				}
			}
			// Every message is delivered before any report arrives.
			deadline := time.Now().Add(30 * time.Second)
			for _, r := range rcpts {
				for typesOf(readEvents(t, env, "--message", ids[r])) != "queued signed attempted delivered" {
					if time.Now().After(deadline) {
						t.Fatalf("message to %s not delivered: %s", r, typesOf(readEvents(t, env, "--message", ids[r])))
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
			ok := func(what string, r mxReply) {
				t.Helper()
				if r.code(r.Rcpt) != 250 || r.code(r.Data) != 250 || !strings.Contains(r.text(r.Data), "report") {
					t.Fatalf("%s: MX replies %+v, want 250 to RCPT and DATA", what, r)
				}
			}

			// 1. An RFC 3464 DSN to the VERP return path.
			dsn := rfc3464(verp["gone"], "gone@remote.test", "Return-Path: <"+verp["gone"]+">\nFrom: alerts@example.org\nTo: gone@remote.test\nSubject: Inbound test\nMessage-ID: <e2e-gone@example.org>\n")
			ok("VERP DSN", sendToMX(t, mxAddr, verp["gone"], dsn))
			if got := typesOf(readEvents(t, env, "--message", ids["gone"])); got != "queued signed attempted delivered bounced" {
				t.Errorf("events --message %s: %q, want the DSN's bounce last", ids["gone"], got)
			}
			b := readEvents(t, env, "--message", ids["gone"], "--type", "message.bounced")
			var bp struct{ Reason, Class, Status, Diagnostic, Source, ReportID string }
			if len(b) == 1 {
				json.Unmarshal(b[0].Payload, &bp)
				bp.ReportID = jsonField(b[0].Payload, "report_id")
				bp.Diagnostic = jsonField(b[0].Payload, "diagnostic")
			}
			if bp.Reason != "userunknown" || bp.Class != "hard" || bp.Status != "5.1.1" || bp.Source != "dsn" || bp.ReportID == "" || !strings.Contains(bp.Diagnostic, "user unknown") {
				t.Errorf("message.bounced of the DSN: %+v (events %v)", bp, b)
			}
			// The same report again (a reporter retrying) bounces nothing twice.
			ok("duplicate DSN", sendToMX(t, mxAddr, verp["gone"], dsn))
			if n := len(readEvents(t, env, "--message", ids["gone"], "--type", "message.bounced")); n != 1 {
				t.Errorf("%d message.bounced after a duplicate DSN, want 1", n)
			}

			// 2. An ARF report to a feedback address: linked by the VERP Return-Path it returns.
			ok("ARF", sendToMX(t, mxAddr, "fbl@rp.posthaste.test", arf("fbl@rp.posthaste.test", "fan@remote.test", verp["fan"], "<e2e-fan@example.org>")))
			if c := readEvents(t, env, "--message", ids["fan"], "--type", "message.complained"); len(c) != 1 || jsonField(c[0].Payload, "feedback_type") != "abuse" {
				t.Errorf("message.complained of the ARF report: %v", c)
			}

			// The Message-ID fallback reads the message view: wait until the read model has the
			// messages it is asked about (reports come long after delivery in real life).
			for _, r := range []string{"lost", "s2", "victim"} {
				for !strings.Contains(mustRun(t, env, "messages", "--server", "acme/main", "--query", "msgid:<e2e-"+r+"@example.org>", "--json"), ids[r]) {
					if time.Now().After(deadline.Add(30 * time.Second)) {
						t.Fatalf("message to %s never reached the message view", r)
					}
					time.Sleep(200 * time.Millisecond)
				}
			}

			// 3. A DSN whose envelope is not VERP and whose returned headers carry only the Message-ID.
			ok("Message-ID DSN", sendToMX(t, mxAddr, "postmaster@rp.posthaste.test", rfc3464("postmaster@rp.posthaste.test", "lost@remote.test",
				"From: alerts@example.org\nTo: lost@remote.test\nSubject: Inbound test\nMessage-ID: <e2e-lost@example.org>\n")))
			if b := readEvents(t, env, "--message", ids["lost"], "--type", "message.bounced"); len(b) != 1 || jsonField(b[0].Payload, "reason") != "userunknown" {
				t.Errorf("bounce of the DSN linked by Message-ID: %v", b)
			}

			// 3b. A forged DSN: the right Message-ID, no VERP envelope, a failed recipient that is not
			// the message's. Nothing is bounced or suppressed; the report is unlinked and says why.
			ok("forged DSN", sendToMX(t, mxAddr, "postmaster@rp.posthaste.test", rfc3464("postmaster@rp.posthaste.test", "attacker@evil.test",
				"From: alerts@example.org\nTo: victim@remote.test\nSubject: Inbound test\nMessage-ID: <e2e-victim@example.org>\n")))
			if got := typesOf(readEvents(t, env, "--message", ids["victim"])); got != "queued signed attempted delivered" {
				t.Errorf("events of the message a forged DSN names: %q, want no bounce", got)
			}
			forged := 0
			for _, r := range reportsOf(t, env, "--status", "unlinked") {
				if s := showReport(t, env, r.ID); s.Summary != nil && strings.Contains(s.Summary.Refused, "Message-ID") && s.MessageID == "" {
					forged++
					if text := mustRun(t, env, "bounce", "show", r.ID); !strings.Contains(text, "refused") || !strings.Contains(text, "unlinked") {
						t.Errorf("bounce show of the forged DSN does not say it was refused:\n%s", text)
					}
				}
			}
			if forged != 1 {
				t.Errorf("%d unlinked reports explaining a refused Message-ID, want the forged DSN", forged)
			}

			// 3c. A DSN about a forwarded copy: no VERP envelope, another recipient address, no
			// Message-ID, but our X-Posthaste-Ref in the returned headers. Linked by it. The same
			// field with a tag for another message id is ignored.
			ok("reference DSN", sendToMX(t, mxAddr, "postmaster@rp.posthaste.test", rfc3464("postmaster@rp.posthaste.test", "fwd-target@elsewhere.test",
				"From: alerts@example.org\nTo: fwd@remote.test\nSubject: Inbound test\nX-Posthaste-Ref: "+refs["fwd"]+"\n")))
			if b := readEvents(t, env, "--message", ids["fwd"], "--type", "message.bounced"); len(b) != 1 {
				t.Errorf("bounce of the DSN linked by X-Posthaste-Ref: %v", b)
			}
			tampered := ids["victim"] + refs["fwd"][len(ids["fwd"]):]
			ok("tampered reference DSN", sendToMX(t, mxAddr, "postmaster@rp.posthaste.test", rfc3464("postmaster@rp.posthaste.test", "fwd-target@elsewhere.test",
				"From: alerts@example.org\nTo: victim@remote.test\nSubject: Inbound test\nX-Posthaste-Ref: "+tampered+"\n")))
			if got := typesOf(readEvents(t, env, "--message", ids["victim"])); got != "queued signed attempted delivered" {
				t.Errorf("events of the message a tampered reference names: %q, want no bounce", got)
			}

			// 4. Real-world formats from the evaluation set, rewritten to our recipients.
			ok("rfc3834 auto-reply", sendToMX(t, mxAddr, verp["away"], sample(t, "rfc3834-01.eml", map[string]string{"kijitora@example.net": "away@remote.test"})))
			ok("gmail DSN", sendToMX(t, mxAddr, verp["s1"], sample(t, "lhost-gmail-01.eml", map[string]string{"userunknown@example.jp": "s1@remote.test"})))
			ok("sendmail DSN by Message-ID", sendToMX(t, mxAddr, "postmaster@rp.posthaste.test", sample(t, "lhost-sendmail-01.eml", map[string]string{
				"userunknown@bouncehammer.jp":                        "s2@remote.test",
				"<E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org>": "<e2e-s2@example.org>"})))
			exim := sample(t, "lhost-exim-01.eml", map[string]string{"kijitora@example.ed.jp": "s3@remote.test"})
			ok("exim DSN", sendToMX(t, mxAddr, verp["s3"], exim))
			ok("ARF sample", sendToMX(t, mxAddr, verp["s4"], sample(t, "arf-12.eml", map[string]string{"user@example.com": "s4@remote.test"})))

			for _, r := range []string{"s1", "s2"} {
				if b := readEvents(t, env, "--message", ids[r], "--type", "message.bounced"); len(b) != 1 || jsonField(b[0].Payload, "reason") != "userunknown" || jsonField(b[0].Payload, "class") != "hard" {
					t.Errorf("bounce of sample message %s: %v", r, b)
				}
			}
			// Exim's report: the event carries the classifier's verdict on that very file.
			f := filepath.Join(t.TempDir(), "exim.eml")
			os.WriteFile(f, exim, 0o644)
			var cls struct{ Reason, Class string }
			json.Unmarshal([]byte(strings.SplitN(mustRun(t, env, "bounce", "classify", f, "--json"), "\n", 2)[0]), &cls)
			if b := readEvents(t, env, "--message", ids["s3"], "--type", "message.bounced"); len(b) != 1 || cls.Reason == "" ||
				jsonField(b[0].Payload, "reason") != cls.Reason || jsonField(b[0].Payload, "class") != cls.Class {
				t.Errorf("bounce of the Exim sample: %v, want reason %s class %s", b, cls.Reason, cls.Class)
			}
			if c := readEvents(t, env, "--message", ids["s4"], "--type", "message.complained"); len(c) != 1 {
				t.Errorf("complaint of the ARF sample: %v", c)
			}
			if b := readEvents(t, env, "--message", ids["away"], "--type", "message.bounced"); len(b) != 0 {
				t.Errorf("an auto-reply bounced the message: %v", b)
			}
			auto := reportsOf(t, env, "--status", "autoreply")
			if len(auto) != 1 || auto[0].MessageID != ids["away"] {
				t.Errorf("bounce reports --status autoreply: %+v, want one linked to %s", auto, ids["away"])
			}

			// Suppressions: hard bounces and complaints, nothing for the soft Exim bounce or the auto-reply.
			sup := map[string]string{}
			for _, e := range readEvents(t, env, "--type", "suppression.added") {
				sup[jsonField(e.Payload, "address")] = jsonField(e.Payload, "reason")
			}
			want := map[string]string{"gone@remote.test": "hard_bounce", "lost@remote.test": "hard_bounce", "s1@remote.test": "hard_bounce",
				"fwd@remote.test": "hard_bounce",
				"s2@remote.test":  "hard_bounce", "fan@remote.test": "complaint", "s4@remote.test": "complaint"}
			if cls.Class == "hard" {
				want["s3@remote.test"] = "hard_bounce"
			}
			for a, r := range want {
				if sup[a] != r {
					t.Errorf("suppression of %s: %q, want %q (all: %v)", a, sup[a], r, sup)
				}
			}
			if len(sup) != len(want) {
				t.Errorf("suppressions %v, want exactly %v", sup, want)
			}

			// How each report was linked, as the operator sees it.
			linkedBy := map[string]string{}
			for _, r := range reportsOf(t, env, "--status", "linked") {
				s := showReport(t, env, r.ID)
				if s.Summary != nil {
					linkedBy[s.MessageID] = s.Summary.LinkedBy
				}
			}
			for r, by := range map[string]string{"gone": "verp", "fan": "returned_verp", "lost": "message_id", "s2": "message_id", "s1": "verp", "fwd": "ref"} {
				if linkedBy[ids[r]] != by {
					t.Errorf("report about %s linked by %q, want %q", r, linkedBy[ids[r]], by)
				}
			}

			// 5. A foreign domain: never a relay.
			if r := sendToMX(t, mxAddr, "someone@example.com", dsn); r.code(r.Rcpt) != 550 || !strings.Contains(r.text(r.Rcpt), "5.7.1") || r.Data != nil {
				t.Errorf("RCPT to a foreign domain: %+v, want 550 5.7.1 and no DATA", r)
			}

			// 6. Garbage is stored as malformed and visible.
			before := len(reportsOf(t, env))
			garbage := []byte("\x00\x01\x02 this is not a message at all \xff\xfe\r\n\r\n\r\n")
			ok("garbage", sendToMX(t, mxAddr, "b+nothing@rp.posthaste.test", garbage))
			mal := reportsOf(t, env, "--status", "malformed")
			if len(mal) != 1 || mal[0].Size != int64(len(garbage)) {
				t.Fatalf("bounce reports --status malformed: %+v, want the garbage", mal)
			}
			if s := showReport(t, env, mal[0].ID); s.Summary == nil || s.Summary.Error == "" {
				t.Errorf("bounce show of the garbage: %+v, want the parse error", s)
			}
			if raw := mustRun(t, env, "bounce", "show", mal[0].ID, "--raw"); raw != string(garbage) {
				t.Errorf("bounce show --raw: %q, want the bytes received", raw)
			}
			text := mustRun(t, env, "bounce", "reports")
			if !strings.Contains(text, mal[0].ID) || !strings.Contains(text, "malformed") {
				t.Errorf("bounce reports (text) does not list the malformed report:\n%s", text)
			}

			// 7. Smuggling probe: a bare LF in DATA is refused and nothing is stored.
			probe := []byte("From: x@remote.test\r\nSubject: smuggle\r\n\r\nline\n.\r\nMAIL FROM:<evil@remote.test>\r\n")
			if r := sendToMX(t, mxAddr, verp["gone"], probe); r.code(r.Data) != 550 || !strings.Contains(r.text(r.Data), "5.6.0") {
				t.Errorf("bare LF: %+v, want 550 5.6.0", r)
			}
			if n := len(reportsOf(t, env)); n != before+1 {
				t.Errorf("%d reports after the smuggling probe, want %d (the garbage only)", n, before+1)
			}
			if t.Failed() {
				fmt.Println(mustRun(t, env, "bounce", "reports"))
			}
		})
	}
}

func jsonField(raw json.RawMessage, k string) string {
	var m map[string]any
	json.Unmarshal(raw, &m)
	s, _ := m[k].(string)
	return s
}
