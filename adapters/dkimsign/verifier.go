package dkimsign

import (
	"context"
	"errors"

	"github.com/posthaste/posthaste/domain/platform"
)

var _ platform.DKIMVerifier = (*Verifier)(nil)

// Verifier implements platform.DKIMVerifier (`dkim verify`) over Verify: the public keys come
// from a key file when one is given (KeyFile), else from DNS through the lookup it was built
// with. Safe for concurrent use.
type Verifier struct {
	dns LookupTXT
}

// NewVerifier verifies with keys looked up by dns (a resolver's LookupTXT). dns may be nil:
// such a verifier checks messages against key files only, and refuses a message without one.
func NewVerifier(dns LookupTXT) *Verifier { return &Verifier{dns: dns} }

// errNoKeySource: neither a key file nor DNS to take the public keys from.
var errNoKeySource = errors.New("dkimsign: verify: no key file given and no DNS lookup configured")

// Verify returns one verdict per DKIM-Signature of msg, in header order (see
// platform.DKIMVerifier); a key file that does not parse, or a message without a parsable
// header, is an error.
func (v *Verifier) Verify(ctx context.Context, msg, keyFile []byte) ([]platform.DKIMVerdict, error) {
	lookup := v.dns
	if keyFile != nil {
		l, err := KeyFile(keyFile)
		if err != nil {
			return nil, err
		}
		lookup = l
	}
	if lookup == nil {
		return nil, errNoKeySource
	}
	vs, err := Verify(ctx, msg, lookup)
	if err != nil || vs == nil {
		return nil, err
	}
	out := make([]platform.DKIMVerdict, len(vs))
	for i, x := range vs {
		out[i] = platform.DKIMVerdict{Domain: x.Domain, Selector: x.Selector, Algorithm: x.Algorithm,
			Result: platform.DKIMResult(x.Result), Reason: x.Reason}
	}
	return out, nil
}
