package messageview_test

import (
	"context"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/projections/messageview"
)

func TestViewUnderDuplicatesReorderingAndGaps(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		ctx := context.Background()
		envs := pt.Workload(t)
		pt.DeliverMessy(t, b, messageview.New(), envs, 7)
		live, err := sqlstore.Checksum(ctx, b.DB, b.Dialect, messageview.New())
		if err != nil {
			t.Fatal(err)
		}
		r, _ := messageview.NewReader(b.DB)
		want := map[string]string{"m1": "delivered", "m2": "delivered", "m3": "bounced", "m4": "delivered", "m5": "expired", "m6": "queued"}
		for id, st := range want {
			d, err := r.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != st {
				t.Errorf("%s: status %s, want %s", id, d.Status, st)
			}
			var n int
			for _, e := range envs {
				if e.StreamID == id {
					n++
				}
			}
			if len(d.Timeline) != n {
				t.Errorf("%s: timeline of %d events, want %d (each once)", id, len(d.Timeline), n)
			}
		}
		d, _ := r.Get(ctx, "m2")
		if d.Attempts != 2 || len(d.AttemptLog) != 2 || d.AttemptLog[0].ReplyCode != 451 || d.LastReplyCode != 250 {
			t.Errorf("m2 attempts: %+v", d)
		}
		if d, _ := r.Get(ctx, "m3"); d.BounceReason != "userunknown" || d.BounceClass != "hard" {
			t.Errorf("m3 bounce: %+v", d.Message)
		}
		// Replaying the log in order gives the same rows.
		if _, err := sqlstore.Replay(ctx, b.DB, b.Dialect, b.Store, messageview.New()); err != nil {
			t.Fatal(err)
		}
		replayed, err := sqlstore.Checksum(ctx, b.DB, b.Dialect, messageview.New())
		if err != nil {
			t.Fatal(err)
		}
		if replayed.SHA256 != live.SHA256 {
			t.Errorf("replay differs from the live view built from messy deliveries")
		}
	})
}

func TestListFiltersAndCursor(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		ctx := context.Background()
		pt.DeliverMessy(t, b, messageview.New(), pt.Workload(t), 3)
		r, _ := messageview.NewReader(b.DB)
		list := func(q string, oldest bool) []string {
			t.Helper()
			pq, err := messageview.ParseQuery(q)
			if err != nil {
				t.Fatal(err)
			}
			p, err := r.List(ctx, messageview.ListRequest{Server: "acme/main", Query: pq, Oldest: oldest})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range p.Messages {
				ids = append(ids, m.ID)
			}
			return ids
		}
		cases := []struct {
			q      string
			oldest bool
			want   string
		}{
			{"", false, "[m5 m4 m3 m2 m1]"},
			{"", true, "[m1 m2 m3 m4 m5]"},
			{"to:OK@remote.test", false, "[m1]"},
			{"to:@other.test", false, "[m3]"},
			{"to:remote.test status:delivered", true, "[m1 m2 m4]"},
			{"status:bounced status:expired", true, "[m3 m5]"},
			{`subject:"weekly REPORT"`, false, "[m2]"},
			{"msgid:LATER@remote.test@mid", false, "[m2]"},
			{"from:alerts@example.org tag:welcome", true, "[m1 m2 m3 m4 m5]"},
			{"after:2026-11-17T10:00:00Z before:2026-11-17T12:00:00Z", true, "[m2 m3]"},
			{"nobody", false, "[m3]"},
			{"after:2026-11-18", false, "[]"},
		}
		for _, c := range cases {
			if got := fmtIDs(list(c.q, c.oldest)); got != c.want {
				t.Errorf("query %q oldest=%v: %s, want %s", c.q, c.oldest, got, c.want)
			}
		}
		// Keyset pages: 2 at a time, a new message queued between pages does not shift them.
		var got []string
		var cur *messageview.Cursor
		for i := 0; ; i++ {
			p, err := r.List(ctx, messageview.ListRequest{Server: "acme/main", Limit: 2, After: cur})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range p.Messages {
				got = append(got, m.ID)
			}
			if i == 0 {
				pt.DeliverMessy(t, b, messageview.New(), pt.Stream(t, "m9", "acme/main", pt.T0.Add(24*time.Hour), pt.Queued("new@remote.test", "New")), 1)
			}
			if p.Next == nil {
				break
			}
			c, err := messageview.DecodeCursor(p.Next.Encode())
			if err != nil {
				t.Fatal(err)
			}
			cur = &c
		}
		if fmtIDs(got) != "[m5 m4 m3 m2 m1]" {
			t.Errorf("paged listing %v, want every message once in order despite an insert", got)
		}
	})
}

func fmtIDs(ids []string) string {
	out := "["
	for i, id := range ids {
		if i > 0 {
			out += " "
		}
		out += id
	}
	return out + "]"
}
