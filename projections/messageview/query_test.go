package messageview

import (
	"strings"
	"testing"
	"time"
)

func TestParseQuery(t *testing.T) {
	q, err := ParseQuery(`to:X@Y.test from:app@example.org status:Bounced tag:welcome msgid:<ABC@host> subject:"weekly report" after:2026-11-17 before:2026-11-18T00:00:00+01:00 hello https://x.test/a`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(q.To, ",") != "x@y.test" || q.From[0] != "app@example.org" || q.Status[0] != "bounced" || q.Tag[0] != "welcome" {
		t.Errorf("parsed %+v", q)
	}
	if q.MsgID[0] != "abc@host" || q.Subject[0] != "weekly report" {
		t.Errorf("msgid/subject %+v", q)
	}
	if !q.After.Equal(time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC)) || !q.Before.Equal(time.Date(2026, 11, 17, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("after %v before %v", q.After, q.Before)
	}
	if strings.Join(q.Text, "|") != "hello|https://x.test/a" {
		t.Errorf("free text %q", q.Text)
	}
	for _, bad := range []string{"status:lost", "after:yesterday", `subject:"open`, "to:"} {
		if _, err := ParseQuery(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if q, err := ParseQuery("  "); err != nil || len(q.Text) != 0 {
		t.Errorf("blank query: %+v %v", q, err)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{QueuedUS: 1763370000123456, MessageID: "0196-abc"}
	got, err := DecodeCursor(c.Encode())
	if err != nil || got != c {
		t.Fatalf("round trip %+v %v", got, err)
	}
	if _, err := DecodeCursor("not a cursor!"); err == nil {
		t.Error("bad cursor accepted")
	}
}
