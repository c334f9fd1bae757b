package spf

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// The whole evaluator is conformance-tested with DNS in adapters/dnsresolver
// (TestSPFConformance); these tests pin what needs no DNS: parsing and macro expansion.

func TestParse(t *testing.T) {
	rec, err := Parse("v=spf1 +a:Mail.example.com/24//64 ~mx -ip4:192.0.2.0/24 ip6:2001:db8::/32 ?exists:%{ir}.bl.example include:_spf.example.net ptr redirect=_spf.example.org exp=why.%{d} unknown=%{d}")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, d := range rec.Directives {
		got = append(got, string(d.Qualifier)+d.Mechanism+" "+d.Domain)
	}
	want := "+a Mail.example.com|~mx |-ip4 |+ip6 |?exists %{ir}.bl.example|+include _spf.example.net|+ptr "
	if strings.Join(got, "|") != want {
		t.Errorf("directives = %q, want %q", strings.Join(got, "|"), want)
	}
	if d := rec.Directives[0]; d.CIDR4 != 24 || d.CIDR6 != 64 {
		t.Errorf("a cidr = %d/%d", d.CIDR4, d.CIDR6)
	}
	if p := rec.Directives[2].Prefix.String(); p != "192.0.2.0/24" {
		t.Errorf("ip4 prefix = %s", p)
	}
	if rec.Redirect != "_spf.example.org" || rec.Exp != "why.%{d}" {
		t.Errorf("modifiers = %q %q", rec.Redirect, rec.Exp)
	}

	for _, bad := range []string{
		"v=spf1 -all moo",        // unknown mechanism, even after all
		"v=spf1 include:",        // no domain
		"v=spf1 a:example",       // no top-level label
		"v=spf1 a:example.123",   // numeric top-level label
		"v=spf1 a/33",            // IPv4 CIDR too long
		"v=spf1 a//129",          // IPv6 CIDR too long
		"v=spf1 a/024",           // leading zero
		"v=spf1 ip4:1.2.3.4//32", // dual CIDR on ip4
		"v=spf1 ip4:2001:db8::1", // wrong family
		"v=spf1 ip6:1.2.3.4",     // wrong family
		"v=spf1 redirect=a.example redirect=b.example", // twice
		"v=spf1 exp=a.example exp=b.example",           // twice
		"v=spf1 exists:%{x}.example.com",               // unknown macro letter
		"v=spf1 exists:%{c}.example.com",               // c only in exp text
		"v=spf1 exists:100%.example.com",               // bare %
		"v=spf1 a:\x80.example.com",                    // not ASCII
		"v=spf1 all:example.com",                       // all takes no argument
		"v=spf1 ptr/24",                                // ptr takes no CIDR
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	for txt, is := range map[string]bool{"v=spf1": true, "V=SPF1 -all": true, "v=spf1x": false, " v=spf1": false, "v=spf10 -all": false} {
		if IsSPF(txt) != is {
			t.Errorf("IsSPF(%q) = %v", txt, !is)
		}
	}
}

// TestMacros: the examples of RFC 7208 7.4, and URL escaping of upper-case letters.
func TestMacros(t *testing.T) {
	e := &evaluation{c: &Checker{}, ip: netip.MustParseAddr("192.0.2.3"), sender: "strong-bad@email.example.com",
		local: "strong-bad", senderDomain: "email.example.com", domain: "email.example.com", helo: "mx.example.org"}
	cases := map[string]string{
		"%{s}":                              "strong-bad@email.example.com",
		"%{o}":                              "email.example.com",
		"%{d}":                              "email.example.com",
		"%{d4}":                             "email.example.com",
		"%{d3}":                             "email.example.com",
		"%{d2}":                             "example.com",
		"%{d1}":                             "com",
		"%{dr}":                             "com.example.email",
		"%{d2r}":                            "example.email",
		"%{l}":                              "strong-bad",
		"%{l-}":                             "strong.bad",
		"%{lr}":                             "strong-bad",
		"%{lr-}":                            "bad.strong",
		"%{l1r-}":                           "strong",
		"%{ir}.%{v}._spf.%{d2}":             "3.2.0.192.in-addr._spf.example.com",
		"%{lr-}.lp._spf.%{d2}":              "bad.strong.lp._spf.example.com",
		"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}":   "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
		"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}":  "3.2.0.192.in-addr.strong.lp._spf.example.com",
		"%{d2}.trusted-domains.example.net": "example.com.trusted-domains.example.net",
		"%{h}%%%_%-":                        "mx.example.org% %20",
		"%{S}":                              "strong-bad%40email.example.com",
	}
	for in, want := range cases {
		got, err := expandMacros(context.Background(), in, e, false)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", in, got, err, want)
		}
	}
	e.ip = netip.MustParseAddr("2001:db8::cb01")
	// Upper-case nibbles, as the openspf suite expects (RFC 4408's example; RFC 7208's shows
	// lower case; DNS names are case-insensitive).
	if got, _ := expandMacros(context.Background(), "%{ir}.%{v}._spf.%{d2}", e, false); got != "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com" {
		t.Errorf("IPv6 %%{ir} = %s", got)
	}
	if got, _ := expandMacros(context.Background(), "%{c} is not allowed", e, true); got != "2001:db8::cb01 is not allowed" {
		t.Errorf("exp %%{c} = %s", got)
	}
}
