// Package dnstest runs a programmable authoritative DNS server on loopback (UDP and TCP on the
// same 127.0.0.1 port) for tests: set records in zone-file syntax, point POSTHASTE_DNS_RESOLVER
// (or dnsresolver.New) at Addr.
package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server answers from its records: NOERROR with the matching records, NOERROR/NODATA when the
// name has other types, NXDOMAIN otherwise. A CNAME answers any type. Names listed in Fail get
// SERVFAIL.
type Server struct {
	Addr string

	mu      sync.Mutex
	records []dns.RR
	fail    map[string]bool
}

// New starts a server with the given zone-file lines (absolute names), stopped in t.Cleanup.
func New(t testing.TB, lines ...string) *Server {
	t.Helper()
	s := &Server{fail: map[string]bool{}}
	s.Set(t, lines...)
	pc, ln, err := listenPair()
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	s.Addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h}
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	t.Cleanup(func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
	})
	return s
}

// listenPair binds UDP and TCP on one loopback port; the TCP side of a random UDP port may be
// taken, so it tries several ports.
func listenPair() (net.PacketConn, net.Listener, error) {
	var lastErr error
	for i := 0; i < 20; i++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("listen udp: %w", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		lastErr = err
	}
	return nil, nil, fmt.Errorf("listen tcp beside udp: %w", lastErr)
}

// Set replaces every record with the given zone-file lines.
func (s *Server) Set(t testing.TB, lines ...string) {
	t.Helper()
	var rrs []dns.RR
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("dnstest: record %q: %v", l, err)
		}
		if rr != nil {
			rrs = append(rrs, rr)
		}
	}
	s.mu.Lock()
	s.records = rrs
	s.mu.Unlock()
}

// Fail makes queries for name answer SERVFAIL.
func (s *Server) Fail(name string) {
	s.mu.Lock()
	s.fail[dns.CanonicalName(name)] = true
	s.mu.Unlock()
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := dns.CanonicalName(q.Name)
	s.mu.Lock()
	exists := false
	for _, rr := range s.records {
		if dns.CanonicalName(rr.Header().Name) != name {
			continue
		}
		exists = true
		if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME {
			m.Answer = append(m.Answer, dns.Copy(rr))
		}
	}
	fail := s.fail[name]
	s.mu.Unlock()
	switch {
	case fail:
		m.Answer, m.Rcode = nil, dns.RcodeServerFailure
	case !exists:
		m.Rcode = dns.RcodeNameError
	}
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		size := 512
		if o := req.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// Quote renders a TXT value as zone-file character-strings of at most 255 bytes.
func Quote(v string) string {
	var parts []string
	for {
		n := min(len(v), 255)
		parts = append(parts, `"`+strings.ReplaceAll(v[:n], `"`, `\"`)+`"`)
		if v = v[n:]; v == "" {
			return strings.Join(parts, " ")
		}
	}
}
