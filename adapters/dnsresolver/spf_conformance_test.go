package dnsresolver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/posthaste/posthaste/adapters/dnsresolver"
	"github.com/posthaste/posthaste/adapters/dnsresolver/dnstest"
	"github.com/posthaste/posthaste/domain/spf"
)

// suiteFile is the openspf RFC 7208 suite (../shared/eval/spf/README.md).
const suiteFile = "../../../shared/eval/spf/rfc7208-tests.yml"

type spfScenario struct {
	Description string                       `json:"description"`
	Tests       map[string]spfCase           `json:"tests"`
	Zonedata    map[string][]json.RawMessage `json:"zonedata"`
}

type spfCase struct {
	Description string          `json:"description"`
	Spec        json.RawMessage `json:"spec"`
	Helo        string          `json:"helo"`
	Host        string          `json:"host"`
	Mailfrom    string          `json:"mailfrom"`
	Result      json.RawMessage `json:"result"`
	Explanation *string         `json:"explanation"`
}

// loadSuite converts the YAML stream to JSON with Debian's python3-yaml (installed by
// .ci/deps): the module has no YAML library and this file is the only YAML input.
func loadSuite(t *testing.T) []spfScenario {
	t.Helper()
	const conv = `import json, sys, yaml
json.dump([d for d in yaml.safe_load_all(open(sys.argv[1], encoding="utf-8")) if d], sys.stdout)`
	out, err := exec.Command("/usr/bin/python3", "-c", conv, suiteFile).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("convert %s (needs python3-yaml, see .ci/deps): %v\n%s", suiteFile, err, ee.Stderr)
		}
		t.Fatalf("convert %s (needs /usr/bin/python3 with python3-yaml, see .ci/deps): %v", suiteFile, err)
	}
	var scs []spfScenario
	if err := json.Unmarshal(out, &scs); err != nil {
		t.Fatal(err)
	}
	return scs
}

// zoneRRs turns a scenario's zonedata into records, as pyspf's driver does: an SPF record is
// also served as TXT unless the name has explicit TXT entries; NONE means no record; a list
// value of TXT/SPF is one record of several character-strings; TIMEOUT drops the name's
// queries of types it has no record of.
func zoneRRs(t *testing.T, zd map[string][]json.RawMessage) (rrs []dns.RR, drop []string) {
	t.Helper()
	for name, entries := range zd {
		fq := dns.Fqdn(presentation(name))
		hasTXT := false
		type kv struct {
			typ string
			val json.RawMessage
		}
		var kvs []kv
		for _, raw := range entries {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				if s != "TIMEOUT" {
					t.Fatalf("zonedata %s: unknown entry %q", name, s)
				}
				drop = append(drop, fq)
				continue
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("zonedata %s: %s: %v", name, raw, err)
			}
			for typ, val := range m {
				kvs = append(kvs, kv{typ, val})
				hasTXT = hasTXT || typ == "TXT"
			}
		}
		hdr := func(rrtype uint16) dns.RR_Header {
			return dns.RR_Header{Name: fq, Rrtype: rrtype, Class: dns.ClassINET, Ttl: 300}
		}
		for _, e := range kvs {
			var str string
			isStr := json.Unmarshal(e.val, &str) == nil
			if isStr && str == "NONE" {
				continue
			}
			switch e.typ {
			case "SPF", "TXT":
				strs := []string{str}
				if !isStr {
					strs = nil
					if err := json.Unmarshal(e.val, &strs); err != nil {
						t.Fatalf("zonedata %s %s: %s", name, e.typ, e.val)
					}
				}
				if e.typ == "SPF" {
					rrs = append(rrs, dnstest.TXT(fq, dns.TypeSPF, strs...))
					if hasTXT {
						continue
					}
				}
				rrs = append(rrs, dnstest.TXT(fq, dns.TypeTXT, strs...))
			case "A":
				rrs = append(rrs, &dns.A{Hdr: hdr(dns.TypeA), A: net.ParseIP(str).To4()})
			case "AAAA":
				rrs = append(rrs, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.ParseIP(str)})
			case "PTR":
				rrs = append(rrs, &dns.PTR{Hdr: hdr(dns.TypePTR), Ptr: dns.Fqdn(str)})
			case "CNAME":
				rrs = append(rrs, &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: dns.Fqdn(str)})
			case "MX":
				var mx []json.RawMessage
				var pref uint16
				var host string
				if json.Unmarshal(e.val, &mx) != nil || len(mx) != 2 || json.Unmarshal(mx[0], &pref) != nil || json.Unmarshal(mx[1], &host) != nil {
					t.Fatalf("zonedata %s MX: %s", name, e.val)
				}
				rrs = append(rrs, &dns.MX{Hdr: hdr(dns.TypeMX), Preference: pref, Mx: dns.Fqdn(host)})
			default:
				t.Fatalf("zonedata %s: unknown type %s", name, e.typ)
			}
		}
	}
	return rrs, drop
}

// presentation escapes a raw name the way miekg/dns prints the names it receives.
func presentation(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case strings.IndexByte(" '@;()\"\\", c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// TestSPFConformance runs the 203 cases of the openspf RFC 7208 suite through the SPF evaluator
// and this adapter, against each scenario's zone served over UDP/TCP on loopback.
func TestSPFConformance(t *testing.T) {
	scs := loadSuite(t)
	srv := dnstest.New(t)
	// A query answered in time on loopback is never near this; TIMEOUT entries wait it out.
	r, err := dnsresolver.New(srv.Addr, "", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := &spf.Checker{Resolver: r, Hostname: "localhost"}
	total, passed := 0, 0
	var failures []string
	for _, sc := range scs {
		rrs, drop := zoneRRs(t, sc.Zonedata)
		srv.SetRRs(rrs...)
		for _, n := range drop {
			srv.Drop(n)
		}
		names := make([]string, 0, len(sc.Tests))
		for n := range sc.Tests {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			tc := sc.Tests[name]
			total++
			if msg := runSPFCase(c, tc); msg != "" {
				failures = append(failures, fmt.Sprintf("%s / %s: %s", sc.Description, name, msg))
				continue
			}
			passed++
		}
	}
	t.Logf("openspf RFC 7208 suite: %d/%d cases pass", passed, total)
	for _, f := range failures {
		t.Error(f)
	}
	if total != 203 {
		t.Errorf("the suite has %d cases, want 203", total)
	}
}

func runSPFCase(c *spf.Checker, tc spfCase) string {
	ip, err := netip.ParseAddr(tc.Host)
	if err != nil {
		return fmt.Sprintf("bad host %q", tc.Host)
	}
	var want []string
	var one string
	if json.Unmarshal(tc.Result, &one) == nil {
		want = []string{one}
	} else if err := json.Unmarshal(tc.Result, &want); err != nil {
		return fmt.Sprintf("bad result %s", tc.Result)
	}
	domain := tc.Helo
	if tc.Mailfrom != "" {
		domain = tc.Mailfrom[strings.LastIndexByte(tc.Mailfrom, '@')+1:]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := c.CheckHost(ctx, ip, domain, tc.Mailfrom, tc.Helo)
	ok := false
	for _, w := range want {
		ok = ok || string(out.Result) == w
	}
	if !ok {
		return fmt.Sprintf("result %s (%s), want %s", out.Result, out.Reason, strings.Join(want, " or "))
	}
	if tc.Explanation != nil && out.Result == spf.Fail {
		wantExp := *tc.Explanation
		if wantExp == "DEFAULT" {
			wantExp = spf.DefaultExplanation
		}
		if out.Explanation != wantExp {
			return fmt.Sprintf("explanation %q, want %q", out.Explanation, wantExp)
		}
	}
	return ""
}

// TestSPFAuditLoop: an include loop ends at the lookup limit, and in Audit mode (which counts
// past the limit for the reason) at spf.AuditCap.
func TestSPFAuditLoop(t *testing.T) {
	srv := dnstest.New(t, `loop.example. 300 IN TXT "v=spf1 include:loop.example -all"`)
	r, err := dnsresolver.New(srv.Addr, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("192.0.2.1")
	c := &spf.Checker{Resolver: r}
	if out := c.CheckHost(context.Background(), ip, "loop.example", "", "loop.example"); out.Result != spf.PermError || out.Lookups != spf.MaxDNSTerms+1 {
		t.Errorf("loop: %s after %d lookups (%s)", out.Result, out.Lookups, out.Reason)
	}
	c.Audit = true
	if out := c.CheckHost(context.Background(), ip, "loop.example", "", "loop.example"); out.Result != spf.PermError || out.Lookups != spf.AuditCap+1 || !strings.Contains(out.Reason, "loop?") {
		t.Errorf("loop in audit mode: %s after %d lookups (%s)", out.Result, out.Lookups, out.Reason)
	}
}
