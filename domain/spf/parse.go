package spf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Mechanism names (RFC 7208 5).
const (
	MechAll     = "all"
	MechInclude = "include"
	MechA       = "a"
	MechMX      = "mx"
	MechPTR     = "ptr"
	MechIP4     = "ip4"
	MechIP6     = "ip6"
	MechExists  = "exists"
)

// Directive is one parsed mechanism with its qualifier.
type Directive struct {
	Qualifier byte   // '+', '-', '~' or '?'
	Mechanism string // lowercase mechanism name
	Domain    string // unexpanded domain-spec ("" when absent)
	Prefix    netip.Prefix
	CIDR4     int // -1 when absent
	CIDR6     int // -1 when absent
	Text      string
}

// Record is a parsed SPF record.
type Record struct {
	Directives []Directive
	Redirect   string // unexpanded domain-spec, "" when absent
	Exp        string // unexpanded domain-spec, "" when absent
}

// IsSPF reports whether a TXT record is an SPF version 1 record (RFC 7208 4.5: "v=spf1"
// followed by a space or the end of the record, case-insensitively).
func IsSPF(txt string) bool {
	if len(txt) < 6 || !strings.EqualFold(txt[:6], "v=spf1") {
		return false
	}
	return len(txt) == 6 || txt[6] == ' '
}

// SyntaxError is an SPF record that does not parse (a permerror).
type SyntaxError struct {
	Term, Why string
}

func (e *SyntaxError) Error() string {
	if e.Term == "" {
		return e.Why
	}
	return fmt.Sprintf("term %q: %s", e.Term, e.Why)
}

// Parse parses an SPF record (with its "v=spf1" prefix). Every term is checked: a syntax error
// anywhere makes the whole record invalid (RFC 7208 4.6).
func Parse(txt string) (*Record, error) {
	if !IsSPF(txt) {
		return nil, &SyntaxError{Why: "not an SPF record"}
	}
	for i := 0; i < len(txt); i++ {
		if c := txt[i]; c < 0x20 || c > 0x7e {
			return nil, &SyntaxError{Why: fmt.Sprintf("character 0x%02x at offset %d is not printable US-ASCII", c, i)}
		}
	}
	rec := &Record{}
	var sawRedirect, sawExp bool
	for _, term := range strings.Split(txt[6:], " ") {
		if term == "" {
			continue
		}
		if name, value, ok := cutModifier(term); ok {
			if err := checkMacroString(value, false); err != nil {
				return nil, &SyntaxError{Term: term, Why: err.Error()}
			}
			switch strings.ToLower(name) {
			case "redirect":
				if sawRedirect {
					return nil, &SyntaxError{Term: term, Why: "redirect= appears twice"}
				}
				sawRedirect = true
				if err := checkDomainSpec(value); err != nil {
					return nil, &SyntaxError{Term: term, Why: err.Error()}
				}
				rec.Redirect = value
			case "exp":
				if sawExp {
					return nil, &SyntaxError{Term: term, Why: "exp= appears twice"}
				}
				sawExp = true
				if err := checkDomainSpec(value); err != nil {
					return nil, &SyntaxError{Term: term, Why: err.Error()}
				}
				rec.Exp = value
			}
			continue
		}
		d, err := parseDirective(term)
		if err != nil {
			return nil, &SyntaxError{Term: term, Why: err.Error()}
		}
		rec.Directives = append(rec.Directives, d)
	}
	return rec, nil
}

// cutModifier splits name=value when term is a modifier: name = ALPHA *( ALPHA / DIGIT / "-" /
// "_" / "." ).
func cutModifier(term string) (string, string, bool) {
	i := strings.IndexByte(term, '=')
	if i <= 0 {
		return "", "", false
	}
	name := term[:i]
	if !isAlpha(name[0]) {
		return "", "", false
	}
	for j := 1; j < len(name); j++ {
		c := name[j]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' {
			return "", "", false
		}
	}
	return name, term[i+1:], true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func parseDirective(term string) (Directive, error) {
	d := Directive{Qualifier: '+', CIDR4: -1, CIDR6: -1, Text: term}
	if strings.IndexByte("+-~?", term[0]) >= 0 {
		d.Qualifier, term = term[0], term[1:]
	}
	name, arg := term, ""
	hasArg := false
	if i := strings.IndexAny(term, ":/"); i >= 0 {
		name, arg = term[:i], term[i:]
		hasArg = true
	}
	d.Mechanism = strings.ToLower(name)
	switch d.Mechanism {
	case MechAll:
		if hasArg {
			return d, fmt.Errorf("all takes no argument")
		}
	case MechInclude, MechExists:
		if !strings.HasPrefix(arg, ":") || len(arg) < 2 {
			return d, fmt.Errorf("%s needs a domain", d.Mechanism)
		}
		d.Domain = arg[1:]
		if err := checkDomainSpec(d.Domain); err != nil {
			return d, err
		}
	case MechA, MechMX, MechPTR:
		if strings.HasPrefix(arg, ":") {
			spec := arg[1:]
			if d.Mechanism != MechPTR {
				spec, arg = splitCIDR(spec)
			} else {
				arg = ""
			}
			if spec == "" {
				return d, fmt.Errorf("empty domain after ':'")
			}
			if err := checkDomainSpec(spec); err != nil {
				return d, err
			}
			d.Domain = spec
		}
		if arg != "" {
			if d.Mechanism == MechPTR {
				return d, fmt.Errorf("ptr takes no CIDR length")
			}
			var err error
			if d.CIDR4, d.CIDR6, err = parseDualCIDR(arg); err != nil {
				return d, err
			}
		}
	case MechIP4, MechIP6:
		if !strings.HasPrefix(arg, ":") {
			return d, fmt.Errorf("%s needs an address", d.Mechanism)
		}
		addr, bits := arg[1:], ""
		if i := strings.IndexByte(addr, '/'); i >= 0 {
			addr, bits = addr[:i], addr[i+1:]
		}
		ip, err := netip.ParseAddr(addr)
		if err != nil || ip.Zone() != "" {
			return d, fmt.Errorf("bad address %q", addr)
		}
		max := 32
		if d.Mechanism == MechIP4 {
			if !ip.Is4() {
				return d, fmt.Errorf("%q is not an IPv4 address", addr)
			}
		} else {
			if !ip.Is6() || strings.Count(addr, ":") < 2 {
				return d, fmt.Errorf("%q is not an IPv6 address", addr)
			}
			max = 128
		}
		n := max
		if i := strings.IndexByte(arg, '/'); i >= 0 {
			if n, err = cidrLen(bits, max); err != nil {
				return d, err
			}
		}
		d.Prefix = netip.PrefixFrom(ip, n).Masked()
	default:
		return d, fmt.Errorf("unknown mechanism %q", name)
	}
	return d, nil
}

// splitCIDR splits "domain/24//64" into the domain and its dual-cidr-length suffix (a
// domain-spec may itself contain '/').
func splitCIDR(s string) (string, string) {
	rest := s
	digitsAt := func(r string) int { // start of the trailing digits of r
		i := len(r)
		for i > 0 && isDigit(r[i-1]) {
			i--
		}
		return i
	}
	cut := len(s)
	// "//m" at the end.
	if i := digitsAt(rest); i < len(rest) && i >= 2 && rest[i-2:i] == "//" {
		cut = i - 2
		rest = rest[:cut]
	}
	// "/n" before it (not part of "//").
	if i := digitsAt(rest); i < len(rest) && i >= 1 && rest[i-1] == '/' && (i < 2 || rest[i-2] != '/') {
		cut = i - 1
	}
	return s[:cut], s[cut:]
}

// parseDualCIDR parses "/n", "//m" or "/n//m".
func parseDualCIDR(s string) (int, int, error) {
	c4, c6 := -1, -1
	var err error
	if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
		rest := s[1:]
		v4 := rest
		if i := strings.Index(rest, "//"); i >= 0 {
			v4, s = rest[:i], rest[i:]
		} else {
			s = ""
		}
		if c4, err = cidrLen(v4, 32); err != nil {
			return 0, 0, err
		}
	}
	if s != "" {
		if !strings.HasPrefix(s, "//") {
			return 0, 0, fmt.Errorf("bad CIDR length %q", s)
		}
		if c6, err = cidrLen(s[2:], 128); err != nil {
			return 0, 0, err
		}
	}
	return c4, c6, nil
}

func cidrLen(s string, max int) (int, error) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("bad CIDR length %q", s)
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, fmt.Errorf("bad CIDR length %q", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > max {
		return 0, fmt.Errorf("CIDR length %q out of range 0-%d", s, max)
	}
	return n, nil
}

// checkDomainSpec checks domain-spec = macro-string domain-end, domain-end = ( "." toplabel
// [ "." ] ) / macro-expand.
func checkDomainSpec(s string) error {
	if err := checkMacroString(s, false); err != nil {
		return err
	}
	if strings.HasSuffix(s, "}") {
		// Ends in a macro-expand? Find whether the final '}' closes "%{".
		if i := strings.LastIndex(s, "%{"); i >= 0 && !strings.Contains(s[i:len(s)-1], "}") {
			return nil
		}
	}
	t := strings.TrimSuffix(s, ".")
	i := strings.LastIndexByte(t, '.')
	if i < 0 {
		return fmt.Errorf("domain %q has no top-level label", s)
	}
	if !isTopLabel(t[i+1:]) {
		return fmt.Errorf("domain %q ends in an invalid top-level label %q", s, t[i+1:])
	}
	return nil
}

// isTopLabel: toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
func isTopLabel(l string) bool {
	if l == "" {
		return false
	}
	alpha := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case isAlpha(c):
			alpha = true
		case isDigit(c):
		case c == '-':
			if i == 0 || i == len(l)-1 {
				return false
			}
			alpha = true // the second form: digits with an inner dash
		default:
			return false
		}
	}
	return alpha
}
