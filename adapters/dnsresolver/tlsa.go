package dnsresolver

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/miekg/dns"
)

// TLSA is one TLSA record (RFC 6698): which certificate or key a TLS server must present.
type TLSA struct {
	Usage        uint8  // 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
	Selector     uint8  // 0 the full certificate, 1 its SubjectPublicKeyInfo
	MatchingType uint8  // 0 the data itself, 1 its SHA-256, 2 its SHA-512
	Data         []byte // the certificate association data
}

// TLSAAnswer is the TLSA record set of a name ("_25._tcp.mx.example.com").
type TLSAAnswer struct {
	// Records is empty when the name does not exist or has no TLSA record.
	Records []TLSA
	// Authenticated is the AD bit of the resolver's answer: it validated the answer (or the
	// denial that the name has records) with DNSSEC. DANE (RFC 7672) may use Records only
	// when it is set, and should believe it only from a validating resolver reached over a
	// trusted path (loopback).
	Authenticated bool
}

// LookupTLSA returns the TLSA records of name. Only a failed lookup (timeout, SERVFAIL,
// refused, a record that does not decode) is an error.
func (r *Resolver) LookupTLSA(ctx context.Context, name string) (TLSAAnswer, error) {
	a, err := r.ask(ctx, name, dns.TypeTLSA)
	if err != nil {
		return TLSAAnswer{}, err
	}
	out := TLSAAnswer{Authenticated: a.authenticated}
	for _, rr := range a.rrs {
		t, ok := rr.(*dns.TLSA)
		if !ok {
			continue
		}
		data, err := hex.DecodeString(t.Certificate)
		if err != nil {
			return TLSAAnswer{}, fmt.Errorf("dnsresolver: TLSA %s: association data: %w", name, err)
		}
		out.Records = append(out.Records, TLSA{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: data})
	}
	return out, nil
}
