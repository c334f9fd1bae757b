package address

import "fmt"

// Category groups diagnoses by what an address may be used for, from best to worst. The values
// are is_email's (https://github.com/dominicsayers/isemail, meta.xml).
type Category int

const (
	CatValid   Category = 1   // valid
	CatDNSWarn Category = 7   // valid, DNS check failed (never produced here: no DNS)
	CatRFC5321 Category = 15  // valid for SMTP but unusual (quoted string, address literal, TLD)
	CatCFWS    Category = 31  // valid in a message header, but not unmodified in the envelope
	CatDeprec  Category = 63  // deprecated syntax, valid only in restricted contexts
	CatRFC5322 Category = 127 // valid only by the broad RFC 5322 grammar (too long, domain literal…)
	CatErr     Category = 255 // invalid for any purpose
)

func (c Category) String() string {
	switch c {
	case CatValid:
		return "ISEMAIL_VALID_CATEGORY"
	case CatDNSWarn:
		return "ISEMAIL_DNSWARN"
	case CatRFC5321:
		return "ISEMAIL_RFC5321"
	case CatCFWS:
		return "ISEMAIL_CFWS"
	case CatDeprec:
		return "ISEMAIL_DEPREC"
	case CatRFC5322:
		return "ISEMAIL_RFC5322"
	case CatErr:
		return "ISEMAIL_ERR"
	}
	return fmt.Sprintf("Category(%d)", int(c))
}

// Diagnosis is the precise finding about an address. The values, names and texts are
// is_email's; a larger value is a worse finding, and an address's diagnosis is the worst one
// found. ErrNonASCII is Posthaste's own (RFC 6531: non-ASCII without SMTPUTF8).
type Diagnosis int

const (
	Valid Diagnosis = 0

	RFC5321TLD            Diagnosis = 9
	RFC5321TLDNumeric     Diagnosis = 10
	RFC5321QuotedString   Diagnosis = 11
	RFC5321AddressLiteral Diagnosis = 12
	RFC5321IPv6Deprecated Diagnosis = 13 // category DEPREC since is_email 3.05

	CFWSComment Diagnosis = 17
	CFWSFWS     Diagnosis = 18

	DeprecLocalPart  Diagnosis = 33
	DeprecFWS        Diagnosis = 34
	DeprecQText      Diagnosis = 35
	DeprecQP         Diagnosis = 36
	DeprecComment    Diagnosis = 37
	DeprecCText      Diagnosis = 38
	DeprecCFWSNearAt Diagnosis = 49

	RFC5322Domain         Diagnosis = 65
	RFC5322TooLong        Diagnosis = 66
	RFC5322LocalTooLong   Diagnosis = 67
	RFC5322DomainTooLong  Diagnosis = 68
	RFC5322LabelTooLong   Diagnosis = 69
	RFC5322DomainLiteral  Diagnosis = 70
	RFC5322DomLitObsDText Diagnosis = 71
	RFC5322IPv6GrpCount   Diagnosis = 72
	RFC5322IPv62x2xColon  Diagnosis = 73
	RFC5322IPv6BadChar    Diagnosis = 74
	RFC5322IPv6MaxGrps    Diagnosis = 75
	RFC5322IPv6ColonStrt  Diagnosis = 76
	RFC5322IPv6ColonEnd   Diagnosis = 77

	ErrExpectingDText    Diagnosis = 129
	ErrNoLocalPart       Diagnosis = 130
	ErrNoDomain          Diagnosis = 131
	ErrConsecutiveDots   Diagnosis = 132
	ErrATextAfterCFWS    Diagnosis = 133
	ErrATextAfterQS      Diagnosis = 134
	ErrATextAfterDomLit  Diagnosis = 135
	ErrExpectingQPair    Diagnosis = 136
	ErrExpectingAText    Diagnosis = 137
	ErrExpectingQText    Diagnosis = 138
	ErrExpectingCText    Diagnosis = 139
	ErrBackslashEnd      Diagnosis = 140
	ErrDotStart          Diagnosis = 141
	ErrDotEnd            Diagnosis = 142
	ErrDomainHyphenStart Diagnosis = 143
	ErrDomainHyphenEnd   Diagnosis = 144
	ErrUnclosedQuotedStr Diagnosis = 145
	ErrUnclosedComment   Diagnosis = 146
	ErrUnclosedDomLit    Diagnosis = 147
	ErrFWSCRLFx2         Diagnosis = 148
	ErrFWSCRLFEnd        Diagnosis = 149
	ErrCRNoLF            Diagnosis = 150
	ErrNonASCII          Diagnosis = 160 // Posthaste: UTF-8 without SMTPUTF8
	ErrInvalidUTF8       Diagnosis = 161 // Posthaste: bytes that are not UTF-8
	ErrHeaderSyntax      Diagnosis = 162 // Posthaste: display name or angle brackets malformed
	ErrNoAddress         Diagnosis = 163 // Posthaste: empty input
)

type diagInfo struct {
	name string
	cat  Category
	text string
}

var diagnoses = map[Diagnosis]diagInfo{
	Valid:                 {"ISEMAIL_VALID", CatValid, "address is valid"},
	RFC5321TLD:            {"ISEMAIL_RFC5321_TLD", CatRFC5321, "address is valid but at a top level domain"},
	RFC5321TLDNumeric:     {"ISEMAIL_RFC5321_TLDNUMERIC", CatRFC5321, "address is valid but the top level domain begins with a number"},
	RFC5321QuotedString:   {"ISEMAIL_RFC5321_QUOTEDSTRING", CatRFC5321, "address is valid but contains a quoted string"},
	RFC5321AddressLiteral: {"ISEMAIL_RFC5321_ADDRESSLITERAL", CatRFC5321, "address is valid but at a literal address not a domain"},
	RFC5321IPv6Deprecated: {"ISEMAIL_RFC5321_IPV6DEPRECATED", CatDeprec, "the IPv6 literal uses :: for a single zero group"},
	CFWSComment:           {"ISEMAIL_CFWS_COMMENT", CatCFWS, "address contains comments"},
	CFWSFWS:               {"ISEMAIL_CFWS_FWS", CatCFWS, "address contains white space"},
	DeprecLocalPart:       {"ISEMAIL_DEPREC_LOCALPART", CatDeprec, "the local part is in a deprecated form"},
	DeprecFWS:             {"ISEMAIL_DEPREC_FWS", CatDeprec, "address contains an obsolete form of folding white space"},
	DeprecQText:           {"ISEMAIL_DEPREC_QTEXT", CatDeprec, "a quoted string contains a deprecated character"},
	DeprecQP:              {"ISEMAIL_DEPREC_QP", CatDeprec, "a quoted pair contains a deprecated character"},
	DeprecComment:         {"ISEMAIL_DEPREC_COMMENT", CatDeprec, "address contains a comment in a deprecated position"},
	DeprecCText:           {"ISEMAIL_DEPREC_CTEXT", CatDeprec, "a comment contains a deprecated character"},
	DeprecCFWSNearAt:      {"ISEMAIL_DEPREC_CFWS_NEAR_AT", CatDeprec, "address contains a comment or white space around the @ sign"},
	RFC5322Domain:         {"ISEMAIL_RFC5322_DOMAIN", CatRFC5322, "the domain contains characters that are not allowed by DNS"},
	RFC5322TooLong:        {"ISEMAIL_RFC5322_TOOLONG", CatRFC5322, "address is longer than 254 octets"},
	RFC5322LocalTooLong:   {"ISEMAIL_RFC5322_LOCAL_TOOLONG", CatRFC5322, "the local part is longer than 64 octets"},
	RFC5322DomainTooLong:  {"ISEMAIL_RFC5322_DOMAIN_TOOLONG", CatRFC5322, "the domain is longer than 255 octets"},
	RFC5322LabelTooLong:   {"ISEMAIL_RFC5322_LABEL_TOOLONG", CatRFC5322, "a domain label is longer than 63 octets"},
	RFC5322DomainLiteral:  {"ISEMAIL_RFC5322_DOMAINLITERAL", CatRFC5322, "the domain literal is not a valid RFC 5321 address literal"},
	RFC5322DomLitObsDText: {"ISEMAIL_RFC5322_DOMLIT_OBSDTEXT", CatRFC5322, "the domain literal is not a valid address literal and contains obsolete characters"},
	RFC5322IPv6GrpCount:   {"ISEMAIL_RFC5322_IPV6_GRPCOUNT", CatRFC5322, "the IPv6 literal has the wrong number of groups"},
	RFC5322IPv62x2xColon:  {"ISEMAIL_RFC5322_IPV6_2X2XCOLON", CatRFC5322, "the IPv6 literal contains more than one ::"},
	RFC5322IPv6BadChar:    {"ISEMAIL_RFC5322_IPV6_BADCHAR", CatRFC5322, "the IPv6 literal contains an illegal group of characters"},
	RFC5322IPv6MaxGrps:    {"ISEMAIL_RFC5322_IPV6_MAXGRPS", CatRFC5322, "the IPv6 literal has too many groups"},
	RFC5322IPv6ColonStrt:  {"ISEMAIL_RFC5322_IPV6_COLONSTRT", CatRFC5322, "the IPv6 literal starts with a single colon"},
	RFC5322IPv6ColonEnd:   {"ISEMAIL_RFC5322_IPV6_COLONEND", CatRFC5322, "the IPv6 literal ends with a single colon"},
	ErrExpectingDText:     {"ISEMAIL_ERR_EXPECTING_DTEXT", CatErr, "a domain literal contains a character that is not allowed"},
	ErrNoLocalPart:        {"ISEMAIL_ERR_NOLOCALPART", CatErr, "address has no local part"},
	ErrNoDomain:           {"ISEMAIL_ERR_NODOMAIN", CatErr, "address has no domain part"},
	ErrConsecutiveDots:    {"ISEMAIL_ERR_CONSECUTIVEDOTS", CatErr, "address contains consecutive dots"},
	ErrATextAfterCFWS:     {"ISEMAIL_ERR_ATEXT_AFTER_CFWS", CatErr, "address contains text after a comment or white space"},
	ErrATextAfterQS:       {"ISEMAIL_ERR_ATEXT_AFTER_QS", CatErr, "address contains text after a quoted string"},
	ErrATextAfterDomLit:   {"ISEMAIL_ERR_ATEXT_AFTER_DOMLIT", CatErr, "extra characters after the end of the domain literal"},
	ErrExpectingQPair:     {"ISEMAIL_ERR_EXPECTING_QPAIR", CatErr, "a character that is not allowed in a quoted pair"},
	ErrExpectingAText:     {"ISEMAIL_ERR_EXPECTING_ATEXT", CatErr, "address contains a character that is not allowed"},
	ErrExpectingQText:     {"ISEMAIL_ERR_EXPECTING_QTEXT", CatErr, "a quoted string contains a character that is not allowed"},
	ErrExpectingCText:     {"ISEMAIL_ERR_EXPECTING_CTEXT", CatErr, "a comment contains a character that is not allowed"},
	ErrBackslashEnd:       {"ISEMAIL_ERR_BACKSLASHEND", CatErr, "address ends with a backslash"},
	ErrDotStart:           {"ISEMAIL_ERR_DOT_START", CatErr, "the local part or domain begins with a dot"},
	ErrDotEnd:             {"ISEMAIL_ERR_DOT_END", CatErr, "the local part or domain ends with a dot"},
	ErrDomainHyphenStart:  {"ISEMAIL_ERR_DOMAINHYPHENSTART", CatErr, "a domain label begins with a hyphen"},
	ErrDomainHyphenEnd:    {"ISEMAIL_ERR_DOMAINHYPHENEND", CatErr, "a domain label ends with a hyphen"},
	ErrUnclosedQuotedStr:  {"ISEMAIL_ERR_UNCLOSEDQUOTEDSTR", CatErr, "unclosed quoted string"},
	ErrUnclosedComment:    {"ISEMAIL_ERR_UNCLOSEDCOMMENT", CatErr, "unclosed comment"},
	ErrUnclosedDomLit:     {"ISEMAIL_ERR_UNCLOSEDDOMLIT", CatErr, "domain literal is missing its closing bracket"},
	ErrFWSCRLFx2:          {"ISEMAIL_ERR_FWS_CRLF_X2", CatErr, "folding white space contains consecutive CRLF sequences"},
	ErrFWSCRLFEnd:         {"ISEMAIL_ERR_FWS_CRLF_END", CatErr, "folding white space ends with a CRLF sequence"},
	ErrCRNoLF:             {"ISEMAIL_ERR_CR_NO_LF", CatErr, "address contains a carriage return not followed by a line feed"},
	ErrNonASCII:           {"POSTHASTE_ERR_NONASCII", CatErr, "non-ASCII address without SMTPUTF8"},
	ErrInvalidUTF8:        {"POSTHASTE_ERR_INVALID_UTF8", CatErr, "address is not valid UTF-8"},
	ErrHeaderSyntax:       {"POSTHASTE_ERR_HEADER_SYNTAX", CatErr, "malformed display name or angle brackets"},
	ErrNoAddress:          {"POSTHASTE_ERR_EMPTY", CatErr, "address is empty"},
}

// Name is is_email's constant name, e.g. ISEMAIL_ERR_DOT_START.
func (d Diagnosis) Name() string {
	if i, ok := diagnoses[d]; ok {
		return i.name
	}
	return fmt.Sprintf("Diagnosis(%d)", int(d))
}

// Text is a short lower-case description for replies and problem details.
func (d Diagnosis) Text() string {
	if i, ok := diagnoses[d]; ok {
		return i.text
	}
	return "address is not valid"
}

// Category is the diagnosis's category.
func (d Diagnosis) Category() Category {
	if i, ok := diagnoses[d]; ok {
		return i.cat
	}
	return CatErr
}

func (d Diagnosis) String() string { return d.Name() }

// MailboxOK reports whether an address with this diagnosis may be used as an RFC 5321
// mailbox (MAIL FROM / RCPT TO) unchanged.
func (d Diagnosis) MailboxOK() bool { return d.Category() <= CatRFC5321 }
