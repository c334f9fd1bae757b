// Package address parses and validates email addresses: RFC 5321 mailboxes (what may appear in
// MAIL FROM and RCPT TO) and RFC 5322 header addresses (display names and comments allowed),
// with a precise diagnosis in the terms of Dominic Sayers' is_email and the SMTP reply it implies.
//
// It is the one address check of every edge: the SMTP listener, the HTTP API and the CLI.
package address

import (
	"strings"
)

// Mailbox is a parsed address: the local part's meaning (quotes and escapes removed) and the
// domain as written (a domain name, or an address literal such as "[192.0.2.1]").
type Mailbox struct {
	Local  string
	Domain string
}

// IsZero reports whether m is the null path.
func (m Mailbox) IsZero() bool { return m.Local == "" && m.Domain == "" }

// String renders the mailbox in RFC 5321 form: the local part as a dot-string when it is one,
// else as a quoted string (RFC 5321 section 4.1.2 prefers the dot-string form).
func (m Mailbox) String() string {
	if m.IsZero() {
		return ""
	}
	return quoteLocal(m.Local) + "@" + m.Domain
}

// Canonical is the form to compare mailboxes by: String with the domain lower-cased (the
// local part is case-sensitive in principle, RFC 5321 section 2.4).
func (m Mailbox) Canonical() string {
	if m.IsZero() {
		return ""
	}
	d := strings.ToLower(m.Domain)
	if strings.HasPrefix(d, "[ipv6:") {
		d = "[IPv6:" + d[6:]
	}
	return quoteLocal(m.Local) + "@" + d
}

// IsLiteral reports whether the domain is an address literal.
func (m Mailbox) IsLiteral() bool { return strings.HasPrefix(m.Domain, "[") }

// IsASCII reports whether the mailbox needs no SMTPUTF8.
func (m Mailbox) IsASCII() bool { return isASCII(m.Local) && isASCII(m.Domain) }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// dotString reports whether s is an RFC 5321 Dot-string (UTF-8 allowed, RFC 6531).
func dotString(s string) bool {
	if s == "" {
		return false
	}
	for _, el := range strings.Split(s, ".") {
		if el == "" {
			return false
		}
		for i := 0; i < len(el); i++ {
			if c := el[i]; c < 0x80 && !atextASCII(c) {
				return false
			}
		}
	}
	return true
}

func quoteLocal(l string) string {
	if dotString(l) {
		return l
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(l); i++ {
		if c := l[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(l[i])
	}
	b.WriteByte('"')
	return b.String()
}

// Role is where an address is used; it picks the enhanced status code and the reply text.
type Role int

const (
	Recipient Role = iota // RCPT TO, To/Cc/Bcc: X.1.3 Bad destination mailbox address syntax
	Sender                // MAIL FROM, From: X.1.7 Bad sender's mailbox address syntax
)

// Error is a refused address.
type Error struct {
	Input     string
	Diagnosis Diagnosis
}

func (e *Error) Error() string {
	return e.Diagnosis.Text() + " (" + e.Diagnosis.Name() + ")"
}

// Reply is the SMTP reply for a refused address.
type Reply struct {
	Code     int
	Enhanced [3]int
	Text     string
}

// Reply maps the diagnosis to an SMTP reply (RFC 5321 section 4.2.2, RFC 3463, RFC 6531):
//   - not an address at all (is_email's errors): 501 5.1.3 (recipient) / 501 5.1.7 (sender)
//     "Bad recipient address syntax: …";
//   - an RFC 5322 address that is no RFC 5321 mailbox (comments, deprecated forms, over-long
//     parts, domain literals): 553 5.1.3 / 553 5.1.7;
//   - UTF-8 without SMTPUTF8: 553 5.6.7 (RFC 6531 section 3.5).
func (e *Error) Reply(role Role) Reply {
	enh := [3]int{5, 1, 3}
	what := "Bad recipient address syntax"
	if role == Sender {
		enh = [3]int{5, 1, 7}
		what = "Bad sender address syntax"
	}
	text := what + ": " + e.Diagnosis.Text() + " (" + e.Diagnosis.Name() + ")"
	switch {
	case e.Diagnosis == ErrNonASCII:
		return Reply{Code: 553, Enhanced: [3]int{5, 6, 7}, Text: "Non-ASCII addresses require SMTPUTF8"}
	case e.Diagnosis.Category() == CatErr:
		return Reply{Code: 501, Enhanced: enh, Text: text}
	}
	return Reply{Code: 553, Enhanced: enh, Text: text}
}

// ParseMailbox parses s as an RFC 5321 Mailbox (no angle brackets, no comments, no white
// space): a dot-string or quoted-string local part of at most 64 octets, "@", and a domain of
// LDH labels (at most 63 octets each, 255 in all) or an address literal [IPv4] / [IPv6:…]; at
// most 254 octets in all; no control characters; UTF-8 only with opt.SMTPUTF8. It accepts
// exactly the diagnoses of categories VALID and RFC5321.
func ParseMailbox(s string, opt Options) (Mailbox, error) {
	if s == "" {
		return Mailbox{}, &Error{Input: s, Diagnosis: ErrNoAddress}
	}
	r := Analyze(s, opt)
	if !r.Diagnosis.MailboxOK() {
		return Mailbox{}, &Error{Input: s, Diagnosis: r.Diagnosis}
	}
	return r.Mailbox, nil
}

// smtpSpecials are the characters emersion/go-smtp refuses in an unquoted local part. "@" is
// not one of them on purpose: "a@@b" and "a@b@c" are far likelier typos than a quoted "@".
const smtpSpecials = "()<>[]:;\\,\" \t"

// ParseSMTPPath validates the mailbox that emersion/go-smtp hands to Session.Mail and
// Session.Rcpt. go-smtp has already removed the angle brackets, any source route, and the quotes
// and escapes of a quoted local part ("a b"@x arrives as a b@x). The local part is taken as a
// dot-string unless it holds a character a dot-string cannot (then it was quoted, and is
// checked as the quoted string it was). Two ambiguities remain, both resolved by refusing: a
// quoted local part that is atext with misplaced dots ("a..b"@x cannot be told from the
// invalid a..b@x), and one whose only special is "@" ("a@b"@x cannot be told from a@b@x).
// "" (the null reverse path) is returned as the zero Mailbox without error.
func ParseSMTPPath(decoded string, opt Options) (Mailbox, error) {
	if decoded == "" {
		return Mailbox{}, nil
	}
	at := strings.LastIndexByte(decoded, '@')
	if at < 0 {
		return ParseMailbox(decoded, opt)
	}
	local := decoded[:at]
	if strings.ContainsAny(local, smtpSpecials) {
		var b strings.Builder
		b.WriteByte('"')
		for i := 0; i < len(local); i++ {
			if c := local[i]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(local[i])
		}
		b.WriteString(`"@`)
		b.WriteString(decoded[at+1:])
		m, err := ParseMailbox(b.String(), opt)
		if e, ok := err.(*Error); ok {
			e.Input = decoded
		}
		return m, err
	}
	return ParseMailbox(decoded, opt)
}
