package webhook_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
)

// The 3-day curve on a fake clock: attempts keep coming for at least 72 h, the waits grow
// exponentially up to the cap, jitter stays within ±20 %, and the delivery dies only after 3 days.
func TestScheduleCoversThreeDays(t *testing.T) {
	s := webhook.DefaultSchedule
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, u := range []float64{0, 0.5, 0.999} {
		first := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
		now := first
		var waits []time.Duration
		for n := 1; ; n++ {
			next, dead := s.Next(n, first, now, u)
			if dead {
				if now.Sub(first) < 72*time.Hour {
					t.Fatalf("u=%v: dead after %v (%d attempts), before 3 days", u, now.Sub(first), n)
				}
				if now.Sub(first) > 72*time.Hour+s.MaxWait+s.MaxWait/5 {
					t.Fatalf("u=%v: still retrying at %v", u, now.Sub(first))
				}
				if n < 15 {
					t.Errorf("u=%v: only %d attempts", u, n)
				}
				break
			}
			w := next.Sub(now)
			waits = append(waits, w)
			now = next
		}
		lo, hi := 1-s.Jitter, 1+s.Jitter
		if base := float64(30 * time.Second); float64(waits[0]) < base*lo || float64(waits[0]) > base*hi {
			t.Errorf("u=%v: first wait %v outside 30s±20%%", u, waits[0])
		}
		if float64(waits[3]) < float64(240*time.Second)*lo || float64(waits[3]) > float64(240*time.Second)*hi {
			t.Errorf("u=%v: fourth wait %v, want 4m±20%% (doubling)", u, waits[3])
		}
		last := waits[len(waits)-1]
		if float64(last) > float64(6*time.Hour)*hi || float64(last) < float64(6*time.Hour)*lo {
			t.Errorf("u=%v: last wait %v, want the 6h cap ±20%%", u, last)
		}
	}
	if s.Wait(3, 0) == s.Wait(3, 0.99) {
		t.Error("jitter has no effect")
	}
}

func TestScheduleValidate(t *testing.T) {
	if (webhook.Schedule{}).Validate() == nil {
		t.Error("zero schedule accepted")
	}
}

// Signatures check with independent implementations: the Go standard-webhooks library and the
// spec written out with crypto/hmac; two secrets during a rotation both verify.
func TestSignatureVerifiesIndependently(t *testing.T) {
	secret1, _ := webhook.NewSecret(bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	secret2, _ := webhook.NewSecret(bytes.NewReader(bytes.Repeat([]byte{2}, 32)))
	if !strings.HasPrefix(secret1, "whsec_") || len(secret1) != len("whsec_")+44 {
		t.Fatalf("secret %q", secret1)
	}
	k1, _ := webhook.SecretKey(secret1)
	k2, _ := webhook.SecretKey(secret2)
	body := []byte(`{"type":"message.delivered","data":{}}`)
	now := time.Now()
	sig := webhook.Signature([][]byte{k1, k2}, "msg_1", now, body)
	if strings.Count(sig, "v1,") != 2 || strings.Count(sig, " ") != 1 {
		t.Fatalf("signature header %q", sig)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	for _, s := range []string{secret1, secret2} {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("standard-webhooks rejects a valid signature: %v", err)
		}
		if wh.Verify(append(body, ' '), h) == nil {
			t.Error("standard-webhooks accepts a tampered body")
		}
	}
	// The spec by hand.
	mac := hmac.New(sha256.New, k1)
	mac.Write([]byte("msg_1." + strconv.FormatInt(now.Unix(), 10) + "."))
	mac.Write(body)
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); strings.Split(sig, " ")[0] != want {
		t.Errorf("first signature %q, spec says %q", strings.Split(sig, " ")[0], want)
	}
}

func TestValidateURL(t *testing.T) {
	for _, ok := range []string{"https://hooks.example.com/x?y=1", "http://127.0.0.1:8080/"} {
		if err := webhook.ValidateURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"ftp://x/", "https://user:pw@x/", "https:///nohost", "x", "https://x/#frag", "javascript:alert(1)"} {
		if err := webhook.ValidateURL(bad); !errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("%s accepted (%v)", bad, err)
		}
	}
}

func TestForbiddenAddr(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "fd00::1", "169.254.169.254",
		"fe80::1", "100.64.0.1", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "255.255.255.255"} {
		if webhook.ForbiddenAddr(netip.MustParseAddr(a)) == "" {
			t.Errorf("%s allowed", a)
		}
	}
	for _, a := range []string{"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8", "100.128.0.1"} {
		if why := webhook.ForbiddenAddr(netip.MustParseAddr(a)); why != "" {
			t.Errorf("%s refused: %s", a, why)
		}
	}
}

// The projection and the domain agree on what is offered.
func TestOfferedListsAgree(t *testing.T) {
	// The subscription commands and the queue that enqueues deliveries both read the offer
	// catalogue (events/webhook_offers.go); the Postal format names exactly what it offers.
	for _, name := range events.Types() {
		if webhook.IsOffered(name) != events.WebhookOfferedTo(name, webhook.FormatStandard) {
			t.Errorf("%s: domain offers %v, catalogue %v", name, webhook.IsOffered(name), events.WebhookOfferedTo(name, webhook.FormatStandard))
		}
		env := events.Envelope{Type: name, Payload: json.RawMessage(`{}`)}
		if events.WebhookOfferedTo(name, webhook.FormatPostal) != (webhook.PostalEventName(env) != "") {
			t.Errorf("%s: postal offered by the catalogue %v, Postal name %q", name, events.WebhookOfferedTo(name, webhook.FormatPostal), webhook.PostalEventName(env))
		}
	}
	if webhook.FormatStandard != events.WebhookFormatStandard || webhook.FormatPostal != events.WebhookFormatPostal {
		t.Errorf("format names differ: domain %q/%q, catalogue %q/%q", webhook.FormatStandard, webhook.FormatPostal,
			events.WebhookFormatStandard, events.WebhookFormatPostal)
	}
}

type memSecrets struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memSecrets) PutSecret(_ context.Context, id, _ string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[id]; ok {
		return errors.New("exists")
	}
	s.m[id] = append([]byte(nil), v...)
	return nil
}

func (s *memSecrets) GetSecret(_ context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	if !ok {
		return nil, tenancy.ErrSecretNotFound
	}
	return v, nil
}

// Postal signatures verify with crypto/rsa against the key published in the JWKS, and the
// key is generated once and then reused.
func TestPostalSignatureAgainstJWKS(t *testing.T) {
	sec := &memSecrets{m: map[string][]byte{}}
	ctx := context.Background()
	k, err := webhook.LoadPostalKey(ctx, sec, testRand{})
	if err != nil {
		t.Fatal(err)
	}
	k2, err := webhook.LoadPostalKey(ctx, sec, testRand{})
	if err != nil || k2.KID != k.KID {
		t.Fatalf("second load gave another key: %v", err)
	}
	var set struct {
		Keys []struct{ Kty, Kid, Alg, N, E string }
	}
	if err := json.Unmarshal(webhook.JWKS(k), &set); err != nil || len(set.Keys) != 1 || set.Keys[0].Kid != k.KID {
		t.Fatalf("jwks %s: %v", webhook.JWKS(k), err)
	}
	n, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].N)
	e, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	body := []byte(`{"event":"MessageSent"}`)
	_, s256, err := webhook.SignPostal(k, body)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(s256)
	d := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
		t.Errorf("X-Postal-Signature-256 does not verify against the JWKS: %v", err)
	}
	d2 := sha256.Sum256(append(body, ' '))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, d2[:], sig) == nil {
		t.Error("tampered body verifies")
	}
}

type testRand struct{}

func (testRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*7 + 3)
	}
	return len(p), nil
}
