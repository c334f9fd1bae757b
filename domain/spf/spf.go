// Package spf evaluates SPF records: check_host() of RFC 7208 with macros, every mechanism and
// modifier, record selection and the processing limits (10 DNS-querying terms, 2 void lookups,
// 10 names per MX or PTR lookup), through a DNS port implemented by adapters/dnsresolver.
//
// It is conformance-tested against the openspf RFC 7208 suite served by a real DNS server on
// loopback (adapters/dnsresolver). Beyond the result, an Outcome says why (the matching term, or
// the error and where it was found) and which records the evaluation reached, which is what
// `posthaste domain verify` reports to an operator.
package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Result is a check_host() result (RFC 7208 2.6).
type Result string

// The results.
const (
	None      Result = "none"
	Neutral   Result = "neutral"
	Pass      Result = "pass"
	Fail      Result = "fail"
	SoftFail  Result = "softfail"
	TempError Result = "temperror"
	PermError Result = "permerror"
)

// Processing limits (RFC 7208 4.6.4).
const (
	MaxDNSTerms    = 10 // include, a, mx, ptr, exists, redirect
	MaxVoidLookups = 2  // lookups answering NXDOMAIN or no data
	MaxNames       = 10 // MX names per "mx", PTR names per "ptr"
)

// DefaultExplanation is the explanation of a fail when the record has no usable exp=.
const DefaultExplanation = "SPF fail - not authorized"

// ErrNXDomain is returned (wrapped) by a Resolver when the name does not exist.
var ErrNXDomain = errors.New("no such domain (NXDOMAIN)")

// Resolver is the DNS port of the evaluator.
//
// Contract: a name that exists without records of the type (NODATA) gives an empty result and
// a nil error; a name that does not exist gives an error wrapping ErrNXDomain; any other error
// (timeout, SERVFAIL, refused) is a failed lookup. Names are passed without a trailing dot and
// returned (MX, PTR) lowercase without one. QueryTXT returns one string per TXT record, its
// character-strings concatenated; QueryMX returns the exchanges in any order.
type Resolver interface {
	QueryTXT(ctx context.Context, name string) ([]string, error)
	QueryA(ctx context.Context, name string) ([]netip.Addr, error)
	QueryAAAA(ctx context.Context, name string) ([]netip.Addr, error)
	QueryMX(ctx context.Context, name string) ([]string, error)
	QueryPTR(ctx context.Context, name string) ([]string, error)
}

// Checker evaluates SPF.
type Checker struct {
	Resolver Resolver
	// Hostname is the receiving host, for the %{r} macro ("unknown" when empty).
	Hostname string
	// Now gives %{t}; time.Now when nil.
	Now func() time.Time
	// Audit keeps evaluating past the DNS lookup and void lookup limits (up to AuditCap
	// lookups) so that the permerror says how many the record needs ("12 DNS lookups (limit
	// 10)"). The result is the same as without it: a receiver stops at the limit.
	Audit bool
}

// AuditCap bounds the DNS-querying terms evaluated in Audit mode (include loops).
const AuditCap = 10 * MaxDNSTerms

// Visit is a record the evaluation reached: the checked domain's, or one reached through
// include: and redirect= terms (Via, outermost first, each as written, e.g. "~include:x.net").
type Visit struct {
	Domain string
	Via    []string
	Record string // "" when the domain has no SPF record
}

// Outcome is the result of CheckHost with what led to it.
type Outcome struct {
	Result Result
	// Explanation of a fail: the expanded exp= text, or DefaultExplanation.
	Explanation string
	// Reason says why: the matching term and its domain, or the error.
	Reason string
	// Lookups counts the DNS-querying terms evaluated; Voids the void lookups.
	Lookups, Voids int
	// Visits lists the records reached, in evaluation order.
	Visits []Visit
}

// CheckHost runs check_host(ip, domain, sender) of RFC 7208 4. sender is the MAIL FROM
// address, or postmaster@helo when it is empty; helo is the HELO/EHLO name.
func (c *Checker) CheckHost(ctx context.Context, ip netip.Addr, domain, sender, helo string) Outcome {
	e := &evaluation{c: c, ip: ip.Unmap(), helo: helo, sender: sender}
	if sender == "" {
		e.sender = "postmaster@" + helo
	}
	e.local, e.senderDomain = "postmaster", domain
	if i := strings.LastIndexByte(e.sender, '@'); i >= 0 {
		if i > 0 {
			e.local = e.sender[:i]
		}
		e.senderDomain = e.sender[i+1:]
	} else {
		e.senderDomain = e.sender
	}
	if !strings.Contains(e.sender, "@") || strings.HasPrefix(e.sender, "@") {
		e.sender = "postmaster@" + e.senderDomain
	}
	r := e.checkHost(ctx, domain, nil)
	if c.Audit {
		switch {
		case e.lookups > AuditCap: // r says so
		case e.lookups > MaxDNSTerms:
			r = permerror("%d DNS lookups (limit %d)", e.lookups, MaxDNSTerms)
		case e.voids > MaxVoidLookups:
			r = permerror("%d void DNS lookups (limit %d): %s", e.voids, MaxVoidLookups, strings.Join(e.voidTerms, ", "))
		}
	}
	out := Outcome{Result: r.res, Explanation: r.exp, Reason: r.why, Lookups: e.lookups, Voids: e.voids, Visits: e.visits}
	if out.Result == Fail && out.Explanation == "" {
		out.Explanation = DefaultExplanation
	}
	return out
}

type evaluation struct {
	c                           *Checker
	ip                          netip.Addr
	sender, local, senderDomain string
	helo                        string
	domain                      string // the domain being evaluated, for %{d}
	lookups, voids              int
	voidTerms                   []string
	visits                      []Visit
	ptrDone                     bool
	ptrNames                    []string // validated names of ip, for %{p}
}

type result struct {
	res      Result
	exp, why string
}

func permerror(format string, args ...any) result {
	return result{res: PermError, why: fmt.Sprintf(format, args...)}
}

func temperror(format string, args ...any) result {
	return result{res: TempError, why: fmt.Sprintf(format, args...)}
}

// validDomain: RFC 7208 4.3: a multi-label name, no empty label but a final one, labels of at
// most 63 octets, at most 253 octets; not a domain literal.
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if len(d) == 0 || len(d) > 253 || strings.ContainsAny(d, "[] ") {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return false
		}
	}
	return true
}

func normalize(d string) string { return strings.ToLower(strings.TrimSuffix(d, ".")) }

// checkHost evaluates the record of domain; via is the include/redirect chain that led here.
func (e *evaluation) checkHost(ctx context.Context, domain string, via []string) result {
	if !validDomain(domain) {
		return result{res: None, why: fmt.Sprintf("%q is not a valid domain name", domain)}
	}
	domain = normalize(domain)
	visit := len(e.visits)
	e.visits = append(e.visits, Visit{Domain: domain, Via: via})
	txts, err := e.c.Resolver.QueryTXT(ctx, domain)
	if errors.Is(err, ErrNXDomain) {
		return result{res: None, why: fmt.Sprintf("%s does not exist", domain)}
	}
	if err != nil {
		return temperror("TXT lookup of %s failed: %v", domain, err)
	}
	var recs []string
	for _, t := range txts {
		if IsSPF(t) {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return result{res: None, why: fmt.Sprintf("no SPF record at %s", domain)}
	case 1:
	default:
		return permerror("%d SPF records at %s; there must be exactly one", len(recs), domain)
	}
	e.visits[visit].Record = recs[0]
	rec, err := Parse(recs[0])
	if err != nil {
		return permerror("SPF record at %s: %v", domain, err)
	}
	saved := e.domain
	e.domain = domain
	defer func() { e.domain = saved }()

	for _, d := range rec.Directives {
		matched, r, stop := e.evalDirective(ctx, d, via)
		if stop {
			return r
		}
		if !matched {
			continue
		}
		res := qualifierResult(d.Qualifier)
		out := result{res: res, why: fmt.Sprintf("%q matched at %s", d.Text, domain)}
		if res == Fail && !underInclude(via) { // an include's explanation is never shown
			out.exp = e.explain(ctx, rec.Exp)
		}
		return out
	}
	if rec.Redirect != "" && !hasAll(rec) {
		if r, stop := e.countTerm("redirect=" + rec.Redirect); stop {
			return r
		}
		target, err := e.expandDomain(ctx, rec.Redirect)
		if err != nil {
			return permerror("redirect=%s at %s: %v", rec.Redirect, domain, err)
		}
		r := e.checkHost(ctx, target, appendVia(via, "redirect="+target))
		if r.res == None {
			return permerror("redirect=%s at %s: %s", target, domain, r.why)
		}
		return r
	}
	return result{res: Neutral, why: fmt.Sprintf("no term matched at %s", domain)}
}

func underInclude(via []string) bool {
	for _, t := range via {
		if !strings.HasPrefix(t, "redirect=") {
			return true
		}
	}
	return false
}

func appendVia(via []string, term string) []string {
	return append(append([]string(nil), via...), term)
}

func hasAll(r *Record) bool {
	for _, d := range r.Directives {
		if d.Mechanism == MechAll {
			return true
		}
	}
	return false
}

func qualifierResult(q byte) Result {
	switch q {
	case '-':
		return Fail
	case '~':
		return SoftFail
	case '?':
		return Neutral
	}
	return Pass
}

// countTerm counts one DNS-querying term against the limit.
func (e *evaluation) countTerm(term string) (result, bool) {
	e.lookups++
	if e.c.Audit && e.lookups > AuditCap {
		return permerror("more than %d DNS lookups (limit %d; an include or redirect loop?), at %q in %s", AuditCap, MaxDNSTerms, term, e.domain), true
	}
	if e.lookups > MaxDNSTerms && !e.c.Audit {
		return permerror("more than %d DNS lookups (limit reached at %q in %s)", MaxDNSTerms, term, e.domain), true
	}
	return result{}, false
}

// void counts a void lookup against the limit.
func (e *evaluation) void(term string) (result, bool) {
	e.voids++
	e.voidTerms = append(e.voidTerms, fmt.Sprintf("%q at %s", term, e.domain))
	if e.voids > MaxVoidLookups && !e.c.Audit {
		return permerror("more than %d void DNS lookups (limit reached at %q in %s)", MaxVoidLookups, term, e.domain), true
	}
	return result{}, false
}

// expandDomain expands a domain-spec and truncates it to 253 octets from the left.
func (e *evaluation) expandDomain(ctx context.Context, spec string) (string, error) {
	d, err := expandMacros(ctx, spec, e, false)
	if err != nil {
		return "", err
	}
	d = strings.TrimSuffix(d, ".")
	for len(d) > 253 {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return d, nil
}

// addrs looks up the addresses of name of the family of ip.
func (e *evaluation) addrs(ctx context.Context, name string) ([]netip.Addr, error) {
	if e.ip.Is4() {
		return e.c.Resolver.QueryA(ctx, name)
	}
	return e.c.Resolver.QueryAAAA(ctx, name)
}

func (e *evaluation) inCIDR(a netip.Addr, d Directive) bool {
	a = a.Unmap()
	if a.Is4() != e.ip.Is4() {
		return false
	}
	bits := d.CIDR4
	if a.Is6() {
		bits = d.CIDR6
	}
	if bits < 0 {
		return a == e.ip
	}
	p, err := a.Prefix(bits)
	return err == nil && p.Contains(e.ip)
}

// evalDirective evaluates one mechanism: whether it matched, or a result that ends the
// evaluation (stop) on an error.
func (e *evaluation) evalDirective(ctx context.Context, d Directive, via []string) (bool, result, bool) {
	switch d.Mechanism {
	case MechAll:
		return true, result{}, false
	case MechIP4, MechIP6:
		return d.Prefix.Contains(e.ip), result{}, false
	}
	if r, stop := e.countTerm(d.Text); stop {
		return false, r, true
	}
	target := e.domain
	if d.Domain != "" {
		var err error
		if target, err = e.expandDomain(ctx, d.Domain); err != nil {
			return false, permerror("%q at %s: %v", d.Text, e.domain, err), true
		}
	}
	switch d.Mechanism {
	case MechInclude:
		r := e.checkHost(ctx, target, appendVia(via, d.Text))
		switch r.res {
		case Pass:
			return true, result{}, false
		case Fail, SoftFail, Neutral:
			return false, result{}, false
		case TempError:
			return false, r, true
		case None:
			return false, permerror("%q at %s: %s", d.Text, e.domain, r.why), true
		}
		return false, r, true
	case MechA:
		as, err := e.addrs(ctx, target)
		if r, stop := e.lookupResult(d, target, len(as), err); stop || len(as) == 0 {
			return false, r, stop
		}
		for _, a := range as {
			if e.inCIDR(a, d) {
				return true, result{}, false
			}
		}
		return false, result{}, false
	case MechMX:
		hosts, err := e.c.Resolver.QueryMX(ctx, target)
		if r, stop := e.lookupResult(d, target, len(hosts), err); stop || len(hosts) == 0 {
			return false, r, stop
		}
		if len(hosts) > MaxNames {
			return false, permerror("%q at %s: %s has %d MX records (limit %d)", d.Text, e.domain, target, len(hosts), MaxNames), true
		}
		for _, h := range hosts {
			if h == "" {
				continue
			}
			as, err := e.addrs(ctx, h)
			if err != nil && !errors.Is(err, ErrNXDomain) {
				return false, temperror("%q at %s: address lookup of %s failed: %v", d.Text, e.domain, h, err), true
			}
			for _, a := range as {
				if e.inCIDR(a, d) {
					return true, result{}, false
				}
			}
		}
		return false, result{}, false
	case MechPTR:
		target = normalize(target)
		names, err := e.validatedNames(ctx, d.Text)
		if err != nil {
			if r, ok := err.(resultError); ok {
				return false, r.r, true
			}
		}
		for _, n := range names {
			if n == target || strings.HasSuffix(n, "."+target) {
				return true, result{}, false
			}
		}
		return false, result{}, false
	case MechExists:
		as, err := e.c.Resolver.QueryA(ctx, target)
		if r, stop := e.lookupResult(d, target, len(as), err); stop || len(as) == 0 {
			return false, r, stop
		}
		return true, result{}, false
	}
	return false, permerror("unknown mechanism %q", d.Mechanism), true
}

// lookupResult turns a lookup's outcome into a stop result: temperror on a failed lookup,
// permerror past the void lookup limit.
func (e *evaluation) lookupResult(d Directive, target string, n int, err error) (result, bool) {
	if err != nil && !errors.Is(err, ErrNXDomain) {
		return temperror("%q at %s: lookup of %s failed: %v", d.Text, e.domain, target, err), true
	}
	if n == 0 {
		return e.void(d.Text)
	}
	return result{}, false
}

type resultError struct{ r result }

func (r resultError) Error() string { return r.r.why }

// reverseName is the in-addr.arpa or ip6.arpa name of ip.
func reverseName(ip netip.Addr) string {
	return reverseLabels(ip) + "." + map[bool]string{true: "in-addr", false: "ip6"}[ip.Is4()] + ".arpa"
}

// reverseLabels is %{ir}: the address's octets or nibbles, reversed, dot-separated.
func reverseLabels(ip netip.Addr) string {
	parts := strings.Split(dotted(ip), ".")
	for a, b := 0, len(parts)-1; a < b; a, b = a+1, b-1 {
		parts[a], parts[b] = parts[b], parts[a]
	}
	return strings.Join(parts, ".")
}

// dotted is %{i}: dotted quad, or 32 dot-separated nibbles for IPv6.
func dotted(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	b := ip.As16()
	parts := make([]string, 0, 32)
	for _, x := range b {
		parts = append(parts, strconv.FormatUint(uint64(x>>4), 16), strconv.FormatUint(uint64(x&15), 16))
	}
	return strings.ToUpper(strings.Join(parts, "."))
}

// validatedNames: the PTR names of ip (the first 10) whose addresses include ip (RFC 7208 5.5).
// A failed PTR lookup makes "ptr" not match; a void one counts as void lookup (for "ptr"
// terms; term is "" for the %{p} macro).
func (e *evaluation) validatedNames(ctx context.Context, term string) ([]string, error) {
	names, err := e.c.Resolver.QueryPTR(ctx, reverseName(e.ip))
	if err != nil && !errors.Is(err, ErrNXDomain) {
		return nil, nil
	}
	if len(names) == 0 && term != "" {
		if r, stop := e.void(term); stop {
			return nil, resultError{r}
		}
	}
	if len(names) > MaxNames {
		names = names[:MaxNames]
	}
	var out []string
	for _, n := range names {
		as, err := e.addrs(ctx, n)
		if err != nil {
			continue
		}
		for _, a := range as {
			if a.Unmap() == e.ip {
				out = append(out, normalize(n))
				break
			}
		}
	}
	return out, nil
}

func (e *evaluation) macroValue(ctx context.Context, letter byte) string {
	switch letter {
	case 's':
		return e.sender
	case 'l':
		return e.local
	case 'o':
		return e.senderDomain
	case 'd':
		return e.domain
	case 'i':
		return dotted(e.ip)
	case 'p':
		if !e.ptrDone {
			e.ptrDone = true
			e.ptrNames, _ = e.validatedNames(ctx, "")
		}
		for _, n := range e.ptrNames {
			if n == e.domain || strings.HasSuffix(n, "."+e.domain) {
				return n
			}
		}
		if len(e.ptrNames) > 0 {
			return e.ptrNames[0]
		}
		return "unknown"
	case 'v':
		if e.ip.Is4() {
			return "in-addr"
		}
		return "ip6"
	case 'h':
		return e.helo
	case 'c':
		return e.ip.String()
	case 'r':
		if e.c.Hostname != "" {
			return e.c.Hostname
		}
		return "unknown"
	case 't':
		now := time.Now
		if e.c.Now != nil {
			now = e.c.Now
		}
		return strconv.FormatInt(now().Unix(), 10)
	}
	return ""
}

// explain computes the explanation of a fail from exp= (RFC 7208 6.2): any problem gives the
// default explanation.
func (e *evaluation) explain(ctx context.Context, spec string) string {
	if spec == "" {
		return ""
	}
	name, err := e.expandDomain(ctx, spec)
	if err != nil || !validDomain(name) {
		return ""
	}
	txts, err := e.c.Resolver.QueryTXT(ctx, name)
	if err != nil || len(txts) != 1 {
		return ""
	}
	s, err := expandMacros(ctx, txts[0], e, true)
	if err != nil {
		return ""
	}
	return s
}
