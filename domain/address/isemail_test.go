package address_test

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/posthaste/posthaste/domain/address"
)

// isemailCase is one line of ../shared/eval/addresses/isemail/tests.jsonl (is_email 3.05).
type isemailCase struct {
	ID        int    `json:"id"`
	Address   string `json:"address"`
	Category  string `json:"category"`
	Diagnosis string `json:"diagnosis"`
	MailboxOK bool   `json:"rfc5321_mailbox_ok"`
}

const isemailPath = "../../../shared/eval/addresses/isemail/tests.jsonl"

func loadIsEmail(t *testing.T) []isemailCase {
	t.Helper()
	f, err := os.Open(isemailPath)
	if err != nil {
		t.Fatalf("the is_email set is required: %v", err)
	}
	defer f.Close()
	var out []isemailCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var c isemailCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("tests.jsonl: %v", err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) != 164 {
		t.Fatalf("tests.jsonl has %d cases, want 164", len(out))
	}
	return out
}

// dnsDependent diagnoses depend on live DNS in is_email (a single-label domain is VALID when it
// has an MX, RFC5321_TLD when DNS was not asked, DNSWARN_* when it has no record). Without DNS
// they are one outcome: valid.
var dnsDependent = map[string]bool{
	"ISEMAIL_VALID": true, "ISEMAIL_DNSWARN_NO_RECORD": true, "ISEMAIL_DNSWARN_NO_MX_RECORD": true, "ISEMAIL_RFC5321_TLD": true,
}

// TestIsEmailMailbox measures ParseMailbox against all 164 cases: an address is accepted as an
// RFC 5321 mailbox exactly where rfc5321_mailbox_ok is true (DNSWARN counted as valid), and
// every ISEMAIL_ERR case is refused. There is no deliberate disagreement on acceptance: the
// deprecated forms (obs-local-part "a"."b", CFWS near "@", obsolete quoted pairs, "::" for one
// IPv6 group) are refused in the envelope, as the set expects. The diagnosis itself is compared
// too and must match is_email's (modulo the DNS-dependent ones above).
func TestIsEmailMailbox(t *testing.T) {
	cases := loadIsEmail(t)
	agree, diagAgree := 0, 0
	for _, c := range cases {
		r := address.Analyze(c.Address, address.Options{})
		_, err := address.ParseMailbox(c.Address, address.Options{})
		accepted := err == nil
		if accepted == c.MailboxOK {
			agree++
		} else {
			t.Errorf("#%d %q: accepted=%v, want %v (is_email: %s; ours: %s)", c.ID, c.Address, accepted, c.MailboxOK, c.Diagnosis, r.Diagnosis.Name())
		}
		if c.Category == "ISEMAIL_ERR" && r.Diagnosis.Category() != address.CatErr {
			t.Errorf("#%d %q: is_email says %s, we say %s (not an error)", c.ID, c.Address, c.Diagnosis, r.Diagnosis.Name())
		}
		got := r.Diagnosis.Name()
		if got == c.Diagnosis || (dnsDependent[got] && dnsDependent[c.Diagnosis]) {
			diagAgree++
		} else {
			t.Errorf("#%d %q: diagnosis %s, is_email %s", c.ID, c.Address, got, c.Diagnosis)
		}
		if err != nil {
			var e *address.Error
			if !asError(err, &e) || e.Diagnosis != r.Diagnosis && e.Diagnosis != address.ErrNoAddress {
				t.Errorf("#%d: error %v does not carry the diagnosis %s", c.ID, err, r.Diagnosis.Name())
			}
		}
	}
	t.Logf("is_email set: accept/reject agrees on %d/%d, diagnosis agrees on %d/%d", agree, len(cases), diagAgree, len(cases))
}

// TestIsEmailHeader: as a header address (ParseHeader) every case is accepted except is_email's
// errors, which are refused.
func TestIsEmailHeader(t *testing.T) {
	for _, c := range loadIsEmail(t) {
		_, err := address.ParseHeader(c.Address, address.Options{})
		if wantErr := c.Category == "ISEMAIL_ERR"; (err != nil) != wantErr {
			// "" is refused as "no address", which is_email calls ERR_NODOMAIN: same outcome.
			t.Errorf("#%d %q: ParseHeader err=%v, want error %v (%s)", c.ID, c.Address, err, wantErr, c.Diagnosis)
		}
	}
}

func asError(err error, target **address.Error) bool {
	e, ok := err.(*address.Error)
	if ok {
		*target = e
	}
	return ok
}
