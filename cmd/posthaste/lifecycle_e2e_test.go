package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthaste/posthaste/adapters/smtpout/smtpsinktest"
)

// lifecycleEnvs are the two backends every lifecycle scenario runs on.
func lifecycleEnvs(t *testing.T) map[string]func(t *testing.T) map[string]string {
	return map[string]func(t *testing.T) map[string]string{
		"embedded": func(t *testing.T) map[string]string {
			return map[string]string{"POSTHASTE_DATA_DIR": t.TempDir()}
		},
		"production": func(t *testing.T) map[string]string {
			env, _ := productionEnv(t)
			return env
		},
	}
}

type eventLine struct {
	Position int64  `json:"position"`
	Type     string `json:"type"`
	StreamID string `json:"stream_id"`
	Actor    struct{ Type, ID string }
	Payload  json.RawMessage `json:"payload"`
}

func readEvents(t *testing.T, env map[string]string, args ...string) []eventLine {
	t.Helper()
	out := mustRun(t, env, append([]string{"events", "--json"}, args...)...)
	var evs []eventLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e eventLine
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("events --json line %q: %v", sc.Text(), err)
		}
		evs = append(evs, e)
	}
	return evs
}

func typesOf(evs []eventLine) string {
	var ts []string
	for _, e := range evs {
		ts = append(ts, strings.TrimPrefix(e.Type, "message."))
	}
	return strings.Join(ts, " ")
}

// TestLifecycleEndToEnd is the "as a sending service would" scenario, on both backends:
// credentials from the CLI; Python smtplib, swaks and nodemailer submitting over STARTTLS with
// AUTH; the message arriving at a smart-host sink with a DKIM signature that dkimpy accepts; the events
// queued → signed → attempted → delivered; a 451-then-250 recipient deferred then delivered; a
// 550 recipient bounced (userunknown, hard) and suppressed.
func TestLifecycleEndToEnd(t *testing.T) {
	for name, mkEnv := range lifecycleEnvs(t) {
		t.Run(name, func(t *testing.T) {
			sink := smtpsinktest.New(t, smtpsinktest.Options{
				Rcpt: func(to string, try int) *smtp.SMTPError {
					switch {
					case strings.HasPrefix(to, "later@") && try == 1:
						return smtpsinktest.Reply(451, "4.7.1", "Greylisted, please try again")
					case strings.HasPrefix(to, "nobody@"):
						return smtpsinktest.Reply(550, "5.1.1", "No such user here")
					}
					return nil
				},
			})
			env := mkEnv(t)
			env["POSTHASTE_SMTP_RELAYS"] = "smtp://" + sink.Addr
			env["POSTHASTE_RETRY_INITIAL"] = "1s"
			env["POSTHASTE_HOSTNAME"] = "posthaste.test"
			env["POSTHASTE_RETURN_PATH_DOMAIN"] = "rp.posthaste.test"
			mustRun(t, env, "org", "create", "acme")
			mustRun(t, env, "server", "create", "acme/main")
			mustRun(t, env, "domain", "create", "example.org", "--server", "acme/main", "--skip-verification", "--ed25519")
			var cred struct{ Username, Password string }
			if err := json.Unmarshal([]byte(mustRun(t, env, "credential", "create", "--server", "acme/main", "--type", "smtp", "--json")), &cred); err != nil {
				t.Fatal(err)
			}
			var dns struct {
				Records []struct{ Purpose, Name, Value string }
			}
			if err := json.Unmarshal([]byte(mustRun(t, env, "domain", "dns", "example.org", "--json")), &dns); err != nil {
				t.Fatal(err)
			}
			var keyLines []string
			for _, r := range dns.Records {
				if r.Purpose == "dkim" {
					keyLines = append(keyLines, strings.TrimSuffix(r.Name, ".")+" "+r.Value)
				}
			}
			if len(keyLines) != 2 {
				t.Fatalf("want an RSA and an Ed25519 DKIM record, got %v", keyLines)
			}
			keyFile := filepath.Join(t.TempDir(), "keys")
			os.WriteFile(keyFile, []byte(strings.Join(keyLines, "\n")+"\n"), 0o644)

			smtpAddr := freeAddr(t)
			env["POSTHASTE_SMTP_LISTEN"] = smtpAddr
			srv := startServe(t, env)
			host, port, _ := strings.Cut(smtpAddr, ":")

			// Python smtplib: STARTTLS (self-signed certificate), AUTH, three recipients.
			py := `
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30)
s.starttls(context=ctx); s.login(sys.argv[3], sys.argv[4])
msg = "From: Alerts <alerts@example.org>\r\nTo: ok@remote.test\r\nSubject: Lifecycle test\r\nX-Posthaste-Tag: e2e\r\n\r\nHello from smtplib.\r\n"
refused = s.sendmail("alerts@example.org", ["ok@remote.test", "later@remote.test", "nobody@remote.test"], msg)
print(s.noop()); s.quit()
`
			out, err := exec.Command("python3", "-c", py, host, port, cred.Username, cred.Password).CombinedOutput()
			if err != nil {
				t.Fatalf("smtplib: %v\n%s", err, out)
			}
			// swaks: a second client, STARTTLS + AUTH LOGIN.
			out, err = exec.Command("swaks", "--server", host, "--port", port, "-tls", "--auth", "LOGIN",
				"--auth-user", cred.Username, "--auth-password", cred.Password,
				"--from", "alerts@example.org", "--to", "ok2@remote.test", "--h-From", "alerts@example.org",
				"--h-Subject", "from swaks").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "250 2.0.0") {
				t.Fatalf("swaks: %v\n%s", err, out)
			}

			// nodemailer: a third client, STARTTLS required + AUTH.
			out, err = exec.Command("node", "testdata/nodemailer-client/send.js", host, port, cred.Username, cred.Password,
				"alerts@example.org", "ok3@remote.test").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "250 2.0.0") {
				t.Fatalf("nodemailer: %v\n%s", err, out)
			}

			msgs := sink.WaitMessages(4, 60*time.Second)
			if len(msgs) < 4 {
				t.Fatalf("sink received %d messages, want 4 (ok, ok2, ok3, later after its retry)", len(msgs))
			}
			for _, m := range msgs {
				if !strings.HasPrefix(m.From, "b") || !strings.HasSuffix(m.From, "@rp.posthaste.test") {
					t.Errorf("return path %q is not a VERP address on the return-path domain", m.From)
				}
				f := filepath.Join(t.TempDir(), "msg.eml")
				os.WriteFile(f, m.Data, 0o644)
				v, err := exec.Command("/usr/bin/python3", "../../../shared/tools/dkim-verify.py", f, keyFile).CombinedOutput()
				if err != nil || strings.Count(string(v), "pass ") != 2 {
					t.Errorf("dkimpy does not pass both signatures of the message to %v: %v\n%s", m.To, err, v)
				}
			}

			// The audit trail of each recipient's message.
			queued := map[string]string{}
			for _, e := range readEvents(t, env, "--type", "message.queued") {
				var p struct {
					RcptTo string `json:"rcpt_to"`
					Tag    string `json:"tag"`
				}
				json.Unmarshal(e.Payload, &p)
				queued[p.RcptTo] = e.StreamID
				if e.Actor.Type != "smtp" {
					t.Errorf("queued actor %+v, want smtp", e.Actor)
				}
			}
			want := map[string]string{
				"ok@remote.test":     "queued signed attempted delivered",
				"ok2@remote.test":    "queued signed attempted delivered",
				"ok3@remote.test":    "queued signed attempted delivered",
				"later@remote.test":  "queued signed attempted deferred attempted delivered",
				"nobody@remote.test": "queued signed attempted bounced",
			}
			deadline := time.Now().Add(30 * time.Second)
			for rcpt, w := range want {
				id := queued[rcpt]
				if id == "" {
					t.Fatalf("no message.queued for %s (have %v)", rcpt, queued)
				}
				var got string
				for {
					got = typesOf(readEvents(t, env, "--message", id))
					if got == w || time.Now().After(deadline) {
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
				if got != w {
					t.Errorf("events of %s: %q, want %q", rcpt, got, w)
				}
			}
			bounced := readEvents(t, env, "--message", queued["nobody@remote.test"], "--type", "message.bounced")
			if len(bounced) != 1 || !strings.Contains(string(bounced[0].Payload), `"reason":"userunknown"`) || !strings.Contains(string(bounced[0].Payload), `"class":"hard"`) {
				t.Errorf("bounce of nobody@: %+v", bounced)
			}
			sup := readEvents(t, env, "--type", "suppression.added")
			if len(sup) != 1 || !strings.Contains(string(sup[0].Payload), `"address":"nobody@remote.test"`) {
				t.Errorf("want one suppression of nobody@remote.test, got %v", sup)
			}
			if code := srv.stop(t); code != 0 {
				t.Errorf("serve exit status %d after SIGTERM", code)
			}
		})
	}
}

// TestHoldsAndOperatorCommands: a development-mode server holds what it accepts until an
// operator releases it; a suppressed recipient's message is held and its hold can be cancelled;
// send-test goes through the normal pipeline with the CLI actor; suppression add/list/remove.
func TestHoldsAndOperatorCommands(t *testing.T) {
	for name, mkEnv := range lifecycleEnvs(t) {
		t.Run(name, func(t *testing.T) {
			sink := smtpsinktest.New(t, smtpsinktest.Options{})
			env := mkEnv(t)
			env["POSTHASTE_SMTP_RELAYS"] = "smtp://" + sink.Addr
			env["POSTHASTE_HOSTNAME"] = "posthaste.test"
			mustRun(t, env, "org", "create", "acme")
			mustRun(t, env, "server", "create", "acme/dev", "--mode", "development")
			mustRun(t, env, "server", "create", "acme/live")
			mustRun(t, env, "domain", "create", "dev.example", "--server", "acme/dev", "--skip-verification")
			mustRun(t, env, "domain", "create", "live.example", "--server", "acme/live", "--skip-verification")
			// Errors: unknown server, unverified From domain.
			if _, stderr, code := runBin(t, env, "send-test", "x@remote.test", "--from", "a@live.example", "--server", "acme/nope"); code != 1 || !strings.Contains(stderr, "not found") {
				t.Errorf("send-test to an unknown server: exit %d, %q", code, stderr)
			}
			if _, stderr, code := runBin(t, env, "send-test", "x@remote.test", "--from", "a@other.example", "--server", "acme/live"); code != 1 || !strings.Contains(stderr, "not a verified domain") {
				t.Errorf("send-test from an unverified domain: exit %d, %q", code, stderr)
			}
			mustRun(t, env, "suppression", "add", "Blocked@Remote.test", "--server", "acme/live")
			if out := mustRun(t, env, "suppression", "list", "--server", "acme/live", "--json"); !strings.Contains(out, `"address":"blocked@remote.test"`) || !strings.Contains(out, `"reason":"manual"`) {
				t.Errorf("suppression list: %s", out)
			}

			var held, suppressed, direct sendTestJSON
			json.Unmarshal([]byte(mustRun(t, env, "send-test", "dev@remote.test", "--from", "a@dev.example", "--server", "acme/dev", "--json")), &held)
			json.Unmarshal([]byte(mustRun(t, env, "send-test", "blocked@remote.test", "--from", "a@live.example", "--server", "acme/live", "--json")), &suppressed)
			json.Unmarshal([]byte(mustRun(t, env, "send-test", "ok@remote.test", "--from", "a@live.example", "--server", "acme/live", "--json")), &direct)
			if held.MessageID == "" || suppressed.MessageID == "" || direct.MessageID == "" {
				t.Fatalf("send-test --json gave no ids: %+v %+v %+v", held, suppressed, direct)
			}
			if h := readEvents(t, env, "--message", held.MessageID, "--type", "message.held"); len(h) != 1 || !strings.Contains(string(h[0].Payload), `"reason":"development_mode"`) {
				t.Errorf("development-mode hold: %+v", h)
			}
			if h := readEvents(t, env, "--message", suppressed.MessageID, "--type", "message.held"); len(h) != 1 || !strings.Contains(string(h[0].Payload), `"reason":"suppressed"`) {
				t.Errorf("suppression hold: %+v", h)
			}
			// Release and cancel work whether serve runs or not: do them before starting it.
			mustRun(t, env, "message", "release", held.MessageID)
			mustRun(t, env, "message", "cancel-hold", suppressed.MessageID)
			if _, stderr, code := runBin(t, env, "message", "release", direct.MessageID); code != 1 || !strings.Contains(stderr, "not held") {
				t.Errorf("releasing a message that is not held: exit %d, %q", code, stderr)
			}
			srv := startServe(t, env)
			msgs := sink.WaitMessages(2, 60*time.Second)
			got := map[string]bool{}
			for _, m := range msgs {
				got[m.To[0]] = true
			}
			if len(msgs) != 2 || !got["dev@remote.test"] || !got["ok@remote.test"] {
				t.Errorf("sink got %v, want dev@ (released) and ok@", got)
			}
			time.Sleep(500 * time.Millisecond)
			if n := len(sink.Messages()); n != 2 {
				t.Errorf("sink got %d messages; the cancelled hold must never be delivered", n)
			}
			if ev := readEvents(t, env, "--message", direct.MessageID, "--type", "message.queued"); len(ev) != 1 || ev[0].Actor.Type != "cli" {
				t.Errorf("send-test actor: %+v", ev)
			}
			if ev := readEvents(t, env, "--message", held.MessageID, "--type", "message.released"); len(ev) != 1 || ev[0].Actor.Type != "cli" {
				t.Errorf("release event: %+v", ev)
			}
			mustRun(t, env, "suppression", "remove", "blocked@remote.test", "--server", "acme/live")
			if _, stderr, code := runBin(t, env, "suppression", "remove", "blocked@remote.test", "--server", "acme/live"); code != 1 || !strings.Contains(stderr, "not suppressed") {
				t.Errorf("second remove: exit %d, %q", code, stderr)
			}
			srv.stop(t)
		})
	}
}
