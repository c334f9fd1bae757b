package address

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Options are the session's capabilities.
type Options struct {
	// SMTPUTF8 allows UTF-8 in local parts and domains (RFC 6531/6532): set it only when the
	// SMTP session negotiated SMTPUTF8 (MAIL FROM … SMTPUTF8).
	SMTPUTF8 bool
}

// Result is the analysis of an RFC 5322 addr-spec.
type Result struct {
	Diagnosis Diagnosis // the worst finding
	Mailbox   Mailbox   // meaningful unless Diagnosis.Category() == CatErr
}

// analysis state: a hand-written scanner over the RFC 5322 addr-spec grammar (section 3.4.1)
// with CFWS (3.2.2), obsolete forms (4.4) and the RFC 5321 limits (4.1.2, 4.1.3, 4.5.3.1).
type scanner struct {
	s     string
	i     int
	utf8  bool
	worst Diagnosis
	fatal bool
}

func (sc *scanner) note(d Diagnosis) {
	if d > sc.worst {
		sc.worst = d
	}
}

// fail records an error; scanning stops at the first one (like is_email).
func (sc *scanner) fail(d Diagnosis) {
	sc.note(d)
	sc.fatal = true
}

func (sc *scanner) eof() bool { return sc.i >= len(sc.s) }

func (sc *scanner) peek() byte {
	if sc.eof() {
		return 0
	}
	return sc.s[sc.i]
}

// atextASCII: RFC 5322 atext.
func atextASCII(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// obsNoWSCtl: RFC 5322 obs-NO-WS-CTL.
func obsNoWSCtl(c byte) bool {
	return (c >= 1 && c <= 8) || c == 11 || c == 12 || (c >= 14 && c <= 31) || c == 127
}

// nonASCII consumes one UTF-8 sequence at sc.i (a byte >= 0x80). It reports false after
// recording the error: invalid UTF-8, non-graphic runes, or UTF-8 without SMTPUTF8.
func (sc *scanner) nonASCII(otherwise Diagnosis) (rune, bool) {
	r, n := utf8.DecodeRuneInString(sc.s[sc.i:])
	if r == utf8.RuneError && n <= 1 {
		sc.fail(ErrInvalidUTF8)
		return r, false
	}
	if !unicode.IsGraphic(r) {
		sc.fail(otherwise)
		return r, false
	}
	if !sc.utf8 {
		sc.fail(ErrNonASCII)
		return r, false
	}
	sc.i += n
	return r, true
}

// fws consumes folding white space at sc.i (a WSP or CR). It returns whether the run held
// anything but spaces, after recording FWS diagnoses (obsolete folding, bad CRLFs).
func (sc *scanner) fws() {
	crlfs := 0
	lastCRLF := false
	for !sc.eof() {
		switch c := sc.peek(); c {
		case ' ', '\t':
			sc.i++
			lastCRLF = false
		case '\r':
			if sc.i+1 >= len(sc.s) || sc.s[sc.i+1] != '\n' {
				sc.fail(ErrCRNoLF)
				return
			}
			if lastCRLF {
				sc.fail(ErrFWSCRLFx2)
				return
			}
			sc.i += 2
			crlfs++
			lastCRLF = true
		default:
			goto done
		}
	}
done:
	if lastCRLF {
		sc.fail(ErrFWSCRLFEnd)
		return
	}
	if crlfs > 1 {
		sc.note(DeprecFWS)
	}
}

// cfws consumes [CFWS]; it reports whether there was white space and whether a comment.
func (sc *scanner) cfws() (ws, comment bool) {
	for !sc.fatal && !sc.eof() {
		switch sc.peek() {
		case ' ', '\t', '\r':
			sc.fws()
			ws = true
		case '(':
			sc.comment()
			comment = true
		default:
			return
		}
	}
	return
}

// noteCFWS records the category of CFWS found where it is allowed (start or end).
func (sc *scanner) noteCFWS(ws, comment bool) {
	if ws {
		sc.note(CFWSFWS)
	}
	if comment {
		sc.note(CFWSComment)
	}
}

// comment consumes a (possibly nested) comment starting at '('.
func (sc *scanner) comment() {
	depth := 0
	for !sc.fatal {
		if sc.eof() {
			sc.fail(ErrUnclosedComment)
			return
		}
		c := sc.peek()
		switch {
		case c == '(':
			depth++
			sc.i++
		case c == ')':
			depth--
			sc.i++
			if depth == 0 {
				return
			}
		case c == '\\':
			sc.quotedPair()
		case c == ' ' || c == '\t' || c == '\r':
			sc.fws()
		case c >= 33 && c <= 126:
			sc.i++
		case obsNoWSCtl(c):
			sc.note(DeprecCText)
			sc.i++
		case c >= 0x80:
			// UTF-8 in comments (RFC 6532) is harmless: comments never reach the envelope.
			r, n := utf8.DecodeRuneInString(sc.s[sc.i:])
			if r == utf8.RuneError && n <= 1 {
				sc.fail(ErrInvalidUTF8)
				return
			}
			sc.i += n
		default: // NUL, LF
			sc.fail(ErrExpectingCText)
		}
	}
}

// quotedPair consumes "\" and the quoted character; it returns that character.
func (sc *scanner) quotedPair() (byte, bool) {
	sc.i++ // the backslash
	if sc.eof() {
		sc.fail(ErrBackslashEnd)
		return 0, false
	}
	c := sc.peek()
	switch {
	case (c >= 32 && c <= 126) || c == '\t':
	case c == 0 || obsNoWSCtl(c) || c == '\n' || c == '\r':
		sc.note(DeprecQP)
	default:
		sc.fail(ErrExpectingQPair)
		return 0, false
	}
	sc.i++
	return c, true
}

// quotedString consumes a quoted string at '"' and returns its content, unescaped.
func (sc *scanner) quotedString() string {
	var b strings.Builder
	sc.i++
	for !sc.fatal {
		if sc.eof() {
			sc.fail(ErrUnclosedQuotedStr)
			break
		}
		c := sc.peek()
		switch {
		case c == '"':
			sc.i++
			return b.String()
		case c == '\\':
			if q, ok := sc.quotedPair(); ok {
				b.WriteByte(q)
			}
		case c == ' ':
			// RFC 5321 qtextSMTP includes the space: a plain space is not folding white space.
			if next := sc.i + 1; next < len(sc.s) && (sc.s[next] == '\r' || sc.s[next] == '\t') {
				start := sc.i
				sc.fws()
				sc.note(CFWSFWS)
				b.WriteString(unfold(sc.s[start:sc.i]))
				continue
			}
			b.WriteByte(' ')
			sc.i++
		case c == '\t' || c == '\r':
			start := sc.i
			sc.fws()
			sc.note(CFWSFWS)
			b.WriteString(unfold(sc.s[start:sc.i]))
		case c >= 33 && c <= 126:
			b.WriteByte(c)
			sc.i++
		case obsNoWSCtl(c):
			sc.note(DeprecQText)
			b.WriteByte(c)
			sc.i++
		case c >= 0x80:
			start := sc.i
			if _, ok := sc.nonASCII(ErrExpectingQText); ok {
				b.WriteString(sc.s[start:sc.i])
			}
		default: // NUL, LF
			sc.fail(ErrExpectingQText)
		}
	}
	return b.String()
}

func unfold(s string) string { return strings.ReplaceAll(s, "\r\n", "") }

// atom consumes 1*atext (with UTF-8 when allowed) and returns it.
func (sc *scanner) atom() string {
	start := sc.i
	for !sc.fatal && !sc.eof() {
		c := sc.peek()
		switch {
		case atextASCII(c):
			sc.i++
		case c >= 0x80:
			if _, ok := sc.nonASCII(ErrExpectingAText); !ok {
				return sc.s[start:sc.i]
			}
		default:
			return sc.s[start:sc.i]
		}
	}
	return sc.s[start:sc.i]
}

func isAtomStart(c byte) bool { return atextASCII(c) || c >= 0x80 }

// Analyze diagnoses s as an RFC 5322 addr-spec (local-part "@" domain, comments and folding
// white space allowed where RFC 5322 allows them), the way is_email does, and returns the worst
// finding with the mailbox it denotes. It never fails: an invalid address has a diagnosis of
// category CatErr.
func Analyze(s string, opt Options) Result {
	sc := &scanner{s: s, utf8: opt.SMTPUTF8}
	local, localLen, quoted := sc.localPart()
	if sc.fatal {
		return Result{Diagnosis: sc.worst}
	}
	sc.i++ // '@'
	dom := sc.domain()
	if sc.fatal {
		return Result{Diagnosis: sc.worst}
	}
	if quoted {
		sc.note(RFC5321QuotedString)
	}
	switch {
	case localLen > 64:
		sc.note(RFC5322LocalTooLong)
	case len(dom.text) > 255:
		sc.note(RFC5322DomainTooLong)
	case localLen+1+len(dom.text) > 254:
		sc.note(RFC5322TooLong)
	}
	return Result{Diagnosis: sc.worst, Mailbox: Mailbox{Local: local, Domain: dom.text}}
}

// localPart scans up to the "@" (left at sc.i). It returns the local part's meaning (quotes
// and escapes removed, CFWS dropped), its length as written, and whether it had a quoted string.
func (sc *scanner) localPart() (string, int, bool) {
	var meaning strings.Builder
	length := 0
	elements := 0
	quoted := false
	afterDot := false
	sc.noteCFWS(sc.cfws())
	for !sc.fatal {
		// element start
		switch c := sc.peek(); {
		case sc.eof():
			sc.fail(ErrNoDomain)
		case c == '.':
			if elements == 0 {
				sc.fail(ErrDotStart)
			} else {
				sc.fail(ErrConsecutiveDots)
			}
		case c == '@':
			if afterDot {
				sc.fail(ErrDotEnd)
			} else {
				sc.fail(ErrNoLocalPart)
			}
		case c == '"':
			start := sc.i
			meaning.WriteString(sc.quotedString())
			length += sc.i - start
			quoted = true
		case isAtomStart(c):
			a := sc.atom()
			meaning.WriteString(a)
			length += len(a)
		default:
			sc.fail(ErrExpectingAText)
		}
		if sc.fatal {
			break
		}
		elements++
		afterDot = false
		wasQuoted := sc.i > 0 && sc.s[sc.i-1] == '"'
		ws, com := sc.cfws()
		if sc.fatal {
			break
		}
		switch c := sc.peek(); {
		case sc.eof():
			sc.fail(ErrNoDomain)
		case c == '.':
			if ws || com { // "first(comment).last", "a .b": obs-local-part
				sc.note(DeprecLocalPart)
			}
			sc.i++
			meaning.WriteByte('.')
			length++
			afterDot = true
			sc.deprecCFWS(sc.cfws())
			continue
		case c == '@':
			if ws || com {
				sc.note(DeprecCFWSNearAt)
			}
			if elements > 1 && quoted {
				sc.note(DeprecLocalPart)
			}
			return meaning.String(), length, quoted
		case ws || com:
			sc.fail(ErrATextAfterCFWS)
		case isAtomStart(c) && wasQuoted:
			sc.fail(ErrATextAfterQS)
		default:
			sc.fail(ErrExpectingAText)
		}
	}
	return "", 0, false
}

// deprecCFWS records CFWS found next to a dot (obsolete syntax).
func (sc *scanner) deprecCFWS(ws, comment bool) {
	if ws {
		sc.note(DeprecFWS)
	}
	if comment {
		sc.note(DeprecComment)
	}
}

type domainPart struct {
	text    string // labels joined by dots, or "[literal]" as written
	literal bool
}

// domain scans the domain after the "@" to the end of the input.
func (sc *scanner) domain() domainPart {
	if ws, com := sc.cfws(); ws || com {
		sc.note(DeprecCFWSNearAt)
	}
	if sc.fatal {
		return domainPart{}
	}
	if sc.peek() == '[' {
		return sc.domainLiteral()
	}
	var labels []string
	afterDot := false
	for !sc.fatal {
		switch c := sc.peek(); {
		case sc.eof():
			if afterDot {
				sc.fail(ErrDotEnd)
			} else {
				sc.fail(ErrNoDomain)
			}
		case c == '.':
			if len(labels) == 0 {
				sc.fail(ErrDotStart)
			} else {
				sc.fail(ErrConsecutiveDots)
			}
		case isAtomStart(c):
			l := sc.atom()
			if sc.fatal {
				break
			}
			sc.label(l)
			labels = append(labels, l)
		default:
			sc.fail(ErrExpectingAText)
		}
		if sc.fatal {
			break
		}
		afterDot = false
		ws, com := sc.cfws()
		if sc.fatal {
			break
		}
		switch c := sc.peek(); {
		case sc.eof():
			sc.noteCFWS(ws, com)
			last := labels[len(labels)-1]
			if len(labels) == 1 {
				sc.note(RFC5321TLD)
			}
			if last[0] >= '0' && last[0] <= '9' {
				sc.note(RFC5321TLDNumeric)
			}
			return domainPart{text: strings.Join(labels, ".")}
		case c == '.':
			sc.noteCFWS(ws, com) // is_email: CFWS before a dot of the domain is no worse than CFWS
			sc.i++
			afterDot = true
			sc.deprecCFWS(sc.cfws())
		case ws || com:
			sc.fail(ErrATextAfterCFWS)
		default:
			sc.fail(ErrExpectingAText)
		}
	}
	return domainPart{}
}

// label checks one domain label: RFC 5321 sub-domain = Let-dig [Ldh-str], at most 63 octets
// (RFC 1035); U-labels are letters, marks and digits (RFC 5890) when UTF-8 is allowed.
func (sc *scanner) label(l string) {
	if l[0] == '-' {
		sc.fail(ErrDomainHyphenStart)
		return
	}
	if l[len(l)-1] == '-' {
		sc.fail(ErrDomainHyphenEnd)
		return
	}
	for _, r := range l {
		switch {
		case r < 0x80 && (r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')):
		case r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)):
		default:
			sc.note(RFC5322Domain)
		}
	}
	if len(l) > 63 {
		sc.note(RFC5322LabelTooLong)
	}
}

// domainLiteral scans "[" *dtext "]" [CFWS] to the end of the input.
func (sc *scanner) domainLiteral() domainPart {
	start := sc.i
	sc.i++
	var content strings.Builder
	plain := true // no FWS, no quoted pair, no obsolete text: may be an address literal
	for !sc.fatal {
		if sc.eof() {
			sc.fail(ErrUnclosedDomLit)
			break
		}
		c := sc.peek()
		switch {
		case c == ']':
			sc.i++
			text := sc.s[start:sc.i]
			sc.noteCFWS(sc.cfws())
			if sc.fatal {
				return domainPart{}
			}
			if !sc.eof() {
				sc.fail(ErrATextAfterDomLit)
				return domainPart{}
			}
			if !plain {
				sc.note(RFC5322DomainLiteral)
			} else {
				sc.note(addressLiteral(content.String()))
			}
			return domainPart{text: text, literal: true}
		case c == '[':
			sc.fail(ErrExpectingDText)
		case c == '\\':
			if _, ok := sc.quotedPair(); ok {
				sc.note(RFC5322DomLitObsDText)
				plain = false
			}
		case c == ' ' || c == '\t' || c == '\r':
			sc.fws()
			sc.note(CFWSFWS)
			plain = false
		case c >= 33 && c <= 126:
			content.WriteByte(c)
			sc.i++
		case obsNoWSCtl(c):
			sc.note(RFC5322DomLitObsDText)
			plain = false
			sc.i++
		default: // NUL, LF, non-ASCII
			sc.fail(ErrExpectingDText)
		}
	}
	return domainPart{}
}

// addressLiteral diagnoses the content of a domain literal as an RFC 5321 address literal.
func addressLiteral(s string) Diagnosis {
	if ipv4(s) {
		return RFC5321AddressLiteral
	}
	if len(s) < 5 || !strings.EqualFold(s[:5], "IPv6:") {
		return RFC5322DomainLiteral
	}
	return ipv6(s[5:])
}

// ipv4: RFC 5321 IPv4-address-literal = Snum 3("." Snum), Snum = 1*3DIGIT 0-255.
func ipv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if len(p) == 0 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
		if n, _ := strconv.Atoi(p); n > 255 {
			return false
		}
	}
	return true
}

// ipv6: RFC 5321 IPv6-addr (full, comp, v4-full, v4-comp); "::" must stand for at least two
// zero groups (a single one is deprecated).
func ipv6(s string) Diagnosis {
	max := 8
	if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.Contains(s[i+1:], ".") {
		if !ipv4(s[i+1:]) {
			return RFC5322IPv6BadChar
		}
		s = s[:i+1] + "0:0" // the IPv4 part counts as two groups
	}
	dbl := strings.Index(s, "::")
	if dbl >= 0 && strings.Contains(s[dbl+1:], "::") {
		return RFC5322IPv62x2xColon
	}
	if strings.HasPrefix(s, ":") && !strings.HasPrefix(s, "::") {
		return RFC5322IPv6ColonStrt
	}
	if strings.HasSuffix(s, ":") && !strings.HasSuffix(s, "::") {
		return RFC5322IPv6ColonEnd
	}
	groups := strings.Split(s, ":")
	explicit := 0
	for _, g := range groups {
		if g != "" {
			explicit++
		}
	}
	diag := RFC5321AddressLiteral
	if dbl < 0 {
		if len(groups) != max {
			return RFC5322IPv6GrpCount
		}
	} else {
		switch {
		case explicit >= max:
			return RFC5322IPv6MaxGrps
		case explicit == max-1:
			diag = RFC5321IPv6Deprecated
		}
	}
	for _, g := range groups {
		if len(g) > 4 || strings.Trim(g, "0123456789abcdefABCDEF") != "" {
			return RFC5322IPv6BadChar
		}
	}
	return diag
}
