package submission_test

import (
	"context"
	"errors"
	"testing"

	"github.com/posthaste/posthaste/domain/submission"
)

// Submit refuses an envelope address that is no RFC 5321 mailbox (whatever edge it came from)
// with domain/address's reply, writing nothing; "a"@x and a@X are one recipient.
func TestSubmitChecksEnvelopeAddresses(t *testing.T) {
	body := []byte("From: a@example.com\r\n\r\nx\r\n")
	for _, c := range []struct {
		name     string
		from     string
		rcpts    []string
		code     int
		enhanced [3]int
	}{
		{"bad recipient", "", []string{"ok@d.test", "x..y@d.test"}, 501, [3]int{5, 1, 3}},
		{"literal recipient", "", []string{"x@[1.2.3]"}, 553, [3]int{5, 1, 3}},
		{"bad sender", "rp@@example.com", []string{"ok@d.test"}, 501, [3]int{5, 1, 7}},
	} {
		h, _, a := newHandler(t)
		_, err := h.Submit(context.Background(), submission.Submission{Principal: principal, MailFrom: c.from, Recipients: c.rcpts, Body: body})
		var re *submission.ReplyError
		if !errors.As(err, &re) || re.Code != c.code || re.Enhanced != c.enhanced {
			t.Errorf("%s: %v", c.name, err)
		}
		if len(a.got) != 0 {
			t.Errorf("%s: accepted", c.name)
		}
	}
	h, _, a := newHandler(t)
	res, err := h.Submit(context.Background(), submission.Submission{Principal: principal, MailFrom: "",
		Recipients: []string{`"ann"@D.test`, "ann@d.test", `"ann lee"@d.test`}, Body: body})
	if err != nil || len(res.MessageIDs) != 2 || len(a.got) != 1 {
		t.Fatalf("dedupe: %v %+v", err, res)
	}
}
