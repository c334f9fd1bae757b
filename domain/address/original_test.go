package address_test

import (
	"encoding/xml"
	"os"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/domain/address"
)

// TestIsEmailOriginal measures the same rules on is_email's older set (tests-original.xml,
// 279 cases from other authors, with categories and diagnoses): accepted as a mailbox exactly
// where the category is VALID, DNSWARN or RFC5321; every ISEMAIL_ERR refused.
func TestIsEmailOriginal(t *testing.T) {
	raw, err := os.ReadFile("../../../shared/eval/addresses/isemail/tests-original.xml")
	if err != nil {
		t.Fatalf("the is_email set is required: %v", err)
	}
	var doc struct {
		Tests []struct {
			ID        string `xml:"id,attr"`
			Address   string `xml:"address"`
			Category  string `xml:"category"`
			Diagnosis string `xml:"diagnosis"`
		} `xml:"test"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Tests) < 270 {
		t.Fatalf("tests-original.xml has %d cases", len(doc.Tests))
	}
	// Control characters are written as U+2400+code in the XML.
	ctl := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 0x2400 && r <= 0x241f {
				return r - 0x2400
			}
			return r
		}, s)
	}
	agree, diagAgree := 0, 0
	for _, c := range doc.Tests {
		a := ctl(c.Address)
		want := c.Category == "ISEMAIL_VALID_CATEGORY" || c.Category == "ISEMAIL_DNSWARN" || c.Category == "ISEMAIL_RFC5321"
		if c.Diagnosis == "ISEMAIL_RFC5321_IPV6DEPRECATED" {
			// This older file still files it under RFC5321; is_email 3.05 (tests.xml) moved it to
			// DEPREC, and RFC 5321 section 4.1.3 says "::" stands for at least 2 groups: refused.
			want = false
		}
		r := address.Analyze(a, address.Options{})
		_, err := address.ParseMailbox(a, address.Options{})
		if (err == nil) == want {
			agree++
		} else {
			t.Errorf("#%s %q: accepted=%v, want %v (is_email: %s; ours: %s)", c.ID, a, err == nil, want, c.Diagnosis, r.Diagnosis.Name())
		}
		if c.Category == "ISEMAIL_ERR" && r.Diagnosis.Category() != address.CatErr {
			t.Errorf("#%s %q: is_email says %s, we say %s", c.ID, a, c.Diagnosis, r.Diagnosis.Name())
		}
		if got := r.Diagnosis.Name(); got == c.Diagnosis || (dnsDependent[got] && dnsDependent[c.Diagnosis]) {
			diagAgree++
		} else {
			t.Logf("#%s %q: diagnosis %s, is_email %s", c.ID, a, got, c.Diagnosis)
		}
	}
	t.Logf("is_email original set: accept/reject agrees on %d/%d, diagnosis agrees on %d/%d", agree, len(doc.Tests), diagAgree, len(doc.Tests))
}
