// Package secretstoretest is the acceptance suite of the tenancy.SecretStore port, run against
// every implementation (MariaDB, SQLite). It is for tests only.
package secretstoretest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// Run checks the SecretStore contract on stores made by newStore (each call a fresh, empty
// store). sealedValue, if not nil, returns the bytes stored for id in the database, so the
// suite can check that the plaintext is not among them.
func Run(t *testing.T, newStore func(t *testing.T) tenancy.SecretStore, sealedValue func(t *testing.T, id string) []byte) {
	ctx := context.Background()
	t.Run("round trip", func(t *testing.T) {
		s := newStore(t)
		val := []byte("-----BEGIN PRIVATE KEY----- 0123456789")
		if err := s.PutSecret(ctx, "k1", tenancy.SecretKindDKIM, val); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSecret(ctx, "k1")
		if err != nil || !bytes.Equal(got, val) {
			t.Fatalf("get = %q, %v", got, err)
		}
		if sealedValue != nil {
			if raw := sealedValue(t, "k1"); bytes.Contains(raw, val[:16]) {
				t.Fatal("the plaintext is stored in the database")
			}
		}
		empty := []byte{}
		if err := s.PutSecret(ctx, "empty", "test", empty); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetSecret(ctx, "empty"); err != nil || len(got) != 0 {
			t.Fatalf("empty value = %q, %v", got, err)
		}
	})
	t.Run("existing id keeps its value", func(t *testing.T) {
		s := newStore(t)
		if err := s.PutSecret(ctx, "k1", "test", []byte("first")); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSecret(ctx, "k1", "test", []byte("second")); err == nil {
			t.Fatal("second put of one id succeeded")
		}
		if got, _ := s.GetSecret(ctx, "k1"); string(got) != "first" {
			t.Fatalf("value = %q, want first", got)
		}
	})
	t.Run("not found and delete", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.GetSecret(ctx, "nope"); !errors.Is(err, tenancy.ErrSecretNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
		if err := s.PutSecret(ctx, "k1", "test", []byte("v")); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSecret(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSecret(ctx, "k1"); !errors.Is(err, tenancy.ErrSecretNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if err := s.DeleteSecret(ctx, "k1"); err != nil {
			t.Fatalf("deleting an unknown id: %v", err)
		}
	})
}
