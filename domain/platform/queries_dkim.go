package platform

import (
	"context"
	"fmt"
)

// DKIMResult is the outcome of one DKIM signature (RFC 6376, RFC 8463, RFC 8301 enforced).
type DKIMResult string

const (
	DKIMPass      DKIMResult = "pass"
	DKIMFail      DKIMResult = "fail"      // the signature or the body hash did not verify
	DKIMPermError DKIMResult = "permerror" // unusable signature or key: malformed, no key, rsa-sha1, RSA < 1024 bits
	DKIMTempError DKIMResult = "temperror" // the key could not be fetched now (DNS failure)
)

// DKIMVerdict is the outcome for one DKIM-Signature header field, in header order (the JSON
// `dkim verify --json` prints, one line per signature).
type DKIMVerdict struct {
	Domain    string     `json:"domain"`
	Selector  string     `json:"selector"`
	Algorithm string     `json:"algorithm"`
	Result    DKIMResult `json:"result"`
	Reason    string     `json:"reason,omitempty"`
}

// DKIMVerifier checks the DKIM signatures of a message (adapters/dkimsign).
//
// Contract: Verify returns one verdict per DKIM-Signature field of msg, in header order, with the
// public keys from keyFile when it is not nil (lines "selector._domainkey.domain TXT-value", as
// ../shared/eval/dkim's key files), else from DNS. An unsigned message gives no verdict and no
// error; an error means msg has no parsable header, or keyFile does not parse.
type DKIMVerifier interface {
	Verify(ctx context.Context, msg, keyFile []byte) ([]DKIMVerdict, error)
}

// VerifyDKIM verifies a message's DKIM signatures (a tool: it reads no state, so any caller may).
func (q *Queries) VerifyDKIM(ctx context.Context, msg, keyFile []byte) ([]DKIMVerdict, error) {
	if q.c.d.DKIMVerifier == nil {
		return nil, fmt.Errorf("dkim verify: %w: no DKIM verifier", ErrNotConfigured)
	}
	return q.c.d.DKIMVerifier.Verify(ctx, msg, keyFile)
}
