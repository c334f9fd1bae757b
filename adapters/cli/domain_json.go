package cli

import (
	"fmt"
	"io"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// zoneTTL is the TTL printed in zone-file lines.
const zoneTTL = 3600

type domainJSON struct {
	Domain             string        `json:"domain"`
	Server             string        `json:"server"`
	Verified           bool          `json:"verified"`
	VerificationMethod string        `json:"verification_method,omitempty"`
	DKIM               []dkimKeyJSON `json:"dkim_keys"`
}

type dkimKeyJSON struct {
	Selector  string `json:"selector"`
	Algorithm string `json:"algorithm"`
	State     string `json:"state"`
}

func toDomainJSON(d tenancy.SendingDomain) domainJSON {
	out := domainJSON{Domain: d.Name, Server: d.ServerID, Verified: d.Verified, VerificationMethod: d.VerifiedMethod, DKIM: []dkimKeyJSON{}}
	for _, k := range d.Keys {
		out.DKIM = append(out.DKIM, dkimKeyJSON{Selector: k.Selector, Algorithm: k.Algorithm, State: k.State})
	}
	return out
}

// printZone prints records as zone-file lines, each after a comment naming its purpose.
func printZone(w io.Writer, recs []tenancy.DNSRecord) error {
	for _, r := range recs {
		req := "optional"
		if r.Required {
			req = "required"
		}
		if _, err := fmt.Fprintf(w, "; %s (%s)\n%s\n", r.Purpose, req, tenancy.ZoneLine(r, zoneTTL)); err != nil {
			return err
		}
	}
	return nil
}
