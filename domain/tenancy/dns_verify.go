package tenancy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/posthaste/posthaste/domain/spf"
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
		return CheckSPF(ctx, SPFResolver(r), rec.Name, txts, cfg.SPFInclude)
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

// Probe addresses for SPF evaluation: addresses no sane record authorizes, so that the
// evaluation visits every term (the worst case for the lookup limits) and a pass means the
// record authorizes any sender.
var (
	spfProbe4 = netip.MustParseAddr("240.0.0.1") // reserved (240.0.0.0/4): never a sender
	spfProbe6 = netip.MustParseAddr("100::1")    // discard-only prefix (RFC 6666)
)

// spfPlaceholder stands in for the platform's own SPF record (at POSTHASTE_SPF_INCLUDE) while
// it is not published, so that the rest of the domain's record is still evaluated.
const spfPlaceholder = "v=spf1 ?all"

// maxPlatformProbes bounds the platform addresses checked to pass.
const maxPlatformProbes = 4

// SPFResolver is the SPF evaluator's DNS port over r: r itself when it implements it
// (adapters/dnsresolver does), else an adaptation that has no PTR records and reports
// NXDOMAIN as no data (the SPF results are the same but for "ptr" and %{p}).
func SPFResolver(r Resolver) spf.Resolver {
	if sr, ok := r.(spf.Resolver); ok {
		return sr
	}
	return lookupPort{r}
}

type lookupPort struct{ r Resolver }

func (p lookupPort) QueryTXT(ctx context.Context, name string) ([]string, error) {
	return p.r.LookupTXT(ctx, name)
}

func (p lookupPort) addrs(ctx context.Context, name string, v4 bool) ([]netip.Addr, error) {
	all, err := p.r.LookupIP(ctx, name)
	var out []netip.Addr
	for _, a := range all {
		if a.Unmap().Is4() == v4 {
			out = append(out, a.Unmap())
		}
	}
	return out, err
}

func (p lookupPort) QueryA(ctx context.Context, name string) ([]netip.Addr, error) {
	return p.addrs(ctx, name, true)
}

func (p lookupPort) QueryAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	return p.addrs(ctx, name, false)
}

func (p lookupPort) QueryMX(ctx context.Context, name string) ([]string, error) {
	mxs, err := p.r.LookupMX(ctx, name)
	var out []string
	for _, m := range mxs {
		out = append(out, m.Host)
	}
	return out, err
}

func (p lookupPort) QueryPTR(context.Context, string) ([]string, error) { return nil, nil }

// spfView is the DNS as CheckSPF's evaluations see it: every answer (failures included) is
// remembered, so the several evaluations of one check ask each question once, and the platform
// include's TXT lookup answers spfPlaceholder while the include has no SPF record (missing
// says it did).
type spfView struct {
	r       spf.Resolver
	include string
	missing bool
	txt     map[string]spfAnswer[string]
	addr    map[string]spfAnswer[netip.Addr]
	names   map[string]spfAnswer[string]
}

type spfAnswer[T any] struct {
	v   []T
	err error
}

func newSPFView(r spf.Resolver, include string) *spfView {
	return &spfView{r: r, include: include, txt: map[string]spfAnswer[string]{},
		addr: map[string]spfAnswer[netip.Addr]{}, names: map[string]spfAnswer[string]{}}
}

func remember[T any](m map[string]spfAnswer[T], key string, q func() ([]T, error)) ([]T, error) {
	if a, ok := m[key]; ok {
		return a.v, a.err
	}
	v, err := q()
	m[key] = spfAnswer[T]{v, err}
	return v, err
}

func (s *spfView) QueryTXT(ctx context.Context, name string) ([]string, error) {
	txts, err := remember(s.txt, strings.ToLower(name), func() ([]string, error) { return s.r.QueryTXT(ctx, name) })
	if s.include == "" || !strings.EqualFold(strings.TrimSuffix(name, "."), s.include) {
		return txts, err
	}
	if err != nil && !errors.Is(err, spf.ErrNXDomain) {
		return txts, err
	}
	for _, t := range txts {
		if spf.IsSPF(t) {
			return txts, nil
		}
	}
	s.missing = true
	return append(append([]string(nil), txts...), spfPlaceholder), nil
}

func (s *spfView) QueryA(ctx context.Context, name string) ([]netip.Addr, error) {
	return remember(s.addr, "A "+strings.ToLower(name), func() ([]netip.Addr, error) { return s.r.QueryA(ctx, name) })
}

func (s *spfView) QueryAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	return remember(s.addr, "AAAA "+strings.ToLower(name), func() ([]netip.Addr, error) { return s.r.QueryAAAA(ctx, name) })
}

func (s *spfView) QueryMX(ctx context.Context, name string) ([]string, error) {
	return remember(s.names, "MX "+strings.ToLower(name), func() ([]string, error) { return s.r.QueryMX(ctx, name) })
}

func (s *spfView) QueryPTR(ctx context.Context, name string) ([]string, error) {
	return remember(s.names, "PTR "+strings.ToLower(name), func() ([]string, error) { return s.r.QueryPTR(ctx, name) })
}

// CheckSPF evaluates the SPF record of name (txts are its TXT records) as receivers do, with
// RFC 7208 check_host through r, and requires:
//   - exactly one SPF record;
//   - no permerror anywhere in its evaluation tree: syntax, more than 10 DNS-querying terms,
//     more than 2 void lookups, an include without a record, two records at an include...
//     (checked from a reserved IPv4 and IPv6 address that matches no term, so every term is
//     evaluated);
//   - no pass for those reserved addresses ("+all" or the like authorizes any sender);
//   - the platform's include (include) reached by the evaluation through plain "+" includes
//     or redirects, at any depth;
//   - the first addresses the include's own record lists (ip4:/ip6:) pass for name, so no
//     earlier term fails or softfails the platform's senders.
//
// A temperror counts as missing (a failed lookup). While the include itself has no SPF record
// (the platform's record, not the domain's), the domain's record is evaluated without it and
// is ok with that said in the reason.
func CheckSPF(ctx context.Context, r spf.Resolver, name string, txts []string, include string) (string, string) {
	var recs []string
	for _, t := range txts {
		if spf.IsSPF(t) {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return StatusMissing, fmt.Sprintf("no SPF record (TXT \"v=spf1 ...\") at %s", name)
	case 1:
	default:
		return StatusInvalid, fmt.Sprintf("%d SPF records at %s; there must be exactly one (RFC 7208)", len(recs), name)
	}
	include = strings.ToLower(strings.TrimSuffix(include, "."))
	view := newSPFView(r, include)
	c := &spf.Checker{Resolver: view, Audit: true}
	sender := "postmaster@" + name
	out4 := c.CheckHost(ctx, spfProbe4, name, sender, name)
	if st, why := spfProblem(name, out4, spfProbe4, ""); st != "" {
		return st, why
	}
	out6 := c.CheckHost(ctx, spfProbe6, name, sender, name)
	if st, why := spfProblem(name, out6, spfProbe6, " (for IPv6 senders)"); st != "" {
		return st, why
	}
	if include == "" {
		return StatusOK, ""
	}
	v, ok := reached(out4.Visits, include)
	if !ok {
		return StatusInvalid, spfIncludeHint(recs[0], include)
	}
	if view.missing {
		return StatusOK, fmt.Sprintf("the record includes %s, which has no SPF record yet: receivers get permerror until the platform publishes it", include)
	}
	for _, ip := range platformAddrs(v.Record) {
		o := c.CheckHost(ctx, ip, name, sender, name)
		if o.Result != spf.Pass {
			return StatusInvalid, fmt.Sprintf("SPF record does not pass %s, a sending address of %s: %s (%s)", ip, include, o.Result, o.Reason)
		}
	}
	return StatusOK, ""
}

// spfProblem turns an evaluation from a probe address into a status and reason, or "" when it
// shows no problem.
func spfProblem(name string, o spf.Outcome, probe netip.Addr, suffix string) (string, string) {
	switch o.Result {
	case spf.PermError:
		return StatusInvalid, "SPF record invalid: " + o.Reason + suffix
	case spf.TempError:
		return StatusMissing, "SPF record could not be evaluated: " + o.Reason + suffix
	case spf.None:
		return StatusMissing, fmt.Sprintf("no SPF record at %s when evaluated: %s", name, o.Reason)
	case spf.Pass:
		return StatusInvalid, fmt.Sprintf("SPF record authorizes any sender: %s, a reserved address, passes (%s)", probe, o.Reason)
	}
	return "", ""
}

// reached finds the visit of include through "+" includes and redirects only.
func reached(visits []spf.Visit, include string) (spf.Visit, bool) {
	for _, v := range visits {
		if v.Domain != include {
			continue
		}
		plain := true
		for _, t := range v.Via {
			t = strings.ToLower(t)
			plain = plain && (strings.HasPrefix(t, "include:") || strings.HasPrefix(t, "+include:") || strings.HasPrefix(t, "redirect="))
		}
		if plain {
			return v, true
		}
	}
	return spf.Visit{}, false
}

// platformAddrs lists the first addresses the platform's record authorizes directly.
func platformAddrs(record string) []netip.Addr {
	rec, err := spf.Parse(record)
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, d := range rec.Directives {
		if d.Qualifier == '+' && (d.Mechanism == spf.MechIP4 || d.Mechanism == spf.MechIP6) && len(out) < maxPlatformProbes {
			out = append(out, d.Prefix.Addr())
		}
	}
	return out
}

// spfIncludeHint says why the evaluation of record does not reach include.
func spfIncludeHint(record, include string) string {
	terms := strings.Fields(strings.ToLower(record))[1:]
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
		if strings.HasPrefix(term, "redirect=") && strings.TrimSuffix(strings.TrimPrefix(term, "redirect="), ".") == include {
			if hasAll { // RFC 7208 6.1: redirect is ignored when the record has "all"
				return fmt.Sprintf("SPF record redirects to %s but also has \"all\", so the redirect is ignored", include)
			}
			return fmt.Sprintf("SPF record redirects to %s but its evaluation never gets there", include)
		}
		if !strings.HasPrefix(term, "include:") || strings.TrimSuffix(strings.TrimPrefix(term, "include:"), ".") != include {
			continue
		}
		switch {
		case sawAll:
			return fmt.Sprintf("SPF record includes %s after \"all\", where it is never evaluated", include)
		case qual != '+':
			return fmt.Sprintf("SPF record includes %s with qualifier %q; it must be a plain include:%s", include, string(qual), include)
		}
		return fmt.Sprintf("SPF record includes %s but its evaluation never gets there (an earlier term matches)", include)
	}
	return fmt.Sprintf("SPF record exists but does not include %s", include)
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
