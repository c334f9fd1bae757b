// Package dnstest runs a programmable authoritative DNS server on loopback (UDP and TCP on the
// same 127.0.0.1 port) for tests: set records in zone-file syntax, point POSTHASTE_DNS_RESOLVER
// (or dnsresolver.New) at Addr, read back the questions it was asked (Queries).
//
// It is the one DNS test server of the module (adapters/dnsresolver, adapters/smtpout and
// cmd/posthaste tests use it). It is a test helper: non-test code must not import it.
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
// name has other types, NXDOMAIN otherwise. A CNAME answers any type, followed by the records
// of its target when the server has them (as an authoritative server does in its zone). Names
// listed in Fail get SERVFAIL; names listed in Drop get no answer (the client times out) for
// every type they have no record of. Answers about names listed in Secure carry the AD bit
// when the question asked for it (AD or DO set), as from a validating resolver.
type Server struct {
	Addr string

	mu      sync.Mutex
	records []dns.RR
	fail    map[string]bool
	drop    map[string]bool
	secure  map[string]bool
	queries []string // "name TYPE", name lowercase
}

// New starts a server with the given zone-file lines (absolute names), stopped in t.Cleanup.
func New(t testing.TB, lines ...string) *Server {
	t.Helper()
	s := &Server{fail: map[string]bool{}, drop: map[string]bool{}, secure: map[string]bool{}}
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

// SetRRs replaces every record with rrs and clears Fail, Drop and Secure.
func (s *Server) SetRRs(rrs ...dns.RR) {
	s.mu.Lock()
	s.records = append([]dns.RR(nil), rrs...)
	s.fail = map[string]bool{}
	s.drop = map[string]bool{}
	s.secure = map[string]bool{}
	s.mu.Unlock()
}

// Secure makes answers about name carry the AD bit (authenticated data) when asked for.
func (s *Server) Secure(name string) {
	s.mu.Lock()
	s.secure[dns.CanonicalName(name)] = true
	s.mu.Unlock()
}

// Queries returns the questions asked so far, in order, as "name TYPE" ("example.com. MX").
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// Drop makes queries for name go unanswered unless name has records of the queried type.
func (s *Server) Drop(name string) {
	s.mu.Lock()
	s.drop[dns.CanonicalName(name)] = true
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
	s.queries = append(s.queries, name+" "+dns.TypeToString[q.Qtype])
	exists := false
	for hop := 0; hop < 8; hop++ { // follow CNAMEs inside the data, loops cut short
		target := ""
		for _, rr := range s.records {
			if dns.CanonicalName(rr.Header().Name) != name {
				continue
			}
			if hop == 0 {
				exists = true
			}
			if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
			if c, ok := rr.(*dns.CNAME); ok && q.Qtype != dns.TypeCNAME {
				target = dns.CanonicalName(c.Target)
			}
		}
		if target == "" {
			break
		}
		name = target
	}
	name = dns.CanonicalName(q.Name)
	fail, drop := s.fail[name], s.drop[name] && len(m.Answer) == 0
	asked := req.AuthenticatedData || req.IsEdns0() != nil && req.IsEdns0().Do()
	m.AuthenticatedData = s.secure[name] && asked && !fail
	s.mu.Unlock()
	switch {
	case drop:
		return
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

// TXT builds a TXT record of name from raw character-strings (any bytes; each string of at
// most 255 bytes is one character-string, longer ones are split).
func TXT(name string, rrtype uint16, strs ...string) dns.RR {
	var parts []string
	for _, v := range strs {
		for {
			n := min(len(v), 255)
			parts = append(parts, escapeTXT(v[:n]))
			if v = v[n:]; v == "" {
				break
			}
		}
	}
	hdr := dns.RR_Header{Name: dns.Fqdn(name), Rrtype: rrtype, Class: dns.ClassINET, Ttl: 300}
	if rrtype == dns.TypeSPF {
		return &dns.SPF{Hdr: hdr, Txt: parts}
	}
	return &dns.TXT{Hdr: hdr, Txt: parts}
}

// escapeTXT turns raw bytes into the escaped form miekg/dns packs back to the same bytes.
func escapeTXT(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' || c == '"':
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
