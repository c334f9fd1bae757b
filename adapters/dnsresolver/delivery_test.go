package dnsresolver_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/dnsresolver"
	"github.com/posthaste/posthaste/adapters/dnsresolver/dnstest"
)

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// The delivery lookups tell a domain that does not exist from one without MX records, and
// a cached resolver asks the server once per TTL.
func TestDeliveryLookupsAnswerAndCache(t *testing.T) {
	zone := dnstest.New(t,
		"example.com. 60 IN MX 10 mx.example.com.",
		"mx.example.com. 60 IN A 192.0.2.1",
		"mx.example.com. 60 IN AAAA 2001:db8::1",
		"nomx.example. 60 IN A 192.0.2.2",
		"nomail.example. 60 IN MX 0 .",
	)
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	r, err := dnsresolver.New(zone.Addr, "", time.Second, dnsresolver.WithCache(), dnsresolver.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mxs, err := r.MailExchangers(ctx, "Example.COM")
	if err != nil || len(mxs) != 1 || mxs[0].Host != "mx.example.com" || mxs[0].Pref != 10 {
		t.Fatalf("mx %+v, %v", mxs, err)
	}
	ips, err := r.HostAddresses(ctx, "mx.example.com")
	if err != nil || !reflect.DeepEqual(ips, []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}) {
		t.Fatalf("ips %v, %v", ips, err)
	}
	if mxs, err := r.MailExchangers(ctx, "nomx.example"); err != nil || len(mxs) != 0 {
		t.Fatalf("domain without MX: %v, %v", mxs, err)
	}
	if mxs, err := r.MailExchangers(ctx, "nomail.example"); err != nil || len(mxs) != 1 || mxs[0].Host != "." {
		t.Fatalf("null MX: %v, %v", mxs, err)
	}
	if _, err := r.MailExchangers(ctx, "missing.example"); !isNotFound(err) {
		t.Fatalf("missing domain: %v", err)
	}
	if _, err := r.HostAddresses(ctx, "missing.example"); !isNotFound(err) {
		t.Fatalf("missing host: %v", err)
	}
	count := func(q string) int {
		n := 0
		for _, x := range zone.Queries() {
			if x == q {
				n++
			}
		}
		return n
	}
	r.MailExchangers(ctx, "example.com")
	r.MailExchangers(ctx, "missing.example")
	if count("example.com. MX") != 1 || count("missing.example. MX") != 1 {
		t.Fatalf("cache not used: %s", strings.Join(zone.Queries(), ", "))
	}
	now = now.Add(61 * time.Second) // past the 60 s TTL and the negative TTL
	r.MailExchangers(ctx, "example.com")
	r.MailExchangers(ctx, "missing.example")
	if count("example.com. MX") != 2 || count("missing.example. MX") != 2 {
		t.Fatalf("cache outlived the TTL: %s", strings.Join(zone.Queries(), ", "))
	}
	if _, err := dnsresolver.New("no-port", "", 0); err == nil {
		t.Fatal("resolver address without port accepted")
	}
	if _, err := dnsresolver.New(zone.Addr, "", 0, dnsresolver.WithClock(nil)); err == nil {
		t.Fatal("nil clock accepted")
	}
}

// Without WithCache every lookup asks the server (verification sees what is published now),
// and a failed lookup is never kept.
func TestNoCacheByDefaultAndFailuresNotKept(t *testing.T) {
	zone := dnstest.New(t, "example.com. 300 IN MX 10 mx.example.com.")
	zone.Fail("broken.example.")
	plain, err := dnsresolver.New(zone.Addr, "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cached, err := dnsresolver.New(zone.Addr, "", time.Second, dnsresolver.WithCache())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		plain.LookupMX(ctx, "example.com")
		if _, err := cached.MailExchangers(ctx, "broken.example"); err == nil || isNotFound(err) || !strings.Contains(err.Error(), "SERVFAIL") {
			t.Fatalf("SERVFAIL: %v", err)
		}
	}
	n := map[string]int{}
	for _, q := range zone.Queries() {
		n[q]++
	}
	if n["example.com. MX"] != 2 || n["broken.example. MX"] != 2 {
		t.Fatalf("queries %v", zone.Queries())
	}
}

// TLSA records come decoded, with the AD bit of the answer: set by a validating resolver for
// a signed zone, clear otherwise.
func TestLookupTLSA(t *testing.T) {
	zone := dnstest.New(t,
		"_25._tcp.mx.signed.example. 300 IN TLSA 3 1 1 0b9fa5a59eed715c26c1020c711b4f6ec42d58b0015e14337a39dad301c5afc3",
		"_25._tcp.mx.signed.example. 300 IN TLSA 2 0 2 00ff",
		"_25._tcp.mx.plain.example. 300 IN TLSA 3 1 1 0b9fa5a59eed715c26c1020c711b4f6ec42d58b0015e14337a39dad301c5afc3",
		"mx.signed.example. 300 IN A 192.0.2.1",
	)
	zone.Secure("_25._tcp.mx.signed.example.")
	zone.Secure("_25._tcp.mx.none.example.")
	r, err := dnsresolver.New(zone.Addr, "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := r.LookupTLSA(ctx, "_25._tcp.mx.signed.example")
	if err != nil || !a.Authenticated || len(a.Records) != 2 {
		t.Fatalf("signed TLSA %+v, %v", a, err)
	}
	want := dnsresolver.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: []byte{
		0x0b, 0x9f, 0xa5, 0xa5, 0x9e, 0xed, 0x71, 0x5c, 0x26, 0xc1, 0x02, 0x0c, 0x71, 0x1b, 0x4f, 0x6e,
		0xc4, 0x2d, 0x58, 0xb0, 0x01, 0x5e, 0x14, 0x33, 0x7a, 0x39, 0xda, 0xd3, 0x01, 0xc5, 0xaf, 0xc3}}
	if !reflect.DeepEqual(a.Records[0], want) || !reflect.DeepEqual(a.Records[1], dnsresolver.TLSA{Usage: 2, Selector: 0, MatchingType: 2, Data: []byte{0x00, 0xff}}) {
		t.Fatalf("records %+v", a.Records)
	}
	if a, err := r.LookupTLSA(ctx, "_25._tcp.mx.plain.example"); err != nil || a.Authenticated || len(a.Records) != 1 {
		t.Fatalf("unsigned TLSA %+v, %v", a, err)
	}
	if a, err := r.LookupTLSA(ctx, "_25._tcp.mx.none.example"); err != nil || !a.Authenticated || len(a.Records) != 0 {
		t.Fatalf("authenticated denial %+v, %v", a, err)
	}
	zone.Fail("_25._tcp.mx.broken.example.")
	if _, err := r.LookupTLSA(ctx, "_25._tcp.mx.broken.example"); err == nil {
		t.Fatal("SERVFAIL gave no error")
	}
}
