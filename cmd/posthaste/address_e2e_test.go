package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// TestSMTPAndAPIAddressValidation runs the real binary: a bad RCPT TO over STARTTLS + AUTH
// (Python smtplib) gets 501 5.1.3 and the session goes on to deliver to the good recipient;
// the HTTP API refuses a bad address naming the field; the CLI refuses bad addresses in
// suppression add and send-test with the diagnosis.
func TestSMTPAndAPIAddressValidation(t *testing.T) {
	env := map[string]string{"POSTHASTE_DATA_DIR": t.TempDir(), "POSTHASTE_HOSTNAME": "posthaste.test"}
	mustRun(t, env, "org", "create", "acme")
	mustRun(t, env, "server", "create", "acme/main")
	mustRun(t, env, "domain", "create", "example.org", "--server", "acme/main", "--skip-verification")

	for _, args := range [][]string{
		{"suppression", "add", "bad..x@remote.test", "--server", "acme/main"},
		{"send-test", "x@remote.test.", "--from", "a@example.org", "--server", "acme/main"},
		{"send-test", "x@remote.test", "--from", "a@@example.org", "--server", "acme/main"},
	} {
		_, stderr, code := runBin(t, env, args...)
		if code != 1 || !strings.Contains(stderr, "is not a valid email address: ") || !strings.Contains(stderr, "(ISEMAIL_ERR_") {
			t.Errorf("posthaste %s: exit %d, %q", strings.Join(args, " "), code, stderr)
		}
	}
	if out := mustRun(t, env, "suppression", "list", "--server", "acme/main", "--json"); strings.TrimSpace(out) != "" {
		t.Errorf("a refused suppression was stored: %q", out)
	}

	var cred struct{ Username, Password, Key string }
	if err := json.Unmarshal([]byte(mustRun(t, env, "credential", "create", "--server", "acme/main", "--type", "smtp", "--json")), &cred); err != nil {
		t.Fatal(err)
	}
	var api struct{ Key string }
	if err := json.Unmarshal([]byte(mustRun(t, env, "credential", "create", "--server", "acme/main", "--type", "api", "--json")), &api); err != nil {
		t.Fatal(err)
	}
	smtpAddr := freeAddr(t)
	env["POSTHASTE_SMTP_LISTEN"] = smtpAddr
	srv := startServe(t, env)
	host, port, _ := strings.Cut(smtpAddr, ":")

	py := `
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30)
s.starttls(context=ctx); s.login(sys.argv[3], sys.argv[4])
print(s.mail("alerts@example.org")[0])
for r in [".ann@remote.test", "ann@remote..test", "ann@[1.2.3]", "ann@remote.test"]:
    code, text = s.rcpt(r)
    print(code, text.decode())
code, text = s.data("From: alerts@example.org\r\nTo: ann@remote.test\r\nSubject: hi\r\n\r\nbody\r\n")
print(code, text.decode()[:22])
s.quit()
`
	out, err := exec.Command("python3", "-c", py, host, port, cred.Username, cred.Password).CombinedOutput()
	if err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	want := []string{
		"250",
		"501 5.1.3 Bad recipient address syntax: the local part or domain begins with a dot (ISEMAIL_ERR_DOT_START)",
		"501 5.1.3 Bad recipient address syntax: address contains consecutive dots (ISEMAIL_ERR_CONSECUTIVEDOTS)",
		"553 5.1.3 Bad recipient address syntax: the domain literal is not a valid RFC 5321 address literal (ISEMAIL_RFC5322_DOMAINLITERAL)",
		"250 ",
		"250 2.0.0 Ok: queued as",
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(want) {
		t.Fatalf("smtplib output:\n%s", out)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("smtplib line %d = %q, want %q", i, lines[i], w)
		}
	}

	body, _ := json.Marshal(map[string]any{"from": "alerts@example.org", "to": []string{"ok@remote.test", "bad@remote_x.test"}, "subject": "s", "text": "t"})
	req, _ := http.NewRequest("POST", srv.http+"/api/v2/send", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+api.Key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p struct {
		Errors []struct{ Field, Message string }
	}
	json.NewDecoder(res.Body).Decode(&p)
	if res.StatusCode != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Field != "to[1]" || !strings.Contains(p.Errors[0].Message, "ISEMAIL_RFC5322_DOMAIN") {
		t.Errorf("API: %d %+v", res.StatusCode, p)
	}
}
