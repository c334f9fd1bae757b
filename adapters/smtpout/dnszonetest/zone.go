// Package dnszonetest is a small authoritative DNS server for tests, built on miekg/dns: it
// listens on 127.0.0.1:0 (UDP and TCP on the same port) and answers from records given in
// zone-file syntax ("example.com. 300 IN MX 10 mx.example.com."). A name with no record at
// all is NXDOMAIN; a known name without the asked type is an empty NOERROR answer.
//
// It is a test helper: point POSTHASTE_DNS_RESOLVER (or a resolver's server address) at
// Addr. It must not be imported by non-test code.
package dnszonetest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a running DNS server.
type Server struct {
	Addr string // "127.0.0.1:port", UDP and TCP

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case FQDN
	queries []string            // "name TYPE"
}

// New starts a server answering the given records and stops it when the test ends.
func New(t testing.TB, records ...string) *Server {
	t.Helper()
	s := &Server{records: map[string][]dns.RR{}}
	for _, r := range records {
		if err := s.Add(r); err != nil {
			t.Fatalf("dnszonetest: %v", err)
		}
	}
	// UDP and TCP on one port: the TCP side of a random UDP port may be taken, so try several.
	var pc net.PacketConn
	var l net.Listener
	for try := 0; l == nil; try++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatalf("dnszonetest: listen udp: %v", err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err != nil {
			pc.Close()
			if try == 20 {
				t.Fatalf("dnszonetest: listen tcp beside udp: %v", err)
			}
		}
	}
	s.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: l, Handler: s}
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	t.Cleanup(func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
	})
	return s
}

// Add adds one record in zone-file syntax.
func (s *Server) Add(record string) error {
	rr, err := dns.NewRR(record)
	if err != nil {
		return err
	}
	name := strings.ToLower(rr.Header().Name)
	s.mu.Lock()
	s.records[name] = append(s.records[name], rr)
	s.mu.Unlock()
	return nil
}

// Queries returns the questions asked so far, as "name TYPE" ("example.com. MX").
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		name := strings.ToLower(q.Name)
		s.mu.Lock()
		s.queries = append(s.queries, name+" "+dns.TypeToString[q.Qtype])
		rrs, known := s.records[name]
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
		s.mu.Unlock()
		if !known {
			m.Rcode = dns.RcodeNameError
		}
	}
	_ = w.WriteMsg(m)
}
