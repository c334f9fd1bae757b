package kdf_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/kdf"
)

func TestHashVerify(t *testing.T) {
	h, err := kdf.New(kdf.Params{MemoryKiB: 1024, Passes: 1, Lanes: 1, SaltLen: 16, KeyLen: 32}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a, "$argon2id$v=19$m=1024,t=1,p=1$") || strings.Contains(a, "horse") {
		t.Fatalf("hash %q: not a PHC argon2id string or leaks the password", a)
	}
	b, _ := h.Hash("correct horse battery staple")
	if a == b {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	for pw, want := range map[string]bool{"correct horse battery staple": true, "correct horse battery stapl": false, "": false} {
		ok, err := h.Verify(a, pw)
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	// Hashes made with other parameters still verify (parameters travel in the string).
	strong, _ := kdf.New(kdf.DefaultParams, rand.Reader)
	if ok, err := strong.Verify(a, "correct horse battery staple"); !ok || err != nil {
		t.Errorf("verify with other default params: %v %v", ok, err)
	}
	if _, err := h.Verify("$2y$10$abcdefghijklmnopqrstuv", "x"); err == nil {
		t.Error("bcrypt string accepted as argon2id")
	}
}

func TestNewRefusesBadWiring(t *testing.T) {
	if _, err := kdf.New(kdf.DefaultParams, nil); err == nil {
		t.Error("nil rand accepted")
	}
	if _, err := kdf.New(kdf.Params{MemoryKiB: 1024, Passes: 0, Lanes: 1, SaltLen: 16, KeyLen: 32}, rand.Reader); err == nil {
		t.Error("zero passes accepted")
	}
}
