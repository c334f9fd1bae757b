package tenancy_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

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
		{"spf ok", r(pair(tenancy.CheckSPF("example.com", []string{"v=spf1 include:_spf.google.com INCLUDE:spf.example.net. ~all"}, "spf.example.net"))), r{"ok", ""}},
		{"spf redirect ok", r(pair(tenancy.CheckSPF("example.com", []string{"v=spf1 redirect=spf.example.net"}, "spf.example.net"))), r{"ok", ""}},
		{"spf missing", r(pair(tenancy.CheckSPF("example.com", []string{"v=spf1x", "hello"}, "spf.example.net"))),
			r{"missing", `no SPF record (TXT "v=spf1 ...") at example.com`}},
		{"spf without include", r(pair(tenancy.CheckSPF("example.com", []string{"v=spf1 include:spf.other.net ~all"}, "spf.example.net"))),
			r{"invalid", "SPF record exists but does not include spf.example.net"}},
		{"spf soft include", r(pair(tenancy.CheckSPF("example.com", []string{"v=spf1 ~include:spf.example.net -all"}, "spf.example.net"))),
			r{"invalid", `SPF record includes spf.example.net with qualifier "~"; it must be a plain include:spf.example.net`}},
		{"spf include after all", r(pair(tenancy.CheckSPF("example.com", []string{"v=spf1 -all include:spf.example.net"}, "spf.example.net"))),
			r{"invalid", `SPF record includes spf.example.net after "all", where it is never evaluated`}},
		{"spf redirect with all", r(pair(tenancy.CheckSPF("example.com", []string{"v=spf1 ~all redirect=spf.example.net"}, "spf.example.net"))),
			r{"invalid", `SPF record redirects to spf.example.net but also has "all", so the redirect is ignored`}},
		{"spf redirect before all", r(pair(tenancy.CheckSPF("example.com", []string{"v=spf1 redirect=spf.example.net -all"}, "spf.example.net"))),
			r{"invalid", `SPF record redirects to spf.example.net but also has "all", so the redirect is ignored`}},
		{"spf twice", r(pair(tenancy.CheckSPF("example.com", []string{"v=spf1 include:spf.example.net ~all", "v=spf1 -all"}, "spf.example.net"))),
			r{"invalid", "2 SPF records at example.com; there must be exactly one (RFC 7208)"}},
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
