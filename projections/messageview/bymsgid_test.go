package messageview_test

import (
	"context"
	"testing"
	"time"

	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/messageview"
)

// TestByMessageID checks the read port of the inbound intake's Message-ID fallback on both
// backends: normalisation of the header, the recipient filter applied before the limit, the
// time bound.
func TestByMessageID(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		ctx := context.Background()
		base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
		queue := func(id, rcpt, hdr string, at time.Time) {
			rec := domain.Recorder{Clock: func() time.Time { return at }}
			envs, err := rec.Envelopes(events.StreamMessage, id, "acme/main", 0, domain.Cause{Actor: events.Actor{Type: events.ActorSMTP, ID: "cred"}},
				events.MessageQueued{SubmissionID: "sub", BodyID: "body", MailFrom: "a@example.org", RcptTo: rcpt,
					HeaderFrom: "a@example.org", Subject: "s", MessageID: hdr, Size: 1, Source: "smtp"})
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Store.Append(ctx, envs...); err != nil {
				t.Fatal(err)
			}
			recs, err := b.Store.ReadStream(ctx, events.StreamMessage, id, 1)
			if err != nil {
				t.Fatal(err)
			}
			b.Apply(t, messageview.New(), recs...)
		}
		const (
			m1 = "01a20b00-0000-7000-8000-0000000000c1"
			m2 = "01a20b00-0000-7000-8000-0000000000c2"
			m3 = "01a20b00-0000-7000-8000-0000000000c3"
			m4 = "01a20b00-0000-7000-8000-0000000000c4"
		)
		queue(m1, "First@Example.net", "<Shared.1@Example.org>", base)
		queue(m2, "second@example.net", "<shared.1@example.org>", base.Add(time.Second))
		queue(m3, "third@example.net", "<shared.1@example.org>", base.Add(2*time.Second))
		queue(m4, "first@example.net", "<other@example.org>", base)
		r, err := messageview.NewReader(b.DB)
		if err != nil {
			t.Fatal(err)
		}
		ids := func(refs []messageview.MessageRef) (out []string) {
			for _, m := range refs {
				out = append(out, m.ID+" "+m.RcptTo)
			}
			return out
		}
		got, err := r.ByMessageID(ctx, " <SHARED.1@example.org> ", nil, time.Time{}, 0)
		if err != nil || len(got) != 3 || got[0].ID != m1 || got[0].RcptTo != "first@example.net" || got[0].ServerID != "acme/main" {
			t.Fatalf("all of the Message-ID: %v %v", ids(got), err)
		}
		// The recipient filter runs before the limit: the third recipient is found with limit 1.
		got, err = r.ByMessageID(ctx, "shared.1@example.org", []string{"THIRD@example.net", "nobody@example.net"}, time.Time{}, 1)
		if err != nil || len(got) != 1 || got[0].ID != m3 {
			t.Errorf("filtered by recipient with limit 1: %v %v, want %s", ids(got), err, m3)
		}
		got, err = r.ByMessageID(ctx, "shared.1@example.org", []string{"nobody@example.net"}, time.Time{}, 0)
		if err != nil || len(got) != 0 {
			t.Errorf("a recipient of no message: %v %v", ids(got), err)
		}
		got, err = r.ByMessageID(ctx, "<shared.1@example.org>", nil, base.Add(time.Second), 0)
		if err != nil || len(got) != 2 || got[0].ID != m2 {
			t.Errorf("since the second message: %v %v", ids(got), err)
		}
		for _, none := range []string{"", "<>", "unknown@example.org"} {
			if got, err := r.ByMessageID(ctx, none, nil, time.Time{}, 0); err != nil || len(got) != 0 {
				t.Errorf("%q: %v %v", none, ids(got), err)
			}
		}
	})
}
