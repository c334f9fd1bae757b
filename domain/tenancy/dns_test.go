package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/dnsresolver"
	"github.com/posthaste/posthaste/adapters/dnsresolver/dnstest"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

func sampleDomain() tenancy.SendingDomain {
	return tenancy.SendingDomain{Name: "example.com", ServerID: "acme/billing", VerificationToken: "tok123",
		Keys: []tenancy.DomainKey{
			{DKIMKey: events.DKIMKey{Selector: "ph1r", Algorithm: tenancy.AlgRSASHA256, PublicKey: "RSAPUB"}, State: tenancy.KeyActive},
			{DKIMKey: events.DKIMKey{Selector: "ph1e", Algorithm: tenancy.AlgEd25519SHA256, PublicKey: "EDPUB"}, State: tenancy.KeyActive},
			{DKIMKey: events.DKIMKey{Selector: "ph0r", Algorithm: tenancy.AlgRSASHA256, PublicKey: "OLD"}, State: tenancy.KeyRetired},
		}}
}

func TestDNSRecords(t *testing.T) {
	got := tenancy.DNSRecords(sampleDomain(), dnsCfg)
	want := []tenancy.DNSRecord{
		{Purpose: "verification", Type: "TXT", Name: "example.com", Value: "posthaste-verification=tok123", Required: true},
		{Purpose: "spf", Type: "TXT", Name: "example.com", Value: "v=spf1 a mx include:spf.example.net ~all", Required: true},
		{Purpose: "dkim", Type: "TXT", Name: "ph1r._domainkey.example.com", Value: "v=DKIM1; k=rsa; p=RSAPUB", Required: true, Selector: "ph1r"},
		{Purpose: "dkim", Type: "TXT", Name: "ph1e._domainkey.example.com", Value: "v=DKIM1; k=ed25519; p=EDPUB", Required: true, Selector: "ph1e"},
		{Purpose: "dmarc", Type: "TXT", Name: "_dmarc.example.com", Value: "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@example.com; adkim=r; aspf=r"},
		{Purpose: "return_path", Type: "CNAME", Name: "psrp.example.com", Value: "rp.example.net"},
		{Purpose: "mx", Type: "MX", Name: "rp.example.net", Value: "10 mx.example.net"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("records:\n%+v\nwant\n%+v", got, want)
	}
}

func TestZoneLineSplitsLongTXT(t *testing.T) {
	v := "v=DKIM1; k=rsa; p=" + strings.Repeat("A", 400)
	line := tenancy.ZoneLine(tenancy.DNSRecord{Type: "TXT", Name: "s._domainkey.example.com", Value: v}, 3600)
	want := `s._domainkey.example.com. 3600 IN TXT "` + v[:255] + `" "` + v[255:] + `"`
	if line != want {
		t.Fatalf("line = %s", line)
	}
	if l := tenancy.ZoneLine(tenancy.DNSRecord{Type: "CNAME", Name: "psrp.example.com", Value: "rp.example.net"}, 60); l != "psrp.example.com. 60 IN CNAME rp.example.net." {
		t.Fatalf("cname line = %s", l)
	}
}

func TestCheckReasons(t *testing.T) {
	type r = [2]string
	cases := []struct {
		name string
		got  r
		want r
	}{
		{"ownership ok", r(pair(tenancy.CheckOwnership("example.com", []string{"v=spf1 -all", "posthaste-verification=tok"}, "tok"))), r{"ok", ""}},
		{"ownership missing", r(pair(tenancy.CheckOwnership("example.com", []string{"google-site-verification=x"}, "tok"))),
			r{"missing", `no TXT record "posthaste-verification=tok" at example.com`}},
		{"ownership other token", r(pair(tenancy.CheckOwnership("example.com", []string{"posthaste-verification=old"}, "tok"))),
			r{"invalid", "ownership TXT record at example.com has token old, expected tok"}},
		{"dkim ok", r(pair(tenancy.CheckDKIM("s._domainkey.example.com", []string{"v=DKIM1; k=rsa; p=AB CD"}, tenancy.AlgRSASHA256, "ABCD"))), r{"ok", ""}},
		{"dkim default k", r(pair(tenancy.CheckDKIM("s._domainkey.example.com", []string{"p=ABCD"}, tenancy.AlgRSASHA256, "ABCD"))), r{"ok", ""}},
		{"dkim missing", r(pair(tenancy.CheckDKIM("s._domainkey.example.com", nil, tenancy.AlgRSASHA256, "ABCD"))),
			r{"missing", "no DKIM record (TXT) at s._domainkey.example.com"}},
		{"dkim wrong key", r(pair(tenancy.CheckDKIM("s._domainkey.example.com", []string{"v=DKIM1; k=rsa; p=WXYZ"}, tenancy.AlgRSASHA256, "ABCD"))),
			r{"invalid", "DKIM record at s._domainkey.example.com has a different public key (p=) than the domain's key"}},
		{"dkim wrong alg", r(pair(tenancy.CheckDKIM("s._domainkey.example.com", []string{"v=DKIM1; k=rsa; p=ABCD"}, tenancy.AlgEd25519SHA256, "ABCD"))),
			r{"invalid", "DKIM record at s._domainkey.example.com has k=rsa, expected k=ed25519"}},
		{"dkim revoked", r(pair(tenancy.CheckDKIM("s._domainkey.example.com", []string{"v=DKIM1; p="}, tenancy.AlgRSASHA256, "ABCD"))),
			r{"invalid", "DKIM record at s._domainkey.example.com has an empty p= (the key is revoked)"}},
		{"dkim no p", r(pair(tenancy.CheckDKIM("s._domainkey.example.com", []string{"hello"}, tenancy.AlgRSASHA256, "ABCD"))),
			r{"invalid", "DKIM record at s._domainkey.example.com has no public key (p= tag)"}},
		{"dmarc ok", r(pair(tenancy.CheckDMARC("_dmarc.example.com", []string{"v=DMARC1; p=reject"}))), r{"ok", ""}},
		{"dmarc none", r(pair(tenancy.CheckDMARC("_dmarc.example.com", []string{"v=DMARC1; p=none"}))),
			r{"ok", "policy p=none only monitors; p=quarantine is recommended"}},
		{"dmarc missing", r(pair(tenancy.CheckDMARC("_dmarc.example.com", nil))), r{"missing", `no DMARC record (TXT "v=DMARC1; ...") at _dmarc.example.com`}},
		{"dmarc no policy", r(pair(tenancy.CheckDMARC("_dmarc.example.com", []string{"v=DMARC1; rua=mailto:x@example.com"}))),
			r{"invalid", "DMARC record at _dmarc.example.com has no policy (p= tag)"}},
		{"cname ok", r(pair(tenancy.CheckReturnPath("psrp.example.com", "RP.example.net.", "rp.example.net"))), r{"ok", ""}},
		{"cname missing", r(pair(tenancy.CheckReturnPath("psrp.example.com", "", "rp.example.net"))), r{"missing", "no CNAME at psrp.example.com"}},
		{"cname wrong", r(pair(tenancy.CheckReturnPath("psrp.example.com", "elsewhere.net", "rp.example.net"))),
			r{"invalid", "return-path CNAME at psrp.example.com points to elsewhere.net, expected rp.example.net"}},
		{"mx ok", r(pair(tenancy.CheckMX("rp.example.net", []tenancy.MX{{Host: "a.net"}, {Host: "mx.example.net"}}, "mx.example.net"))), r{"ok", ""}},
		{"mx missing", r(pair(tenancy.CheckMX("rp.example.net", nil, "mx.example.net"))), r{"missing", "no MX record at rp.example.net"}},
		{"mx wrong", r(pair(tenancy.CheckMX("rp.example.net", []tenancy.MX{{Host: "a.net"}}, "mx.example.net"))),
			r{"invalid", "MX at rp.example.net points to a.net, expected mx.example.net"}},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

func pair(a, b string) [2]string { return [2]string{a, b} }

// publish puts every record of d into the fake zone, as an operator pasting them would.
func publish(z *zoneResolver, d tenancy.SendingDomain) {
	for _, r := range tenancy.DNSRecords(d, dnsCfg) {
		switch r.Type {
		case "TXT":
			z.txt[r.Name] = append(z.txt[r.Name], r.Value)
		case "CNAME":
			z.cname[r.Name] = r.Value
		case "MX":
			host := strings.Fields(r.Value)[1]
			z.mx[r.Name] = append(z.mx[r.Name], tenancy.MX{Host: host, Preference: 10})
		}
	}
}

func TestCheckDomainDNS(t *testing.T) {
	f := newFixture(t)
	ref := f.withServer(t)
	d, err := f.h.AddDomain(ctx, tenancy.AddDomain{Domain: "example.com", Server: ref, Actor: cli})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing published: every record missing, not verified.
	res, err := f.h.CheckDomainDNS(ctx, tenancy.CheckDomainDNS{Domain: "example.com", Actor: cli})
	if err != nil || res.AllOK || res.Verified {
		t.Fatalf("empty zone: %+v, %v", res, err)
	}
	for _, c := range res.Checks {
		if c.Status != "missing" {
			t.Errorf("%s: %s, want missing", c.Purpose, c.Status)
		}
	}
	publish(f.dns, d)
	res, err = f.h.CheckDomainDNS(ctx, tenancy.CheckDomainDNS{Domain: "example.com", Actor: cli})
	if err != nil || !res.AllOK || !res.Verified || !res.Domain.CanSend() {
		t.Fatalf("published zone: %+v, %v", res.Checks, err)
	}
	// A second check records the check but not a second domain.verified.
	f.dns.fail["example.com"] = errors.New("i/o timeout")
	res, err = f.h.CheckDomainDNS(ctx, tenancy.CheckDomainDNS{Domain: "example.com", Actor: cli})
	if err != nil || res.AllOK || !res.Verified {
		t.Fatalf("after lookup failure: %+v, %v", res, err)
	}
	if c := res.Checks[0]; c.Status != "missing" || c.Reason != "TXT lookup of example.com failed: i/o timeout" {
		t.Fatalf("lookup failure check = %+v", c)
	}
	want := []string{"org.created", "server.created", "domain.added", "domain.dns_checked", "domain.dns_checked", "domain.verified", "domain.dns_checked"}
	if got := f.store.types(); !reflect.DeepEqual(got, want) {
		t.Fatalf("events = %v", got)
	}
	if _, err := f.h.CheckDomainDNS(ctx, tenancy.CheckDomainDNS{Domain: "unknown.com", Actor: cli}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("unknown domain: %v", err)
	}
}

func TestRotateDKIM(t *testing.T) {
	f := newFixture(t)
	ref := f.withServer(t)
	d, err := f.h.AddDomain(ctx, tenancy.AddDomain{Domain: "example.com", Server: ref, Actor: cli})
	if err != nil {
		t.Fatal(err)
	}
	old := d.Keys[0]
	publish(f.dns, d)
	d, nk, err := f.h.RotateDKIM(ctx, tenancy.RotateDKIM{Domain: "example.com", Actor: cli})
	if err != nil {
		t.Fatal(err)
	}
	if nk.Selector != "ph20261124r2" || nk.State != tenancy.KeyPending {
		t.Fatalf("new key = %+v", nk)
	}
	// Published first: the old key still signs; the new record is listed but not required.
	if sk := d.SigningKeys(); len(sk) != 1 || sk[0].Selector != old.Selector {
		t.Fatalf("signing keys while pending = %+v", sk)
	}
	recs := tenancy.DNSRecords(d, dnsCfg)
	if r := recs[3]; r.Name != "ph20261124r2._domainkey.example.com" || r.Required {
		t.Fatalf("pending key record = %+v", r)
	}
	if _, _, err := f.h.RotateDKIM(ctx, tenancy.RotateDKIM{Domain: "example.com", Actor: cli}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Fatalf("second pending rotation: %v", err)
	}
	// Not yet in DNS: a check keeps the old key.
	res, err := f.h.CheckDomainDNS(ctx, tenancy.CheckDomainDNS{Domain: "example.com", Actor: cli})
	if err != nil || !res.AllOK || res.Domain.SigningKeys()[0].Selector != old.Selector {
		t.Fatalf("check before publishing: %+v, %v", res.Checks, err)
	}
	// Seen in DNS: the new key signs, the old one retires and leaves the records.
	f.dns.txt[recs[3].Name] = []string{recs[3].Value}
	res, err = f.h.CheckDomainDNS(ctx, tenancy.CheckDomainDNS{Domain: "example.com", Actor: cli})
	if err != nil {
		t.Fatal(err)
	}
	if sk := res.Domain.SigningKeys(); len(sk) != 1 || sk[0].Selector != nk.Selector {
		t.Fatalf("signing keys after seen = %+v", sk)
	}
	for _, r := range tenancy.DNSRecords(res.Domain, dnsCfg) {
		if strings.Contains(r.Name, old.Selector+".") {
			t.Fatalf("retired key still rendered: %+v", r)
		}
	}
	if got := f.store.types(); got[len(got)-1] != "domain.dkim_rotated" || len(f.secrets.m) != 2 {
		t.Fatalf("events = %v, %d secrets", got, len(f.secrets.m))
	}
}

// TestCheckSPF evaluates SPF records served by a DNS server on loopback through the real
// resolver: each broken record is named with why receivers would not trust it.
func TestCheckSPF(t *testing.T) {
	zone := []string{
		`spf.example.net. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:5::/48 -all"`,
		`_spf.google.com. 300 IN TXT "v=spf1 ip4:198.51.100.0/24 ~all"`,
		`_spf.nested.test. 300 IN TXT "v=spf1 include:spf.example.net ~all"`,
		`mail.lim.test. 300 IN A 198.51.100.7`,
	}
	var many []string
	for i := 1; i <= 11; i++ {
		zone = append(zone, fmt.Sprintf("h%d.lim.test. 300 IN A 198.51.100.%d", i, i))
		many = append(many, fmt.Sprintf("a:h%d.lim.test", i))
	}
	records := map[string][]string{
		"ok.test":         {"v=spf1 include:_spf.google.com INCLUDE:spf.example.net. ~all"},
		"redirect.test":   {"v=spf1 redirect=spf.example.net"},
		"nested.test":     {"v=spf1 include:_spf.nested.test -all"},
		"missing.test":    {"v=spf1x", "hello"},
		"twice.test":      {"v=spf1 include:spf.example.net ~all", "v=spf1 -all"},
		"other.test":      {"v=spf1 include:_spf.google.com ~all"},
		"unresolved.test": {"v=spf1 include:spf.other.net include:spf.example.net ~all"},
		"soft.test":       {"v=spf1 ~include:spf.example.net -all"},
		"after.test":      {"v=spf1 -all include:spf.example.net"},
		"redirall.test":   {"v=spf1 ~all redirect=spf.example.net"},
		"redirall2.test":  {"v=spf1 redirect=spf.example.net -all"},
		"lookups.test":    {"v=spf1 " + strings.Join(many, " ") + " include:spf.example.net -all"},
		"voids.test":      {"v=spf1 a:n1.void.test a:n2.void.test mx:n3.void.test include:spf.example.net -all"},
		"plusall.test":    {"v=spf1 include:spf.example.net +all"},
		"syntax.test":     {"v=spf1 include:spf.example.net ~all foo"},
		"shadow.test":     {"v=spf1 -ip4:203.0.113.0/25 include:spf.example.net ~all"},
		"servfail.test":   {"v=spf1 include:broken.test include:spf.example.net ~all"},
		"unpub.test":      {"v=spf1 mx include:spf.unpublished.test ~all"},
	}
	for name, txts := range records {
		for _, v := range txts {
			zone = append(zone, name+". 300 IN TXT "+dnstest.Quote(v))
		}
	}
	srv := dnstest.New(t, zone...)
	srv.Fail("broken.test.")
	res, err := dnsresolver.New(srv.Addr, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ domain, include, status, reason string }{
		{"ok.test", "spf.example.net", "ok", ""},
		{"redirect.test", "spf.example.net", "ok", ""},
		{"nested.test", "spf.example.net", "ok", ""},
		{"missing.test", "spf.example.net", "missing", `no SPF record (TXT "v=spf1 ...") at missing.test`},
		{"twice.test", "spf.example.net", "invalid", "2 SPF records at twice.test; there must be exactly one (RFC 7208)"},
		{"other.test", "spf.example.net", "invalid", "SPF record exists but does not include spf.example.net"},
		{"unresolved.test", "spf.example.net", "invalid", `SPF record invalid: "include:spf.other.net" at unresolved.test: spf.other.net does not exist`},
		{"soft.test", "spf.example.net", "invalid", `SPF record includes spf.example.net with qualifier "~"; it must be a plain include:spf.example.net`},
		{"after.test", "spf.example.net", "invalid", `SPF record includes spf.example.net after "all", where it is never evaluated`},
		{"redirall.test", "spf.example.net", "invalid", `SPF record redirects to spf.example.net but also has "all", so the redirect is ignored`},
		{"redirall2.test", "spf.example.net", "invalid", `SPF record redirects to spf.example.net but also has "all", so the redirect is ignored`},
		{"lookups.test", "spf.example.net", "invalid", "SPF record invalid: 12 DNS lookups (limit 10)"},
		{"voids.test", "spf.example.net", "invalid", `SPF record invalid: 3 void DNS lookups (limit 2): "a:n1.void.test" at voids.test, "a:n2.void.test" at voids.test, "mx:n3.void.test" at voids.test`},
		{"plusall.test", "spf.example.net", "invalid", `SPF record authorizes any sender: 240.0.0.1, a reserved address, passes ("+all" matched at plusall.test)`},
		{"syntax.test", "spf.example.net", "invalid", `SPF record invalid: SPF record at syntax.test: term "foo": unknown mechanism "foo"`},
		{"shadow.test", "spf.example.net", "invalid", `SPF record does not pass 203.0.113.0, a sending address of spf.example.net: fail ("-ip4:203.0.113.0/25" matched at shadow.test)`},
		{"servfail.test", "spf.example.net", "missing", "SPF record could not be evaluated: "},
		{"unpub.test", "spf.unpublished.test", "ok", "the record includes spf.unpublished.test, which has no SPF record yet: receivers get permerror until the platform publishes it"},
	}
	ctx := context.Background()
	for _, c := range cases {
		txts, err := res.LookupTXT(ctx, c.domain)
		if err != nil {
			t.Fatal(err)
		}
		status, reason := tenancy.CheckSPF(ctx, res, c.domain, txts, c.include)
		if status != c.status || !strings.HasPrefix(reason, c.reason) || c.reason == "" && reason != "" {
			t.Errorf("%s: got %s %q, want %s %q", c.domain, status, reason, c.status, c.reason)
		}
	}
	// Without the SPF port (a plain tenancy.Resolver), the record is still evaluated.
	plain := struct{ tenancy.Resolver }{res}
	txts, _ := res.LookupTXT(ctx, "lookups.test")
	if status, reason := tenancy.CheckSPF(ctx, tenancy.SPFResolver(plain), "lookups.test", txts, "spf.example.net"); status != "invalid" || reason != "SPF record invalid: 12 DNS lookups (limit 10)" {
		t.Errorf("through LookupTXT/LookupIP/LookupMX: %s %q", status, reason)
	}
}
