package address_test

import (
	"testing"

	"github.com/posthaste/posthaste/domain/address"
)

// FuzzMailbox: nothing panics, and an accepted mailbox renders (String) to a form that parses
// back to the same mailbox - what the SMTP edge stores is what delivery can send.
func FuzzMailbox(f *testing.F) {
	for _, s := range []string{"a@b.c", `"a b"@c`, "a@[1.2.3.4]", "a@[IPv6:::1]", "(c)a@b", "a@b (c)", "Ann <a@b>", "\"\\\x00\"@x", "用户@例子.广告", "a@b\r\n c"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, utf bool) {
		opt := address.Options{SMTPUTF8: utf}
		address.Analyze(s, opt)
		address.ParseHeader(s, opt)
		if h, err := address.ParseAddressField(s, opt); err == nil {
			if _, err := address.ParseMailbox(h.Mailbox.String(), opt); err != nil {
				t.Fatalf("%q: field mailbox %q does not parse: %v", s, h.Mailbox.String(), err)
			}
		}
		m, err := address.ParseMailbox(s, opt)
		if err != nil {
			return
		}
		back, err := address.ParseMailbox(m.String(), opt)
		if err != nil || back != m {
			t.Fatalf("%q: rendered %q parses to %+v, %v; want %+v", s, m.String(), back, err, m)
		}
		if p, err := address.ParseSMTPPath(m.Local+"@"+m.Domain, opt); err == nil && p.Canonical() != m.Canonical() {
			t.Fatalf("%q: via go-smtp's decoded form %q, want %q", s, p.Canonical(), m.Canonical())
		}
	})
}
