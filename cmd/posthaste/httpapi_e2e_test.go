package main

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/smtpout/smtpsinktest"
)

// runPostalClient runs the npm client @atech/postal (testdata/postal-client, npm ci) against
// https://127.0.0.1:443 and decodes its JSON line into v.
func runPostalClient(t *testing.T, v any, args ...string) {
	t.Helper()
	dir, _ := filepath.Abs("testdata/postal-client")
	cmd := exec.Command("node", append([]string{"client.js"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "NODE_TLS_REJECT_UNAUTHORIZED=0", "NODE_NO_WARNINGS=1")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node client.js %v: %v\n%s%s", args, err, out, stderr)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("node client.js %v: %v\n%s", args, err, out)
	}
}

// TestPostalClientEndToEnd: an application written for Postal, using @atech/postal unchanged
// over HTTPS on port 443, sends a message (to, cc, bcc, attachment, custom header) and a raw
// message, reads a message with every expansion and its deliveries after the sink accepted it.
func TestPostalClientEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is required (apt-get install nodejs npm; npm ci in testdata/postal-client)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:443")
	if err != nil {
		t.Fatalf("the npm client speaks HTTPS on port 443 only, and it cannot be bound here: %v", err)
	}
	ln.Close()
	for _, name := range []string{"embedded", "production"} {
		t.Run(name, func(t *testing.T) {
			sink := smtpsinktest.New(t, smtpsinktest.Options{})
			env := lifecycleEnvs(t)[name](t)
			env["POSTHASTE_SMTP_RELAYS"] = "smtp://" + sink.Addr
			env["POSTHASTE_HOSTNAME"] = "posthaste.test"
			env["POSTHASTE_HTTPS_LISTEN"] = "127.0.0.1:443"
			env["POSTHASTE_ADMIN_TOKEN"] = "e2e-admin-token-0123456789abcdef"
			mustRun(t, env, "org", "create", "acme")
			mustRun(t, env, "server", "create", "acme/main")
			mustRun(t, env, "domain", "create", "example.org", "--server", "acme/main", "--skip-verification")
			var cred struct{ Key string }
			if err := json.Unmarshal([]byte(mustRun(t, env, "credential", "create", "--server", "acme/main", "--type", "api", "--json")), &cred); err != nil {
				t.Fatal(err)
			}
			startServe(t, env)

			var res struct {
				MessageID  string `json:"message_id"`
				Recipients map[string]struct {
					ID    int64  `json:"id"`
					Token string `json:"token"`
				} `json:"recipients"`
			}
			runPostalClient(t, &res, "send", "127.0.0.1", cred.Key, "App <app@example.org>", "Ann <ann@remote.test>", "bob@remote.test")
			if len(res.Recipients) != 4 || !strings.HasSuffix(res.MessageID, "@posthaste.test") || strings.HasPrefix(res.MessageID, "<") {
				t.Fatalf("send result: %+v (want 4 recipients: to x2, cc, bcc; a bare Message-ID)", res)
			}
			ann := res.Recipients["ann@remote.test"]
			if ann.ID <= 0 || len(ann.Token) != 12 {
				t.Fatalf("ann's id/token: %+v", ann)
			}

			var raw struct {
				MessageID string `json:"message_id"`
				Messages  map[string]struct{ ID int64 }
			}
			runPostalClient(t, &raw, "raw", "127.0.0.1", cred.Key, "app@example.org", "raw@remote.test")
			if raw.Messages["raw@remote.test"].ID <= ann.ID {
				t.Fatalf("raw send: %+v (want a later integer id than %d)", raw, ann.ID)
			}

			msgs := sink.WaitMessages(5, 60*time.Second)
			if len(msgs) < 5 {
				t.Fatalf("sink got %d messages, want 5", len(msgs))
			}
			for _, m := range msgs {
				if strings.Contains(string(m.Data), "hidden@remote.test") {
					t.Errorf("the Bcc address leaked into the message to %v", m.To)
				}
			}

			var detail struct {
				ID     int64  `json:"id"`
				Token  string `json:"token"`
				Status struct {
					Status string `json:"status"`
					Held   bool   `json:"held"`
				} `json:"status"`
				Details struct {
					RcptTo  string `json:"rcpt_to"`
					Subject string `json:"subject"`
					Tag     string `json:"tag"`
				} `json:"details"`
				PlainBody   string              `json:"plain_body"`
				HTMLBody    string              `json:"html_body"`
				Headers     map[string][]string `json:"headers"`
				Attachments []struct {
					Filename string `json:"filename"`
					Size     int    `json:"size"`
				} `json:"attachments"`
			}
			var deliveries []struct {
				Status    string  `json:"status"`
				Details   string  `json:"details"`
				Timestamp float64 `json:"timestamp"`
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				runPostalClient(t, &deliveries, "deliveries", "127.0.0.1", cred.Key, strconv.FormatInt(ann.ID, 10))
				if len(deliveries) > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if len(deliveries) != 1 || deliveries[0].Status != "Sent" || deliveries[0].Timestamp == 0 {
				t.Fatalf("deliveries of ann's message: %+v", deliveries)
			}
			runPostalClient(t, &detail, "message", "127.0.0.1", cred.Key, strconv.FormatInt(ann.ID, 10))
			if detail.ID != ann.ID || detail.Token != ann.Token || detail.Status.Status != "Sent" || detail.Details.RcptTo != "ann@remote.test" ||
				detail.Details.Subject != "Hello from @atech/postal" || detail.Details.Tag != "npm" {
				t.Fatalf("message: %+v", detail)
			}
			if !strings.Contains(detail.PlainBody, "Plain text from the Postal client.") || !strings.Contains(detail.HTMLBody, "<p>HTML") ||
				len(detail.Attachments) != 1 || detail.Attachments[0].Filename != "note.txt" || detail.Attachments[0].Size != len("attached text") ||
				len(detail.Headers["x-client-test"]) != 1 {
				t.Fatalf("message expansions: %+v", detail)
			}

			// Errors come back as Postal's codes (the client rejects with data).
			var rej struct {
				Rejected struct{ Code, Message string }
			}
			cmd := exec.Command("node", "client.js", "send", "127.0.0.1", cred.Key, "app@unverified.test", "x@remote.test")
			cmd.Dir = "testdata/postal-client"
			cmd.Env = append(cmd.Environ(), "NODE_TLS_REJECT_UNAUTHORIZED=0", "NODE_NO_WARNINGS=1")
			out, _ := cmd.Output()
			if err := json.Unmarshal(out, &rej); err != nil || rej.Rejected.Code != "UnauthenticatedFromAddress" {
				t.Fatalf("unverified From: %s", out)
			}
			cmd = exec.Command("node", "client.js", "deliveries", "127.0.0.1", "wrong-key", "1")
			cmd.Dir = "testdata/postal-client"
			cmd.Env = append(cmd.Environ(), "NODE_TLS_REJECT_UNAUTHORIZED=0", "NODE_NO_WARNINGS=1")
			out, _ = cmd.Output()
			if err := json.Unmarshal(out, &rej); err != nil || rej.Rejected.Code != "InvalidServerAPIKey" {
				t.Fatalf("wrong key: %s", out)
			}

			// The native API on the same HTTPS listener: the key sees its server, the admin
			// token names one, and the event timeline of the message the npm client sent.
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
			get := func(path, token string) (int, string) {
				req, _ := http.NewRequest("GET", "https://127.0.0.1"+path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(b)
			}
			if code, body := get("/api/v2/server", cred.Key); code != 200 || !strings.Contains(body, `"id":"acme/main"`) {
				t.Fatalf("v2 server with the key: %d %s", code, body)
			}
			// A key created through the API works at once and stops at once when revoked.
			post := func(method, path, token, body string) (int, string) {
				req, _ := http.NewRequest(method, "https://127.0.0.1"+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(b)
			}
			var nk struct{ ID, Key string }
			code, nbody := post("POST", "/api/v2/credentials", cred.Key, `{"type":"api","name":"temp"}`)
			json.Unmarshal([]byte(nbody), &nk)
			if code != 201 || nk.Key == "" {
				t.Fatalf("create key: %d %s", code, nbody)
			}
			if code, body := get("/api/v2/server", nk.Key); code != 200 {
				t.Fatalf("new key: %d %s", code, body)
			}
			if code, body := post("DELETE", "/api/v2/credentials/"+nk.ID, cred.Key, ""); code != 200 {
				t.Fatalf("revoke: %d %s", code, body)
			}
			if code, body := get("/api/v2/server", nk.Key); code != 401 {
				t.Fatalf("revoked key still accepted: %d %s", code, body)
			}
			if code, body := get("/api/v2/domains?server=acme/main", "e2e-admin-token-0123456789abcdef"); code != 200 || !strings.Contains(body, "example.org") {
				t.Fatalf("v2 domains with the admin token: %d %s", code, body)
			}
			var v2msgs struct {
				Messages []struct{ ID string }
			}
			var body string
			waitFor(t, 20*time.Second, "ann's message in the message view", func() bool {
				_, body = get("/api/v2/messages?q=to:ann@remote.test", cred.Key)
				json.Unmarshal([]byte(body), &v2msgs)
				return len(v2msgs.Messages) == 1
			})
			if len(v2msgs.Messages) != 1 {
				t.Fatalf("v2 search for ann (projection): %s", body)
			}
			if code, body := get("/api/v2/messages/"+v2msgs.Messages[0].ID+"/events", cred.Key); code != 200 || !strings.Contains(body, "message.delivered") {
				t.Fatalf("v2 events of ann's message: %d %s", code, body)
			}
		})
	}
}
