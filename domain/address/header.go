package address

import (
	"strings"
)

// HeaderAddress is one RFC 5322 mailbox of a header field: an optional display name and the
// addr-spec, e.g. `"Jane Doe" <jane@example.com>` or `jane@example.com (Jane)`.
type HeaderAddress struct {
	Name      string    // display name as written (quotes kept, encoded words not decoded); "" if none
	Mailbox   Mailbox   // the addr-spec's meaning, comments and white space removed
	Diagnosis Diagnosis // is_email's diagnosis of the addr-spec
}

// ParseHeader parses s as one RFC 5322 mailbox (name-addr or addr-spec, section 3.4) the way
// net/mail.ParseAddress does - display names (atoms, quoted strings, UTF-8, encoded words),
// comments and white space accepted - but diagnoses the addr-spec like is_email and refuses
// everything is_email calls an error. The result may still be unusable in an envelope
// (deprecated syntax, domain literals, over-long parts): see ParseAddressField.
func ParseHeader(s string, opt Options) (HeaderAddress, error) {
	if strings.TrimSpace(s) == "" {
		return HeaderAddress{}, &Error{Input: s, Diagnosis: ErrNoAddress}
	}
	lt, gt, err := angle(s)
	if err != nil {
		return HeaderAddress{}, err
	}
	if lt < 0 {
		r := Analyze(s, opt)
		if r.Diagnosis.Category() == CatErr {
			return HeaderAddress{}, &Error{Input: s, Diagnosis: r.Diagnosis}
		}
		return HeaderAddress{Mailbox: r.Mailbox, Diagnosis: r.Diagnosis}, nil
	}
	name := s[:lt]
	if d := phrase(name); d != Valid {
		return HeaderAddress{}, &Error{Input: s, Diagnosis: d}
	}
	if d := trailingCFWS(s[gt+1:]); d != Valid {
		return HeaderAddress{}, &Error{Input: s, Diagnosis: d}
	}
	r := Analyze(s[lt+1:gt], opt)
	if r.Diagnosis.Category() == CatErr {
		return HeaderAddress{}, &Error{Input: s, Diagnosis: r.Diagnosis}
	}
	return HeaderAddress{Name: strings.TrimSpace(name), Mailbox: r.Mailbox, Diagnosis: r.Diagnosis}, nil
}

// ParseAddressField parses an address given in an API field or on the command line: a header
// address (ParseHeader) whose addr-spec is also a valid RFC 5321 mailbox once its comments and
// surrounding white space are removed, so that it can be used as MAIL FROM / RCPT TO.
// Deprecated syntax and what only RFC 5322's broad grammar allows are refused.
func ParseAddressField(s string, opt Options) (HeaderAddress, error) {
	h, err := ParseHeader(s, opt)
	if err != nil {
		return h, err
	}
	if c := h.Diagnosis.Category(); c > CatCFWS {
		return HeaderAddress{}, &Error{Input: s, Diagnosis: h.Diagnosis}
	}
	// The mailbox as it will appear in the envelope must pass on its own (e.g. a local part
	// that was valid only with folding white space inside quotes).
	if _, err := ParseMailbox(h.Mailbox.String(), opt); err != nil {
		if e, ok := err.(*Error); ok {
			e.Input = s
		}
		return HeaderAddress{}, err
	}
	return h, nil
}

// angle finds the angle-addr of a name-addr: the first "<" outside quoted strings and comments
// and its ">". It returns lt = -1 when there is none.
func angle(s string) (lt, gt int, err error) {
	lt, gt = -1, -1
	depth := 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (inQuote || depth > 0):
			i++
		case inQuote:
			if c == '"' {
				inQuote = false
			}
		case depth > 0:
			if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
		case c == '"':
			inQuote = true
		case c == '(':
			depth++
		case c == '<':
			if lt >= 0 {
				return -1, -1, &Error{Input: s, Diagnosis: ErrHeaderSyntax}
			}
			lt = i
		case c == '>':
			if lt < 0 || gt >= 0 {
				return -1, -1, &Error{Input: s, Diagnosis: ErrHeaderSyntax}
			}
			gt = i
		}
	}
	if lt >= 0 && gt < 0 {
		return -1, -1, &Error{Input: s, Diagnosis: ErrHeaderSyntax}
	}
	return lt, gt, nil
}

// phrase checks a display name: words (atoms, quoted strings), dots (obs-phrase), comments and
// white space; UTF-8 is accepted as net/mail does (RFC 6532). "" is allowed (bare <addr>).
func phrase(s string) Diagnosis {
	sc := &scanner{s: s, utf8: true}
	for !sc.fatal && !sc.eof() {
		c := sc.peek()
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '(':
			sc.cfws()
		case c == '"':
			sc.quotedString()
		case c == '.' || atextASCII(c):
			sc.i++
		case c >= 0x80:
			sc.nonASCII(ErrExpectingAText)
		default:
			sc.fail(ErrHeaderSyntax)
		}
	}
	if sc.fatal {
		return sc.worst
	}
	return Valid
}

// trailingCFWS checks what follows the ">" of an angle-addr: comments and white space only.
func trailingCFWS(s string) Diagnosis {
	sc := &scanner{s: s, utf8: true}
	sc.cfws()
	if sc.fatal {
		return sc.worst
	}
	if !sc.eof() {
		return ErrHeaderSyntax
	}
	return Valid
}
