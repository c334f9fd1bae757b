package tenancy_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

// recordingCrypto signs by prepending one line per key and remembers the keys it was given.
type recordingCrypto struct {
	mu    sync.Mutex
	calls [][]tenancy.KeyMaterial
}

func (r *recordingCrypto) Sign(keys []tenancy.KeyMaterial, body []byte) ([]byte, []events.DKIMSignature, error) {
	r.mu.Lock()
	r.calls = append(r.calls, keys)
	r.mu.Unlock()
	var out bytes.Buffer
	var sigs []events.DKIMSignature
	for _, k := range keys {
		out.WriteString("DKIM-Signature: d=" + k.Domain + "; s=" + k.Selector + "\r\n")
		sigs = append(sigs, events.DKIMSignature{Domain: k.Domain, Selector: k.Selector, Algorithm: k.Algorithm})
	}
	out.Write(body)
	return out.Bytes(), sigs, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestDKIMSignerRefusesMissingParts(t *testing.T) {
	if _, err := tenancy.NewDKIMSigner(nil, nil); err == nil || !strings.Contains(err.Error(), "handlers are nil") || !strings.Contains(err.Error(), "dkim crypto is nil") {
		t.Errorf("NewDKIMSigner(nil, nil) = %v; want both problems listed", err)
	}
	h, err := tenancy.NewHandlers(tenancy.Deps{Store: newMemStore(t), Clock: time.Now, Rand: seeded()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tenancy.NewDKIMSigner(h, &recordingCrypto{}); err == nil || !strings.Contains(err.Error(), "no secret store") {
		t.Errorf("without a secret store: %v", err)
	}
}

// TestDKIMKeySelection: the active keys of the From domain sign for the domain's own server; a
// domain of another server, an unknown or malformed domain leave the message unsigned; a pending
// key signs only once DNS shows it, and the choice is cached for the TTL.
func TestDKIMKeySelection(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: pinned}
	store, secrets := newMemStore(t), &memSecrets{m: map[string][]byte{}}
	dns := &zoneResolver{txt: map[string][]string{}, cname: map[string]string{}, mx: map[string][]tenancy.MX{}, fail: map[string]error{}}
	h, err := tenancy.NewHandlers(tenancy.Deps{Store: store, Clock: clk.now, Rand: seeded(), Secrets: secrets, Resolver: dns, DNS: dnsCfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.CreateOrg(ctx, tenancy.CreateOrg{Name: "acme", Actor: cli}); err != nil {
		t.Fatal(err)
	}
	a, b := tenancy.ServerRef{Org: "acme", Name: "a"}, tenancy.ServerRef{Org: "acme", Name: "b"}
	for _, ref := range []tenancy.ServerRef{a, b} {
		if _, err := h.CreateServer(ctx, tenancy.CreateServer{Ref: ref, Actor: cli}); err != nil {
			t.Fatal(err)
		}
	}
	dom, err := h.AddDomain(ctx, tenancy.AddDomain{Domain: "mail.example", Server: a, Ed25519: true, SkipVerification: true, Actor: cli})
	if err != nil {
		t.Fatal(err)
	}
	crypto := &recordingCrypto{}
	s, err := tenancy.NewDKIMSigner(h, crypto)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("From: x@mail.example\r\n\r\nhi\r\n")

	keys, err := s.SigningKeys(ctx, a.ID(), "mail.example")
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys of the domain's server = %+v, %v; want its two active keys", keys, err)
	}
	for i, k := range keys {
		want := dom.Keys[i]
		if k.Domain != "mail.example" || k.Selector != want.Selector || k.Algorithm != want.Algorithm || k.SecretID != want.SecretID {
			t.Errorf("key %d = %+v; want %+v", i, k, want)
		}
		if stored, _ := secrets.GetSecret(ctx, want.SecretID); !bytes.Equal(k.Private, stored) || len(k.Private) == 0 {
			t.Errorf("key %d: private bytes are not the stored secret", i)
		}
	}
	signed, sigs, err := s.Sign(ctx, a.ID(), "mail.example", body)
	if err != nil || len(sigs) != 2 || !bytes.HasPrefix(signed, []byte("DKIM-Signature: d=mail.example")) {
		t.Fatalf("Sign = %q, %+v, %v", signed, sigs, err)
	}

	for _, c := range []struct{ server, domain string }{{b.ID(), "mail.example"}, {a.ID(), "unknown.example"}, {a.ID(), ""}, {a.ID(), "not a domain"}} {
		n := len(crypto.calls)
		out, sigs, err := s.Sign(ctx, c.server, c.domain, body)
		if err != nil || sigs != nil || !bytes.Equal(out, body) || len(crypto.calls) != n {
			t.Errorf("%s From %q: signed %q, %v, %v; want the body unchanged, unsigned", c.server, c.domain, out, sigs, err)
		}
	}

	// A rotation publishes a pending key: it does not sign, even after the cache expired.
	_, pending, err := h.RotateDKIM(ctx, tenancy.RotateDKIM{Domain: "mail.example", Actor: cli})
	if err != nil {
		t.Fatal(err)
	}
	clk.add(tenancy.DKIMKeyCacheTTL + time.Second)
	if keys, _ := s.SigningKeys(ctx, a.ID(), "mail.example"); len(keys) != 2 || keys[0].Selector == pending.Selector || keys[1].Selector == pending.Selector {
		t.Fatalf("a pending key signs: %+v", keys)
	}
	// DNS shows the new key: the check activates it; the cached choice holds until the TTL.
	for _, r := range tenancy.DNSRecords(mustDomain(t, h, "mail.example"), dnsCfg) {
		if r.Type == "TXT" {
			dns.txt[r.Name] = append(dns.txt[r.Name], r.Value)
		}
	}
	if _, err := h.CheckDomainDNS(ctx, tenancy.CheckDomainDNS{Domain: "mail.example", Actor: cli}); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.SigningKeys(ctx, a.ID(), "mail.example"); hasSelector(keys, pending.Selector) {
		t.Error("the cached choice changed before the TTL")
	}
	clk.add(tenancy.DKIMKeyCacheTTL)
	keys, err = s.SigningKeys(ctx, a.ID(), "mail.example")
	if err != nil || len(keys) != 2 || !hasSelector(keys, pending.Selector) {
		t.Fatalf("after the TTL the rotated key signs: %+v, %v", keys, err)
	}

	// A key whose secret is gone is an error, never an unsigned message.
	s.SetCacheTTL(0)
	for _, k := range keys {
		if err := secrets.DeleteSecret(ctx, k.SecretID); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Sign(ctx, a.ID(), "mail.example", body); err == nil {
		t.Error("signing with a missing secret succeeded")
	}
}

func mustDomain(t *testing.T, h *tenancy.Handlers, name string) tenancy.SendingDomain {
	t.Helper()
	d, err := h.GetDomain(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func hasSelector(keys []tenancy.KeyMaterial, sel string) bool {
	for _, k := range keys {
		if k.Selector == sel {
			return true
		}
	}
	return false
}

// TestSuppressionPolicyDefaults: a server's own settings, the defaults of every new server for an
// unknown one, an error for a malformed id.
func TestSuppressionPolicyDefaults(t *testing.T) {
	f := newFixture(t)
	ref := f.withServer(t)
	ctx := context.Background()
	if hard, spam, err := f.h.SuppressionPolicy(ctx, ref.ID()); err != nil || !hard || !spam {
		t.Errorf("new server: %v %v %v; want both on", hard, spam, err)
	}
	if hard, spam, err := f.h.SuppressionPolicy(ctx, "acme/gone"); err != nil || hard != tenancy.DefaultSuppressOnHard || spam != tenancy.DefaultSuppressOnComplaint {
		t.Errorf("unknown server: %v %v %v; want the defaults", hard, spam, err)
	}
	if _, _, err := f.h.SuppressionPolicy(ctx, "no-slash"); err == nil {
		t.Error("a malformed server id gave no error")
	}
}
