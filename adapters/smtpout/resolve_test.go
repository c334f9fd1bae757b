package smtpout_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/smtpout"
	"github.com/posthaste/posthaste/adapters/smtpout/dnszonetest"
)

func TestDNSResolverAnswersAndCaches(t *testing.T) {
	zone := dnszonetest.New(t,
		"example.com. 60 IN MX 10 mx.example.com.",
		"mx.example.com. 60 IN A 192.0.2.1",
		"mx.example.com. 60 IN AAAA 2001:db8::1",
		"nomx.example. 60 IN A 192.0.2.2",
	)
	r, err := smtpout.NewDNSResolver(zone.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	r.SetClock(func() time.Time { return now })
	ctx := context.Background()
	mxs, err := r.LookupMX(ctx, "Example.COM")
	if err != nil || len(mxs) != 1 || mxs[0].Host != "mx.example.com" || mxs[0].Pref != 10 {
		t.Fatalf("mx %+v, %v", mxs, err)
	}
	ips, err := r.LookupIP(ctx, "mx.example.com")
	if err != nil || len(ips) != 2 {
		t.Fatalf("ips %v, %v", ips, err)
	}
	if mxs, err := r.LookupMX(ctx, "nomx.example"); err != nil || len(mxs) != 0 {
		t.Fatalf("domain without MX: %v, %v", mxs, err)
	}
	if _, err := r.LookupMX(ctx, "missing.example"); !errors.Is(err, smtpout.ErrNoSuchDomain) {
		t.Fatalf("missing domain: %v", err)
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
	r.LookupMX(ctx, "example.com")
	r.LookupMX(ctx, "missing.example")
	if count("example.com. MX") != 1 || count("missing.example. MX") != 1 {
		t.Fatalf("cache not used: %s", strings.Join(zone.Queries(), ", "))
	}
	now = now.Add(61 * time.Second) // past the 60 s TTL and the negative TTL
	r.LookupMX(ctx, "example.com")
	r.LookupMX(ctx, "missing.example")
	if count("example.com. MX") != 2 || count("missing.example. MX") != 2 {
		t.Fatalf("cache outlived the TTL: %s", strings.Join(zone.Queries(), ", "))
	}
	if _, err := smtpout.NewDNSResolver("no-port", 0); err == nil {
		t.Fatal("resolver address without port accepted")
	}
}
