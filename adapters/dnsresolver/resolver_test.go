package dnsresolver_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/dnsresolver"
	"github.com/posthaste/posthaste/adapters/dnsresolver/dnstest"
	"github.com/posthaste/posthaste/domain/tenancy"
)

func TestLookups(t *testing.T) {
	long := strings.Repeat("k", 600) // spans three character-strings
	big := strings.Repeat("b", 250)
	lines := []string{
		`example.com. 300 IN TXT "v=spf1 include:spf.example.net ~all"`,
		`example.com. 300 IN TXT "hello" " world"`,
		`sel._domainkey.example.com. 300 IN TXT ` + dnstest.Quote("p="+long),
		`psrp.example.com. 300 IN CNAME rp.example.net.`,
		`rp.example.net. 300 IN MX 20 b.example.net.`,
		`rp.example.net. 300 IN MX 10 A.example.net.`,
		`host.example.net. 300 IN A 192.0.2.7`,
		`host.example.net. 300 IN AAAA 2001:db8::7`,
	}
	for i := 0; i < 30; i++ { // > 4096 bytes: truncated over UDP, answered over TCP
		lines = append(lines, `big.example.com. 300 IN TXT "`+big+`"`)
	}
	srv := dnstest.New(t, lines...)
	srv.Fail("broken.example.com.")
	r, err := dnsresolver.New(srv.Addr, "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	txt, err := r.LookupTXT(ctx, "example.com")
	if err != nil || !reflect.DeepEqual(txt, []string{"v=spf1 include:spf.example.net ~all", "hello world"}) {
		t.Errorf("TXT example.com = %q, %v", txt, err)
	}
	if txt, err := r.LookupTXT(ctx, "sel._domainkey.example.com"); err != nil || len(txt) != 1 || txt[0] != "p="+long {
		t.Errorf("long TXT not joined: %d records, %v", len(txt), err)
	}
	if txt, err := r.LookupTXT(ctx, "big.example.com"); err != nil || len(txt) != 30 {
		t.Errorf("big TXT over TCP: %d records, %v", len(txt), err)
	}
	if txt, err := r.LookupTXT(ctx, "nothing.example.com"); err != nil || len(txt) != 0 {
		t.Errorf("NXDOMAIN: %q, %v; want empty, nil", txt, err)
	}
	if txt, err := r.LookupTXT(ctx, "rp.example.net"); err != nil || len(txt) != 0 {
		t.Errorf("NODATA: %q, %v; want empty, nil", txt, err)
	}
	if _, err := r.LookupTXT(ctx, "broken.example.com"); err == nil || !strings.Contains(err.Error(), "SERVFAIL") {
		t.Errorf("SERVFAIL: err = %v", err)
	}
	if c, err := r.LookupCNAME(ctx, "psrp.example.com"); err != nil || c != "rp.example.net" {
		t.Errorf("CNAME = %q, %v", c, err)
	}
	if c, err := r.LookupCNAME(ctx, "example.com"); err != nil || c != "" {
		t.Errorf("no CNAME = %q, %v", c, err)
	}
	mx, err := r.LookupMX(ctx, "rp.example.net")
	want := []tenancy.MX{{Host: "a.example.net", Preference: 10}, {Host: "b.example.net", Preference: 20}}
	if err != nil || !reflect.DeepEqual(mx, want) {
		t.Errorf("MX = %v, %v", mx, err)
	}
	ips, err := r.LookupIP(ctx, "host.example.net")
	if err != nil || !reflect.DeepEqual(ips, []netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::7")}) {
		t.Errorf("IP = %v, %v", ips, err)
	}
}

func TestNextServerOnFailure(t *testing.T) {
	good := dnstest.New(t, `example.com. 300 IN TXT "ok"`)
	bad := dnstest.New(t)
	bad.Fail("example.com.")
	r, err := dnsresolver.New(bad.Addr+","+good.Addr, "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	txt, err := r.LookupTXT(context.Background(), "example.com")
	if err != nil || len(txt) != 1 || txt[0] != "ok" {
		t.Errorf("TXT = %q, %v", txt, err)
	}
}

func TestResolvConf(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver 192.0.2.1\nnameserver 2001:db8::1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := dnsresolver.New("", conf, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Servers(); !reflect.DeepEqual(got, []string{"192.0.2.1:53", "[2001:db8::1]:53"}) {
		t.Errorf("servers = %v", got)
	}
}

func TestNewRefusesBadServer(t *testing.T) {
	if _, err := dnsresolver.New("127.0.0.1", "", 0); err == nil {
		t.Error("server without port accepted")
	}
}
