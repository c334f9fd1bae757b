package tenancy

import (
	"context"
	"fmt"
	"strings"

	"github.com/posthaste/posthaste/events"
)

// CheckDNS looks every record of d up through r and says, per record, whether it is ok,
// missing or invalid, and why. A failed lookup counts as missing with the lookup error as the
// reason.
func CheckDNS(ctx context.Context, r Resolver, d SendingDomain, cfg DNSConfig) []events.DNSRecordCheck {
	recs := DNSRecords(d, cfg)
	out := make([]events.DNSRecordCheck, 0, len(recs))
	keys := map[string]DomainKey{}
	for _, k := range d.Keys {
		keys[k.Selector] = k
	}
	for _, rec := range recs {
		status, reason := checkRecord(ctx, r, rec, d, cfg, keys)
		out = append(out, events.DNSRecordCheck{Purpose: rec.Purpose, Name: rec.Name, Status: status, Reason: reason, Required: rec.Required})
	}
	return out
}

func checkRecord(ctx context.Context, r Resolver, rec DNSRecord, d SendingDomain, cfg DNSConfig, keys map[string]DomainKey) (string, string) {
	lookupFailed := func(err error) (string, string) {
		return StatusMissing, fmt.Sprintf("%s lookup of %s failed: %v", rec.Type, rec.Name, err)
	}
	switch rec.Purpose {
	case PurposeReturnPath:
		target, err := r.LookupCNAME(ctx, rec.Name)
		if err != nil {
			return lookupFailed(err)
		}
		return CheckReturnPath(rec.Name, target, cfg.ReturnPathDomain)
	case PurposeMX:
		mxs, err := r.LookupMX(ctx, rec.Name)
		if err != nil {
			return lookupFailed(err)
		}
		return CheckMX(rec.Name, mxs, cfg.Hostname)
	}
	txts, err := r.LookupTXT(ctx, rec.Name)
	if err != nil {
		return lookupFailed(err)
	}
	switch rec.Purpose {
	case PurposeVerification:
		return CheckOwnership(rec.Name, txts, d.VerificationToken)
	case PurposeSPF:
		return CheckSPF(rec.Name, txts, cfg.SPFInclude)
	case PurposeDKIM:
		k := keys[rec.Selector]
		return CheckDKIM(rec.Name, txts, k.Algorithm, k.PublicKey)
	case PurposeDMARC:
		return CheckDMARC(rec.Name, txts)
	}
	return StatusInvalid, "unknown record purpose " + rec.Purpose
}

// CheckOwnership looks for the ownership TXT record among the TXT records of name.
func CheckOwnership(name string, txts []string, token string) (string, string) {
	want := VerificationPrefix + token
	var others []string
	for _, t := range txts {
		t = strings.TrimSpace(t)
		if t == want {
			return StatusOK, ""
		}
		if strings.HasPrefix(t, VerificationPrefix) {
			others = append(others, strings.TrimPrefix(t, VerificationPrefix))
		}
	}
	if len(others) > 0 {
		return StatusInvalid, fmt.Sprintf("ownership TXT record at %s has token %s, expected %s", name, strings.Join(others, ", "), token)
	}
	return StatusMissing, fmt.Sprintf("no TXT record %q at %s", want, name)
}

// isSPF reports whether a TXT record is an SPF record (RFC 7208 4.5: "v=spf1" then space or end).
func isSPF(t string) bool {
	t = strings.ToLower(strings.TrimSpace(t))
	return t == "v=spf1" || strings.HasPrefix(t, "v=spf1 ")
}

// CheckSPF requires exactly one SPF record at name that includes include (or redirects to it).
func CheckSPF(name string, txts []string, include string) (string, string) {
	var spf []string
	for _, t := range txts {
		if isSPF(t) {
			spf = append(spf, t)
		}
	}
	switch len(spf) {
	case 0:
		return StatusMissing, fmt.Sprintf("no SPF record (TXT \"v=spf1 ...\") at %s", name)
	case 1:
	default:
		return StatusInvalid, fmt.Sprintf("%d SPF records at %s; there must be exactly one (RFC 7208)", len(spf), name)
	}
	want := strings.ToLower(strings.TrimSuffix(include, "."))
	terms := strings.Fields(strings.ToLower(spf[0]))[1:]
	hasAll := false
	for _, t := range terms {
		hasAll = hasAll || strings.TrimLeft(t, "+-~?") == "all"
	}
	sawAll := false
	for _, term := range terms {
		qual := byte('+')
		if strings.IndexByte("+-~?", term[0]) >= 0 {
			qual, term = term[0], term[1:]
		}
		if term == "all" {
			sawAll = true // mechanisms after "all" are never evaluated (RFC 7208 5.1)
			continue
		}
		if strings.HasPrefix(term, "redirect=") && strings.TrimSuffix(strings.TrimPrefix(term, "redirect="), ".") == want {
			if hasAll { // RFC 7208 6.1: redirect is ignored when the record has "all"
				return StatusInvalid, fmt.Sprintf("SPF record redirects to %s but also has \"all\", so the redirect is ignored", include)
			}
			return StatusOK, ""
		}
		if !strings.HasPrefix(term, "include:") || strings.TrimSuffix(strings.TrimPrefix(term, "include:"), ".") != want {
			continue
		}
		switch {
		case sawAll:
			return StatusInvalid, fmt.Sprintf("SPF record includes %s after \"all\", where it is never evaluated", include)
		case qual != '+':
			return StatusInvalid, fmt.Sprintf("SPF record includes %s with qualifier %q; it must be a plain include:%s", include, string(qual), include)
		}
		return StatusOK, ""
	}
	return StatusInvalid, fmt.Sprintf("SPF record exists but does not include %s", include)
}

// parseTags parses a DKIM/DMARC tag list ("v=DKIM1; k=rsa; p=...") into lowercase keys.
func parseTags(s string) map[string]string {
	tags := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		tags[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return tags
}

// CheckDKIM requires one DKIM key record at name carrying the expected algorithm and public key.
func CheckDKIM(name string, txts []string, alg, publicKey string) (string, string) {
	switch len(txts) {
	case 0:
		return StatusMissing, fmt.Sprintf("no DKIM record (TXT) at %s", name)
	case 1:
	default:
		return StatusInvalid, fmt.Sprintf("%d TXT records at %s; a DKIM selector must have exactly one", len(txts), name)
	}
	tags := parseTags(txts[0])
	if v, ok := tags["v"]; ok && v != "DKIM1" {
		return StatusInvalid, fmt.Sprintf("DKIM record at %s has v=%s, expected v=DKIM1", name, v)
	}
	p, ok := tags["p"]
	if !ok {
		return StatusInvalid, fmt.Sprintf("DKIM record at %s has no public key (p= tag)", name)
	}
	p = strings.Join(strings.Fields(p), "") // whitespace inside p= is allowed (RFC 6376 3.6.1)
	if p == "" {
		return StatusInvalid, fmt.Sprintf("DKIM record at %s has an empty p= (the key is revoked)", name)
	}
	k := tags["k"]
	if k == "" {
		k = "rsa"
	}
	if want := keyTag(alg); !strings.EqualFold(k, want) {
		return StatusInvalid, fmt.Sprintf("DKIM record at %s has k=%s, expected k=%s", name, k, want)
	}
	if p != publicKey {
		return StatusInvalid, fmt.Sprintf("DKIM record at %s has a different public key (p=) than the domain's key", name)
	}
	return StatusOK, ""
}

// CheckDMARC requires one DMARC record at name with a valid policy.
func CheckDMARC(name string, txts []string) (string, string) {
	var recs []string
	for _, t := range txts {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(t)), "V=DMARC1") {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return StatusMissing, fmt.Sprintf("no DMARC record (TXT \"v=DMARC1; ...\") at %s", name)
	case 1:
	default:
		return StatusInvalid, fmt.Sprintf("%d DMARC records at %s; there must be exactly one", len(recs), name)
	}
	p, ok := parseTags(recs[0])["p"]
	if !ok {
		return StatusInvalid, fmt.Sprintf("DMARC record at %s has no policy (p= tag)", name)
	}
	switch strings.ToLower(p) {
	case "quarantine", "reject":
		return StatusOK, ""
	case "none":
		return StatusOK, "policy p=none only monitors; p=quarantine is recommended"
	}
	return StatusInvalid, fmt.Sprintf("DMARC record at %s has unknown policy p=%s", name, p)
}

// CheckReturnPath requires name to be a CNAME of the return-path domain.
func CheckReturnPath(name, target, want string) (string, string) {
	if target == "" {
		return StatusMissing, fmt.Sprintf("no CNAME at %s", name)
	}
	if !strings.EqualFold(strings.TrimSuffix(target, "."), want) {
		return StatusInvalid, fmt.Sprintf("return-path CNAME at %s points to %s, expected %s", name, target, want)
	}
	return StatusOK, ""
}

// CheckMX requires host among the MX records of name.
func CheckMX(name string, mxs []MX, host string) (string, string) {
	if len(mxs) == 0 {
		return StatusMissing, fmt.Sprintf("no MX record at %s", name)
	}
	var hosts []string
	for _, mx := range mxs {
		if strings.EqualFold(strings.TrimSuffix(mx.Host, "."), host) {
			return StatusOK, ""
		}
		hosts = append(hosts, mx.Host)
	}
	return StatusInvalid, fmt.Sprintf("MX at %s points to %s, expected %s", name, strings.Join(hosts, ", "), host)
}
