package tenancy

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Record purposes, in the order they are printed.
const (
	PurposeVerification = "verification"
	PurposeSPF          = "spf"
	PurposeDKIM         = "dkim"
	PurposeDMARC        = "dmarc"
	PurposeReturnPath   = "return_path"
	PurposeMX           = "mx"
)

// Check statuses.
const (
	StatusOK      = "ok"
	StatusMissing = "missing"
	StatusInvalid = "invalid"
)

// ReturnPathLabel is the label under a sending domain that CNAMEs to the return-path domain.
const ReturnPathLabel = "psrp"

// VerificationPrefix starts the ownership TXT record.
const VerificationPrefix = "posthaste-verification="

// DNSConfig is the platform side of every domain's records.
type DNSConfig struct {
	SPFInclude       string // POSTHASTE_SPF_INCLUDE
	ReturnPathDomain string // POSTHASTE_RETURN_PATH_DOMAIN
	Hostname         string // POSTHASTE_HOSTNAME: the bounce MX
}

// Validate lists every missing setting: the SPF include and the return-path domain must be
// domain names; the hostname must be set (the machine's own name may be a single label, as it
// is on hosts without a domain: the binary has always accepted it).
func (c DNSConfig) Validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"spf include", c.SPFInclude}, {"return-path domain", c.ReturnPathDomain}} {
		if _, err := NormalizeDomain(f.v); err != nil {
			errs = append(errs, fmt.Errorf("dns config: %s: %w", f.name, err))
		}
	}
	if strings.TrimSpace(c.Hostname) == "" {
		errs = append(errs, fmt.Errorf("dns config: hostname: %w: host name is empty", ErrInvalid))
	}
	return errors.Join(errs...)
}

// DNSRecord is one record to publish. Name is the owner name without the trailing dot; Value is
// the record data as one string (TXT unsplit, CNAME target, MX "preference host").
type DNSRecord struct {
	Purpose  string `json:"purpose"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Value    string `json:"value"`
	Required bool   `json:"required"`
	Selector string `json:"-"` // DKIM records: the key's selector
}

func dkimName(selector, domain string) string { return selector + "._domainkey." + domain }

// SPFValue is the SPF record a domain should publish.
func SPFValue(include string) string { return "v=spf1 a mx include:" + include + " ~all" }

// DMARCValue is the DMARC record: quarantine, with aggregate reports to the domain itself.
func DMARCValue(domain string) string {
	return "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@" + domain + "; adkim=r; aspf=r"
}

// DKIMValue is the DKIM key record of a public key.
func DKIMValue(alg, publicKey string) string {
	return "v=DKIM1; k=" + keyTag(alg) + "; p=" + publicKey
}

// DNSRecords renders every record of d, ready to paste into its zone: ownership TXT, SPF,
// one DKIM TXT per active or pending key, DMARC, the return-path CNAME and the bounce MX (the
// last one lives in the return-path domain's zone, published once for the platform).
// Required: ownership, SPF and the DKIM keys that sign now.
func DNSRecords(d SendingDomain, cfg DNSConfig) []DNSRecord {
	recs := []DNSRecord{
		{Purpose: PurposeVerification, Type: "TXT", Name: d.Name, Value: VerificationPrefix + d.VerificationToken, Required: true},
		{Purpose: PurposeSPF, Type: "TXT", Name: d.Name, Value: SPFValue(cfg.SPFInclude), Required: true},
	}
	keys := append([]DomainKey(nil), d.Keys...)
	// RSA before Ed25519, the signing key before a pending one: stable across rotations.
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].Algorithm != keys[j].Algorithm {
			return keys[i].Algorithm == AlgRSASHA256
		}
		return keys[i].State == KeyActive && keys[j].State != KeyActive
	})
	for _, k := range keys {
		if k.State == KeyRetired {
			continue
		}
		recs = append(recs, DNSRecord{Purpose: PurposeDKIM, Type: "TXT", Name: dkimName(k.Selector, d.Name),
			Value: DKIMValue(k.Algorithm, k.PublicKey), Required: k.State == KeyActive, Selector: k.Selector})
	}
	return append(recs,
		DNSRecord{Purpose: PurposeDMARC, Type: "TXT", Name: "_dmarc." + d.Name, Value: DMARCValue(d.Name)},
		DNSRecord{Purpose: PurposeReturnPath, Type: "CNAME", Name: ReturnPathLabel + "." + d.Name, Value: cfg.ReturnPathDomain},
		DNSRecord{Purpose: PurposeMX, Type: "MX", Name: cfg.ReturnPathDomain, Value: "10 " + cfg.Hostname},
	)
}

// ZoneLine renders r as a zone-file line: absolute names, TXT data split into quoted
// character-strings of at most 255 bytes.
func ZoneLine(r DNSRecord, ttl int) string {
	data := r.Value
	switch r.Type {
	case "TXT":
		var parts []string
		for v := r.Value; ; {
			n := min(len(v), 255)
			parts = append(parts, strconv.Quote(v[:n]))
			if v = v[n:]; v == "" {
				break
			}
		}
		data = strings.Join(parts, " ")
	case "CNAME":
		data = r.Value + "."
	case "MX":
		data = r.Value + "."
	}
	return fmt.Sprintf("%s. %d IN %s %s", r.Name, ttl, r.Type, data)
}
