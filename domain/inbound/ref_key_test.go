package inbound_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/posthaste/posthaste/domain/inbound"
)

// TestRefKeyDerivation pins the derivation: HMAC-SHA256 of the label under the server secret,
// byte for byte what serve derived before the policy moved here (references in mail already
// sent keep verifying).
func TestRefKeyDerivation(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("posthaste inbound reference key v1"))
	want := h.Sum(nil)
	got := inbound.RefKey(secret)
	if !hmac.Equal(got, want) {
		t.Fatalf("RefKey = %x, want %x", got, want)
	}
	// The same bytes, frozen: a changed label or hash would stop old references verifying.
	if g := hex.EncodeToString(got); g != "d15ae467bbf7b681a0b0f214d5853b0d58170a5d499d31c83ba5e9bc05acddb6" {
		t.Fatalf("RefKey = %s, no longer the frozen derivation", g)
	}
	if inbound.RefKey(nil) != nil || inbound.RefMaker(nil) != nil {
		t.Error("no secret should derive no key and no maker")
	}
	mk := inbound.RefMaker(got)
	v := mk("0195f0a0-0000-7000-8000-000000000001")
	if id, ok := inbound.VerifyRef(got, v); !ok || id != "0195f0a0-0000-7000-8000-000000000001" {
		t.Errorf("maker's reference %q does not verify: %q %v", v, id, ok)
	}
	if _, ok := inbound.VerifyRef(inbound.RefKey([]byte("another secret")), v); ok {
		t.Error("a reference verifies under another secret's key")
	}
}
