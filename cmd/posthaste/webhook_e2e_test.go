package main

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/posthaste/posthaste/adapters/smtpout/smtpsinktest"
)

// received is one request a test receiver got.
type received struct {
	ID, Type string
	OK       bool
	Header   http.Header
	Body     []byte
}

// scriptReceiver runs receiver.js (npm standardwebhooks) or receiver.py (spec-only hmac) with a
// secret and collects the JSON lines it prints per request.
type scriptReceiver struct {
	url  string
	mu   sync.Mutex
	got  []received
	name string
}

func startScriptReceiver(t *testing.T, name, secret string) *scriptReceiver {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("testdata", "webhook-receiver"))
	var cmd *exec.Cmd
	if name == "node" {
		cmd = exec.Command("node", filepath.Join(dir, "receiver.js"), secret)
	} else {
		cmd = exec.Command("python3", filepath.Join(dir, "receiver.py"), secret)
	}
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s receiver: %v", name, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := &scriptReceiver{name: name}
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		cmd.Wait()
		t.Fatalf("%s receiver did not start (did `npm ci` run in testdata/webhook-receiver?): %s", name, stderr.String())
	}
	var hello struct{ Port int }
	if err := json.Unmarshal(sc.Bytes(), &hello); err != nil || hello.Port == 0 {
		t.Fatalf("%s receiver said %q", name, sc.Text())
	}
	r.url = fmt.Sprintf("http://127.0.0.1:%d/hook", hello.Port)
	go func() {
		for sc.Scan() {
			var l struct {
				OK   bool   `json:"ok"`
				ID   string `json:"id"`
				Type string `json:"type"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				r.mu.Lock()
				r.got = append(r.got, received{ID: l.ID, Type: l.Type, OK: l.OK})
				r.mu.Unlock()
			}
		}
	}()
	return r
}

func (r *scriptReceiver) snapshot() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// goReceiver verifies with github.com/standard-webhooks/standard-webhooks/libraries (Go) and
// fails on purpose: connection refused until started, then per webhook-id a 500, then a
// request it answers too late (timeout), then 204.
type goReceiver struct {
	addr   string
	wh     *standardwebhooks.Webhook
	mu     sync.Mutex
	tries  map[string]int
	got    []received // verified and answered 204, in order
	all    []received // every request with a body
	server *http.Server
}

func newGoReceiver(t *testing.T) *goReceiver {
	return &goReceiver{addr: freeAddr(t), tries: map[string]int{}}
}

func (g *goReceiver) start(t *testing.T, secret string) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	g.wh = wh
	ln, err := net.Listen("tcp", g.addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", g.addr, err)
	}
	g.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get("webhook-id")
		g.mu.Lock()
		g.tries[id]++
		n := g.tries[id]
		g.all = append(g.all, received{ID: id, Header: r.Header.Clone(), Body: body})
		g.mu.Unlock()
		switch n {
		case 1:
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		case 2:
			time.Sleep(1500 * time.Millisecond) // beyond POSTHASTE_WEBHOOK_TIMEOUT: the sender gave up
			return
		}
		if err := g.wh.Verify(body, r.Header); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var p struct{ Type string }
		json.Unmarshal(body, &p)
		g.mu.Lock()
		g.got = append(g.got, received{ID: id, Type: p.Type, OK: true})
		g.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	go g.server.Serve(ln)
	t.Cleanup(func() { g.server.Close() })
}

func (g *goReceiver) snapshot() (got, all []received) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]received(nil), g.got...), append([]received(nil), g.all...)
}

// postalReceiver verifies Postal-format requests with crypto/rsa against the JWKS served by
// the platform (fetched once, by key id).
type postalReceiver struct {
	url     string
	jwksURL string
	mu      sync.Mutex
	got     []received
	bad     []string
}

func startPostalReceiver(t *testing.T, jwksURL string) *postalReceiver {
	p := &postalReceiver{jwksURL: jwksURL}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := p.verify(r.Header, body); err != nil {
			p.mu.Lock()
			p.bad = append(p.bad, err.Error())
			p.mu.Unlock()
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var env struct {
			Event string `json:"event"`
			UUID  string `json:"uuid"`
		}
		json.Unmarshal(body, &env)
		p.mu.Lock()
		p.got = append(p.got, received{ID: env.UUID, Type: env.Event, OK: true, Body: body})
		p.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	p.url = "http://" + ln.Addr().String() + "/postal"
	return p
}

func (p *postalReceiver) verify(h http.Header, body []byte) error {
	resp, err := http.Get(p.jwksURL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kty, Kid, N, E string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return fmt.Errorf("jwks: %v", err)
	}
	kid := h.Get("X-Postal-Signature-KID")
	for _, k := range set.Keys {
		if k.Kid != kid || k.Kty != "RSA" {
			continue
		}
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		s256, _ := base64.StdEncoding.DecodeString(h.Get("X-Postal-Signature-256"))
		d256 := sha256.Sum256(body)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d256[:], s256); err != nil {
			return fmt.Errorf("X-Postal-Signature-256: %v", err)
		}
		s1, _ := base64.StdEncoding.DecodeString(h.Get("X-Postal-Signature"))
		d1 := sha1.Sum(body)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA1, d1[:], s1); err != nil {
			return fmt.Errorf("X-Postal-Signature: %v", err)
		}
		return nil
	}
	return fmt.Errorf("no key %q in the JWKS", kid)
}

func (p *postalReceiver) snapshot() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.got...)
}

type webhookCreated struct {
	ID, Secret string
	Enabled    bool
}

func createWebhook(t *testing.T, env map[string]string, args ...string) webhookCreated {
	t.Helper()
	var w webhookCreated
	out := mustRun(t, env, append([]string{"webhook", "create", "--server", "acme/main", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &w); err != nil || w.ID == "" || !strings.HasPrefix(w.Secret, "whsec_") {
		t.Fatalf("webhook create --json: %q (%v)", out, err)
	}
	return w
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tamperProbe is the webhook-id of the requests the test itself sends to probe the verifiers.
const tamperProbe = "msg_tamper_probe"

func idsOf(rs []received) map[string]int {
	m := map[string]int{}
	for _, r := range rs {
		if r.OK && r.ID != tamperProbe {
			m[r.ID]++
		}
	}
	return m
}

// TestWebhooksEndToEnd, on both backends: four subscriptions of one server receive the
// lifecycle's events (delivered, deferred, bounced, held) — one verified by npm
// standardwebhooks, one by a spec-only Python hmac receiver, one by the Go standard-webhooks
// library behind a receiver that refuses connections, answers 500 and times out before it
// accepts, one in Postal's format verified with RSA against /.well-known/jwks.json — plus 410
// Gone disabling a subscription, tampered bodies rejected by every verifier, the per-message
// order, redelivery and replay keeping the webhook-id, a rotated secret, and a test ping.
func TestWebhooksEndToEnd(t *testing.T) {
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
			env["POSTHASTE_WEBHOOK_ALLOW_PRIVATE"] = "true"
			env["POSTHASTE_WEBHOOK_RETRY_INITIAL"] = "100ms"
			env["POSTHASTE_WEBHOOK_TIMEOUT"] = "1s"
			env["POSTHASTE_HTTP_LISTEN"] = freeAddr(t)
			mustRun(t, env, "org", "create", "acme")
			mustRun(t, env, "server", "create", "acme/main")
			mustRun(t, env, "domain", "create", "example.org", "--server", "acme/main", "--skip-verification", "--ed25519")

			// Bad input is refused with a clear error.
			for _, bad := range [][]string{{"--url", "ftp://x.test/"}, {"--url", "https://u:p@x.test/"}, {"--url", "https://x.test/", "--events", "message.nope"},
				{"--url", "https://x.test/", "--format", "xml"}} {
				if _, stderr, code := runBin(t, env, append([]string{"webhook", "create", "--server", "acme/main"}, bad...)...); code == 0 || !strings.Contains(stderr, "invalid") {
					t.Errorf("webhook create %v: exit %d, %q; want refused as invalid", bad, code, stderr)
				}
			}

			// Receivers listen first; each reads its subscription's secret from a file.
			secretDir := t.TempDir()
			nodeRecv := startScriptReceiver(t, "node", filepath.Join(secretDir, "node"))
			pyRecv := startScriptReceiver(t, "python", filepath.Join(secretDir, "python"))
			flaky := newGoReceiver(t) // refuses connections until started
			postal := startPostalReceiver(t, "http://"+env["POSTHASTE_HTTP_LISTEN"]+"/.well-known/jwks.json")
			gone := httptestGone(t)

			nodeW := createWebhook(t, env, "--url", nodeRecv.url)
			os.WriteFile(filepath.Join(secretDir, "node"), []byte(nodeW.Secret), 0o600)
			pyW := createWebhook(t, env, "--url", pyRecv.url, "--events", "all")
			os.WriteFile(filepath.Join(secretDir, "python"), []byte(pyW.Secret), 0o600)
			flakyW := createWebhook(t, env, "--url", "http://"+flaky.addr+"/hook")
			postalW := createWebhook(t, env, "--url", postal.url, "--format", "postal")
			goneW := createWebhook(t, env, "--url", gone.url, "--events", "message.delivered,message.bounced")

			// The --json shapes (frozen: receivers' operators script against them).
			shape := mustRun(t, env, "webhook", "create", "--server", "acme/main", "--url", "https://hooks.example.com/x", "--json")
			wantKeys(t, shape, "created_at enabled events format id secret server url")
			for _, line := range strings.Split(strings.TrimSpace(mustRun(t, env, "webhook", "list", "--server", "acme/main", "--json")), "\n") {
				wantKeys(t, line, "created_at enabled events format id server url")
			}
			var shapeW webhookCreated
			json.Unmarshal([]byte(shape), &shapeW)
			mustRun(t, env, "webhook", "disable", shapeW.ID) // never sent to: it is not a test receiver
			if out := mustRun(t, env, "webhook", "list", "--server", "acme/main"); !strings.Contains(out, "disabled (operator)") {
				t.Errorf("webhook list after disable:\n%s", out)
			}
			// webhook update: flags name what changes; webhook.updated records what differs.
			for _, bad := range [][]string{{}, {"--enable", "--disable"}, {"--format", "xml"}, {"--events", "message.nope"}} {
				if _, stderr, code := runBin(t, env, append([]string{"webhook", "update", shapeW.ID}, bad...)...); code == 0 {
					t.Errorf("webhook update %v: exit 0 (%q), want refused", bad, stderr)
				}
			}
			var upd struct {
				URL, Format string
				Events      []string
				Enabled     bool
				Reason      string `json:"disabled_reason"`
			}
			out := mustRun(t, env, "webhook", "update", shapeW.ID, "--url", "https://hooks.example.com/y", "--events", "message.bounced",
				"--format", "postal", "--json")
			wantKeys(t, out, "created_at disabled_reason enabled events format id server url")
			if err := json.Unmarshal([]byte(out), &upd); err != nil || upd.URL != "https://hooks.example.com/y" || upd.Format != "postal" ||
				len(upd.Events) != 1 || upd.Events[0] != "message.bounced" || upd.Enabled || upd.Reason != "operator" {
				t.Errorf("webhook update --json: %s (%v)", out, err)
			}
			if out := mustRun(t, env, "webhook", "update", shapeW.ID, "--url", "https://hooks.example.com/y"); !strings.HasPrefix(out, "unchanged:") {
				t.Errorf("webhook update to the same URL: %q", out)
			}
			upd = struct {
				URL, Format string
				Events      []string
				Enabled     bool
				Reason      string `json:"disabled_reason"`
			}{}
			out = mustRun(t, env, "webhook", "update", shapeW.ID, "--enable", "--events", "all", "--json")
			if err := json.Unmarshal([]byte(out), &upd); err != nil || !upd.Enabled || upd.Reason != "" || len(upd.Events) != 1 || upd.Events[0] != "all" {
				t.Errorf("webhook update --enable --json: %s (%v)", out, err)
			}
			mustRun(t, env, "webhook", "update", shapeW.ID, "--disable") // still never sent to
			listed := false
			for _, line := range strings.Split(mustRun(t, env, "webhook", "list", "--server", "acme/main"), "\n") {
				if f := strings.Fields(line); len(f) > 0 && f[0] == shapeW.ID {
					listed = strings.Join(f[1:], " ") == "https://hooks.example.com/y postal all disabled (operator)"
				}
			}
			if !listed {
				t.Errorf("webhook list after updates:\n%s", mustRun(t, env, "webhook", "list", "--server", "acme/main"))
			}
			if out := mustRun(t, env, "events", "--type", "webhook.updated", "--json"); strings.Count(out, `"webhook.updated"`) != 3 {
				t.Errorf("webhook.updated events recorded:\n%s", out)
			}

			srv := startServe(t, env)
			from := "alerts@example.org"
			sent := map[string]string{}
			for _, to := range []string{"ok@remote.test", "later@remote.test", "nobody@remote.test"} {
				var r struct {
					MessageIDs []string `json:"message_ids"`
				}
				out := mustRun(t, env, "send-test", to, "--from", from, "--server", "acme/main", "--json")
				json.Unmarshal([]byte(out), &r)
				sent[to] = out
			}
			// nobody@ bounces and is suppressed; a second message to it is held.
			waitFor(t, 60*time.Second, "the bounce of nobody@", func() bool {
				return len(readEvents(t, env, "--type", "message.bounced")) == 1
			})
			waitFor(t, 30*time.Second, "the suppression of nobody@", func() bool {
				return len(readEvents(t, env, "--type", "suppression.added")) == 1
			})
			mustRun(t, env, "send-test", "nobody@remote.test", "--from", from, "--server", "acme/main")
			// Start the flaky receiver only once an attempt on its closed port was recorded, so
			// the refused connection is part of the history however fast the sender is.
			waitFor(t, 90*time.Second, "a refused attempt to the flaky receiver", func() bool {
				return strings.Contains(mustRun(t, env, "webhook", "deliveries", flakyW.ID, "--json"), "refused")
			})
			flaky.start(t, flakyW.Secret)

			// Every subscription of the "all" kind gets delivered ×2, deferred, delivered, bounced, held.
			want := map[string]int{"message.delivered": 2, "message.deferred": 1, "message.bounced": 1, "message.held": 1}
			countTypes := func(rs []received) map[string]int {
				m := map[string]int{}
				seen := map[string]bool{}
				for _, r := range rs {
					if r.OK && !seen[r.ID] {
						seen[r.ID] = true
						m[r.Type]++
					}
				}
				return m
			}
			same := func(a, b map[string]int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
			waitFor(t, 90*time.Second, "every event at the node, python, flaky and postal receivers", func() bool {
				got, _ := flaky.snapshot()
				return same(countTypes(nodeRecv.snapshot()), want) && same(countTypes(pyRecv.snapshot()), want) &&
					same(countTypes(got), want) && len(idsOf(postal.snapshot())) == 5
			})
			for name, rs := range map[string][]received{"node": nodeRecv.snapshot(), "python": pyRecv.snapshot()} {
				for _, r := range rs {
					if !r.OK {
						t.Errorf("%s receiver rejected delivery %s", name, r.ID)
					}
				}
				for id, n := range idsOf(rs) {
					if n != 1 {
						t.Errorf("%s receiver got %s %d times, want once", name, id, n)
					}
				}
			}

			// The receiver answers before the sender records the success: wait for the records.
			waitFor(t, 30*time.Second, "every delivery of the flaky webhook recorded as succeeded", func() bool {
				out := mustRun(t, env, "webhook", "deliveries", flakyW.ID, "--json")
				return strings.Count(out, `"status":"succeeded"`) == 5
			})
			// The failing receiver: refused, 500, timeout, then accepted — each event once.
			got, all := flaky.snapshot()
			for id, n := range idsOf(got) {
				if n != 1 {
					t.Errorf("flaky receiver accepted %s %d times, want once", id, n)
				}
			}
			ndeliveries, sawRefused := 0, false
			for _, line := range strings.Split(strings.TrimSpace(mustRun(t, env, "webhook", "deliveries", flakyW.ID, "--json")), "\n") {
				var d struct {
					ID        string `json:"id"`
					Status    string `json:"status"`
					EventType string `json:"event_type"`
					Attempts  int    `json:"attempts"`
					History   []struct {
						Result     string `json:"result"`
						StatusCode int    `json:"status_code"`
						Error      string `json:"error"`
					} `json:"attempt_history"`
				}
				if err := json.Unmarshal([]byte(line), &d); err != nil {
					t.Fatalf("webhook deliveries --json line %q: %v", line, err)
				}
				ndeliveries++
				if d.Status != "succeeded" || d.Attempts < 3 || len(d.History) != d.Attempts {
					t.Errorf("flaky delivery %s (%s): status %s after %d attempts, %d recorded; want succeeded after >= 3", d.ID, d.EventType, d.Status, d.Attempts, len(d.History))
				}
				var saw500, sawTimeout bool
				for _, h := range d.History {
					sawRefused = sawRefused || strings.Contains(h.Error, "refused")
					saw500 = saw500 || h.StatusCode == 500
					sawTimeout = sawTimeout || strings.Contains(h.Error, "Timeout") || strings.Contains(h.Error, "deadline")
				}
				if !saw500 || !sawTimeout {
					t.Errorf("flaky delivery %s: attempts %+v; want a 500 and a timeout recorded", d.ID, d.History)
				}
			}
			if ndeliveries != 5 {
				t.Errorf("webhook deliveries lists %d deliveries of the flaky webhook, want 5", ndeliveries)
			}
			if !sawRefused {
				t.Errorf("no attempt of the flaky webhook records a refused connection")
			}

			// Per-message order: later@'s deferred reached each receiver before its delivered.
			laterID := ""
			for _, e := range readEvents(t, env, "--type", "message.deferred") {
				laterID = e.StreamID
			}
			checkOrder(t, env, laterID, flakyW.ID, all)

			// Tampered bodies are rejected by every independent verifier.
			orig := all[len(all)-1]
			tampered := bytes.Replace(orig.Body, []byte(`"type":"message.`), []byte(`"type":"massage.`), 1)
			if bytes.Equal(tampered, orig.Body) {
				t.Fatalf("could not tamper with %s", orig.Body)
			}
			wh, _ := standardwebhooks.NewWebhook(flakyW.Secret)
			if wh.Verify(orig.Body, orig.Header) != nil || wh.Verify(tampered, orig.Header) == nil {
				t.Errorf("Go standard-webhooks: original must verify and the tampered body must not")
			}
			// The script receivers: a request signed for their secret by the Go library is accepted
			// as sent and rejected with the body tampered.
			for sr, secret := range map[*scriptReceiver]string{nodeRecv: nodeW.Secret, pyRecv: pyW.Secret} {
				w, _ := standardwebhooks.NewWebhook(secret)
				now := time.Now()
				sig, err := w.Sign(tamperProbe, now, orig.Body)
				if err != nil {
					t.Fatal(err)
				}
				for body, wantCode := range map[string]int{string(orig.Body): http.StatusNoContent, string(tampered): http.StatusBadRequest} {
					req, _ := http.NewRequest("POST", sr.url, strings.NewReader(body))
					req.Header.Set("webhook-id", tamperProbe)
					req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
					req.Header.Set("webhook-signature", sig)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != wantCode {
						t.Errorf("%s receiver answered %d to a %d-expected probe (tampered: %v)", sr.name, resp.StatusCode, wantCode, body != string(orig.Body))
					}
				}
			}

			// Postal format: the Postal event names for the lifecycle's events.
			pnames := map[string]int{}
			for _, r := range postal.snapshot() {
				pnames[r.Type]++
				var env struct {
					Payload map[string]any `json:"payload"`
				}
				json.Unmarshal(r.Body, &env)
				if r.Type == "MessageSent" {
					msg, _ := env.Payload["message"].(map[string]any)
					if env.Payload["status"] != "Sent" || msg == nil || msg["to"] == nil || msg["direction"] != "outgoing" {
						t.Errorf("postal MessageSent payload %s", r.Body)
					}
				}
			}
			if fmt.Sprint(pnames) != fmt.Sprint(map[string]int{"MessageDelayed": 1, "MessageDeliveryFailed": 1, "MessageHeld": 1, "MessageSent": 2}) {
				t.Errorf("postal events %v", pnames)
			}

			// 410 Gone disabled its subscription (recorded as an event by the system).
			waitFor(t, 30*time.Second, "the 410 receiver's subscription disabled", func() bool {
				return strings.Contains(mustRun(t, env, "webhook", "list", "--server", "acme/main"), "410 Gone")
			})
			var bySystem []eventLine
			for _, e := range readEvents(t, env, "--type", "webhook.disabled") {
				if e.Actor.Type == "system" {
					bySystem = append(bySystem, e)
				}
			}
			if len(bySystem) != 1 || bySystem[0].StreamID != goneW.ID {
				t.Errorf("webhook.disabled events by the system %+v; want one, for %s", bySystem, goneW.ID)
			}

			// Redelivery keeps the webhook-id.
			first := nodeRecv.snapshot()[0]
			mustRun(t, env, "webhook", "redeliver", first.ID)
			waitFor(t, 30*time.Second, "the redelivery at the node receiver", func() bool { return idsOf(nodeRecv.snapshot())[first.ID] == 2 })

			// A test ping reaches the node receiver, verified.
			mustRun(t, env, "webhook", "test", nodeW.ID)
			waitFor(t, 30*time.Second, "the ping", func() bool {
				for _, r := range nodeRecv.snapshot() {
					if r.Type == "webhook.test" && r.OK {
						return true
					}
				}
				return false
			})

			// Rotate the python subscription's secret, then replay: the receiver still holding the
			// old secret verifies (two signatures during the grace period), with the same ids.
			var rot webhookCreated
			json.Unmarshal([]byte(mustRun(t, env, "webhook", "rotate-secret", pyW.ID, "--json")), &rot)
			if !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == pyW.Secret {
				t.Fatalf("rotate-secret gave %q", rot.Secret)
			}
			before := idsOf(pyRecv.snapshot())
			replayed := mustRun(t, env, "webhook", "replay", pyW.ID, "--since", "-1h", "--json")
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("replay: %s\ndeliveries:\n%s", replayed, mustRun(t, env, "webhook", "deliveries", pyW.ID))
				}
			})
			waitFor(t, 30*time.Second, "the replay at the python receiver", func() bool {
				after := idsOf(pyRecv.snapshot())
				for id := range before {
					if after[id] != 2 {
						return false
					}
				}
				return len(after) == len(before)
			})
			for _, r := range pyRecv.snapshot() {
				if !r.OK && r.ID != tamperProbe {
					t.Errorf("python receiver rejected %s after the rotation", r.ID)
				}
			}
			// /metrics: this process's attempts by result (the flaky and the 410 receivers failed
			// some), the subscription a 410 disabled, the pending backlog and its oldest age.
			_, metrics := httpGet(srv.http + "/metrics")
			for _, m := range []string{`posthaste_webhook_attempts_total\{result="succeeded"\} [1-9]`, `posthaste_webhook_attempts_total\{result="failed"\} [1-9]`,
				`(?m)^posthaste_webhook_subscriptions_disabled_gone 1$`,
				`(?m)^posthaste_webhook_deliveries_pending [0-9]+$`, `(?m)^posthaste_webhook_oldest_pending_age_seconds [0-9.e+-]+$`,
				`posthaste_webhook_attempt_seconds_count [1-9]`} {
				if !regexp.MustCompile(m).MatchString(metrics) {
					t.Errorf("/metrics lacks %s", m)
				}
			}
			if code := srv.stop(t); code != 0 {
				t.Errorf("serve exit status %d after SIGTERM", code)
			}
			_ = postalW
		})
	}
}

// checkOrder: for one subscription, the first attempt of a message's later event came only after
// its earlier event was accepted.
func checkOrder(t *testing.T, env map[string]string, messageID, webhookID string, all []received) {
	t.Helper()
	var deferredOK, deliveredFirst = -1, -1
	tries := map[string]int{}
	for i, r := range all {
		var p struct {
			Type string
			Data struct {
				MessageID string `json:"message_id"`
			}
		}
		json.Unmarshal(r.Body, &p)
		if p.Data.MessageID != messageID {
			continue
		}
		tries[r.ID]++
		if p.Type == "message.deferred" && tries[r.ID] == 3 {
			deferredOK = i
		}
		if p.Type == "message.delivered" && deliveredFirst < 0 {
			deliveredFirst = i
		}
	}
	if deferredOK < 0 || deliveredFirst < 0 || deliveredFirst < deferredOK {
		t.Errorf("message %s at webhook %s: delivered first sent at request %d, deferred accepted at %d; want after", messageID, webhookID, deliveredFirst, deferredOK)
	}
}

type goneReceiver struct{ url string }

func httptestGone(t *testing.T) goneReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "this endpoint is gone", http.StatusGone)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return goneReceiver{url: "http://" + ln.Addr().String() + "/gone"}
}

// wantKeys checks that a JSON object has exactly the given top-level keys (space-separated, sorted).
func wantKeys(t *testing.T, line, keys string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("not a JSON object: %q: %v", line, err)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != keys {
		t.Errorf("JSON keys %q, want %q (in %s)", strings.Join(got, " "), keys, line)
	}
}
