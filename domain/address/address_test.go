package address_test

import (
	"net/mail"
	"testing"

	"github.com/posthaste/posthaste/domain/address"
)

func TestParseSMTPPath(t *testing.T) {
	ascii := address.Options{}
	utf := address.Options{SMTPUTF8: true}
	for _, c := range []struct {
		in   string // as go-smtp hands it over (quotes of a quoted local part removed)
		opt  address.Options
		want string // canonical; "" = refused
		code int
	}{
		{"", ascii, "", 0}, // null reverse path
		{"Jane.Doe@Example.COM", ascii, "Jane.Doe@example.com", 0},
		{"test test@iana.org", ascii, `"test test"@iana.org`, 0}, // was "test test"@iana.org
		{`a"b@iana.org`, ascii, `"a\"b"@iana.org`, 0},
		{`a\b@iana.org`, ascii, `"a\\b"@iana.org`, 0},
		{"a@b@iana.org", ascii, "", 501}, // ambiguous with "a@b"@iana.org: refused
		{"a b@c@iana.org", ascii, `"a b@c"@iana.org`, 0},
		{"victim@@iana.org", ascii, "", 501},
		{"user@[192.0.2.1]", ascii, "user@[192.0.2.1]", 0},
		{"user@[IPv6:2001:db8::1]", ascii, "user@[IPv6:2001:db8::1]", 0},
		{"x@org", ascii, "x@org", 0},
		{".test@iana.org", ascii, "", 501},
		{"te..st@iana.org", ascii, "", 501},
		{"test@-iana.org", ascii, "", 501},
		{"test@iana.org.", ascii, "", 501},
		{"test@iana.org(comment)", ascii, "", 553},
		{"test@[1.2.3]", ascii, "", 553},
		{"test@iana_x.org", ascii, "", 553},
		{"a\x07b@iana.org", ascii, "", 501},
		{"a\tb@iana.org", ascii, "", 553}, // a tab needs quoting, and RFC 5321 quoted strings have no tab
		{"nobody", ascii, "", 501},
		{"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghiklmn@iana.org", ascii, "", 553},
		{"用户@例子.广告", ascii, "", 553},
		{"用户@例子.广告", utf, "用户@例子.广告", 0},
		{"test@Bücher.DE", utf, "test@bücher.de", 0},
		{"test@b\xffcher.de", utf, "", 501},
		{"test@a☃b.de", utf, "", 553}, // a symbol is no letter of a U-label
	} {
		m, err := address.ParseSMTPPath(c.in, c.opt)
		if c.want == "" && c.code == 0 {
			if err != nil || !m.IsZero() {
				t.Errorf("%q: %v %v, want the null path", c.in, m, err)
			}
			continue
		}
		if c.code == 0 {
			if err != nil || m.Canonical() != c.want {
				t.Errorf("%q: %q %v, want %q", c.in, m.Canonical(), err, c.want)
			}
			continue
		}
		e, ok := err.(*address.Error)
		if !ok {
			t.Errorf("%q: accepted as %q, want %d", c.in, m.String(), c.code)
			continue
		}
		if r := e.Reply(address.Recipient); r.Code != c.code {
			t.Errorf("%q: reply %+v, want %d", c.in, r, c.code)
		}
	}
}

func TestReply(t *testing.T) {
	_, err := address.ParseMailbox(".x@iana.org", address.Options{})
	e := err.(*address.Error)
	r := e.Reply(address.Recipient)
	if r.Code != 501 || r.Enhanced != [3]int{5, 1, 3} || r.Text != "Bad recipient address syntax: the local part or domain begins with a dot (ISEMAIL_ERR_DOT_START)" {
		t.Errorf("recipient reply %+v", r)
	}
	if r := e.Reply(address.Sender); r.Code != 501 || r.Enhanced != [3]int{5, 1, 7} {
		t.Errorf("sender reply %+v", r)
	}
	_, err = address.ParseMailbox("x@[IPv6:1::2:3:4:5:6:7]", address.Options{})
	if r := err.(*address.Error).Reply(address.Recipient); r.Code != 553 || r.Enhanced != [3]int{5, 1, 3} {
		t.Errorf("deprecated IPv6 reply %+v", r)
	}
	_, err = address.ParseMailbox("jörg@example.com", address.Options{})
	if r := err.(*address.Error).Reply(address.Recipient); r.Code != 553 || r.Enhanced != [3]int{5, 6, 7} {
		t.Errorf("non-ASCII reply %+v", r)
	}
}

func TestCanonical(t *testing.T) {
	a, _ := address.ParseMailbox(`"jane"@EXAMPLE.com`, address.Options{})
	b, _ := address.ParseMailbox(`jane@example.COM`, address.Options{})
	if a.Canonical() != b.Canonical() || a.Canonical() != "jane@example.com" {
		t.Errorf("%q != %q", a.Canonical(), b.Canonical())
	}
	c, _ := address.ParseMailbox(`Jane@example.com`, address.Options{})
	if c.Canonical() == b.Canonical() {
		t.Errorf("the local part must keep its case: %q", c.Canonical())
	}
	d, _ := address.ParseMailbox(`"a\ b"@example.com`, address.Options{})
	if d.String() != `"a b"@example.com` || d.Local != "a b" {
		t.Errorf("quoted: %q %q", d.String(), d.Local)
	}
}

// TestHeaderLikeNetMail: the display-name forms net/mail accepts are accepted with the same
// address; what is_email calls an error is refused even where net/mail accepts it.
func TestHeaderLikeNetMail(t *testing.T) {
	for _, s := range []string{
		"jane@example.com",
		"Jane Doe <jane@example.com>",
		`"Doe, Jane" <jane@example.com>`,
		`"Jane \"JD\" Doe" <jane@example.com>`,
		"=?utf-8?q?J=C3=A4ne?= <jane@example.com>",
		"Jäne Döe <jane@example.com>",
		"<jane@example.com>",
		"  jane@example.com  ",
		"jane@example.com (Jane Doe)",
		"Jane <jane@example.com> (work)",
		"(Jane) jane@example.com", // RFC 5322 CFWS; net/mail refuses this one
		"J. R. Doe <jane@example.com>",
		`"jane doe"@example.com`,
		"jane@[192.0.2.1]",
	} {
		h, err := address.ParseAddressField(s, address.Options{})
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if s == "(Jane) jane@example.com" {
			continue
		}
		nm, err := mail.ParseAddress(s)
		if err != nil {
			t.Errorf("%q: net/mail refuses it: %v", s, err)
			continue
		}
		if nm.Address != h.Mailbox.Local+"@"+h.Mailbox.Domain {
			t.Errorf("%q: address %q, net/mail %q", s, h.Mailbox.Local+"@"+h.Mailbox.Domain, nm.Address)
		}
	}
	for _, s := range []string{
		"",
		"jane",
		"Jane <jane@example.com",
		"Jane jane@example.com>",
		"Jane <jane@example.com> x",
		"Jane <<jane@example.com>>",
		"a@b <jane@example.com>",
		"Jane <.jane@example.com>",
		"jane..doe@example.com",
		"Jane <jane@-example.com>",
		"jane@example..com",
		"jane@example.com.",
		"Jane\x00 <jane@example.com>",
		"Jane <jane@exam\nple.com>",
		"<jane@example.com>, <joe@example.com>",
	} {
		if h, err := address.ParseHeader(s, address.Options{}); err == nil {
			t.Errorf("%q: accepted as %q", s, h.Mailbox.String())
		}
	}
	// Valid in a header, but not as an envelope address.
	for _, s := range []string{
		`"jane"."doe"@example.com`,
		"jane@(comment)example.com",
		"jane@[IPv6:1::2:3:4:5:6:7]",
		"Jane <jane@[not a literal]>",
		"jane\t@example.com",
	} {
		if _, err := address.ParseHeader(s, address.Options{}); err != nil {
			t.Errorf("%q: ParseHeader: %v", s, err)
		}
		if h, err := address.ParseAddressField(s, address.Options{}); err == nil {
			t.Errorf("%q: ParseAddressField accepted %q", s, h.Mailbox.String())
		}
	}
}
