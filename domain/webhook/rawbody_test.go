package webhook_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
)

// The sender's fast path gives the very bytes StandardBody gives, for every documented sample
// and for values that need escaping, other time zones, whole seconds, no server and no
// correlation id.
func TestStandardBodyRawMatchesStandardBody(t *testing.T) {
	ins := samples(t)
	odd := []events.Event{
		events.MessageDelivered{MXHost: "mx <&> \"quoted\" \\ \u2028 é 🙂", ReplyCode: 250, ReplyText: "line1\nline2\t</script>"},
		events.MessageHeld{Reason: "x", Details: "{\"not\": [\"an object\"]}"},
	}
	for i, ev := range odd {
		for _, at := range []time.Time{time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), time.Date(2026, 1, 2, 3, 4, 5, 100, time.UTC)} {
			for _, server := range []string{"", "acme/main"} {
				env, err := events.New(ev, events.Meta{ID: events.NewID(at, nil), StreamType: "message", StreamID: "m\"<" + string(rune('a'+i)),
					StreamVersion: 7, ServerID: server, OccurredAt: at, Actor: events.Actor{Type: "system"}})
				if err != nil {
					t.Fatal(err)
				}
				ins = append(ins, webhook.Input{Event: env}, webhook.Input{Event: env, Message: &webhook.MessageFacts{Subject: "<b>&</b>", Tag: "t"}})
			}
		}
	}
	for _, in := range ins {
		want, err := webhook.StandardBody(in)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := events.Marshal(in.Event)
		if err != nil {
			t.Fatal(err)
		}
		got, err := webhook.StandardBodyRaw(raw, in.Message)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("fast path differs for %s:\n got %s\nwant %s", raw, got, want)
		}
	}
	for _, bad := range []string{"", "[]", "{", `{"id":"x"`, `{"id":"x",}`, `{"id":"x"} x`, `{"type":"a","id":"b"}`, `{"a\u0062":1}`} {
		if _, err := webhook.StandardBodyRaw([]byte(bad), nil); err == nil {
			t.Errorf("StandardBodyRaw(%q) = nil error, want refused", bad)
		}
	}
}
