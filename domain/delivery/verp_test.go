package delivery_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/domain/delivery"
)

func TestVERPRoundTrip(t *testing.T) {
	ids := []string{"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "Mixed.Case+id@x", "plain-id"}
	seen := map[string]string{}
	for _, id := range ids {
		rp, err := delivery.EncodeReturnPath(id, "RP.Example.NET")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(rp, "@rp.example.net") || strings.Count(rp, "@") != 1 {
			t.Fatalf("return path %q", rp)
		}
		if prev, dup := seen[strings.ToLower(rp)]; dup {
			t.Fatalf("%q and %q share return path %q", prev, id, rp)
		}
		seen[strings.ToLower(rp)] = id
		for _, variant := range []string{rp, strings.ToUpper(rp), "<" + rp + ">"} {
			got, err := delivery.DecodeReturnPath(variant, "rp.example.net")
			if err != nil || got != id {
				t.Fatalf("decode %q = %q, %v; want %q", variant, got, err, id)
			}
		}
	}
	if rp, _ := delivery.EncodeReturnPath(ids[0], "rp.example.net"); rp != "b+"+ids[0]+"@rp.example.net" {
		t.Fatalf("uuid return path %q", rp)
	}
}

func TestVERPRefusesForeignAddresses(t *testing.T) {
	for _, a := range []string{
		"b+0193a1b2@other.example", "user@rp.example.net", "b+@rp.example.net", "b=@rp.example.net",
		"b=" + "mfrggzdf" + "@rp.example.net", // base32 of "abcde": must use the plain form, so refused
		"noat",
	} {
		if id, err := delivery.DecodeReturnPath(a, "rp.example.net"); !errors.Is(err, delivery.ErrNotVERP) {
			t.Errorf("DecodeReturnPath(%q) = %q, %v; want ErrNotVERP", a, id, err)
		}
	}
	if _, err := delivery.EncodeReturnPath(strings.Repeat("a", 63), "rp.example.net"); err == nil {
		t.Fatal("over-long local part accepted")
	}
	if _, err := delivery.EncodeReturnPath("id", ""); err == nil {
		t.Fatal("empty domain accepted")
	}
}
