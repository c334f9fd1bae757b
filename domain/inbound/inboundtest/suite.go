// Package inboundtest is the acceptance suite of the inbound.Store port: every implementation
// (SQLite, MariaDB, the test fake) runs the same checks.
//
// It is for tests only and must not be imported by non-test code.
package inboundtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/inbound"
)

// Run checks the Store contract on fresh stores made by newStore (one per subtest).
func Run(t *testing.T, newStore func(t *testing.T) inbound.Store) {
	ctx := context.Background()
	base := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	report := func(i int, status string) inbound.Report {
		return inbound.Report{
			ID: fmt.Sprintf("rep-%03d", i), ReceivedAt: base.Add(time.Duration(i) * time.Second),
			MailFrom: "", RcptTo: []string{fmt.Sprintf("b+m%d@rp.example.test", i), "postmaster@rp.example.test"},
			ClientIP: "192.0.2.7", TLS: i%2 == 0, Size: 7, Raw: []byte{'r', 'a', 'w', 0, 0xff, '\r', '\n'},
			Status: status,
		}
	}

	t.Run("save and read back byte for byte", func(t *testing.T) {
		s := newStore(t)
		in := report(1, inbound.StatusPending)
		if err := s.SaveReport(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.Report(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Raw, in.Raw) || got.Size != int64(len(in.Raw)) {
			t.Errorf("raw %q size %d, want %q", got.Raw, got.Size, in.Raw)
		}
		if got.ID != in.ID || !got.ReceivedAt.Equal(in.ReceivedAt) || got.MailFrom != "" || fmt.Sprint(got.RcptTo) != fmt.Sprint(in.RcptTo) ||
			got.ClientIP != in.ClientIP || got.TLS != in.TLS || got.Status != inbound.StatusPending || !got.ProcessedAt.IsZero() {
			t.Errorf("read back %+v, want %+v", got, in)
		}
	})

	t.Run("an id is saved once", func(t *testing.T) {
		s := newStore(t)
		in := report(1, inbound.StatusPending)
		if err := s.SaveReport(ctx, in); err != nil {
			t.Fatal(err)
		}
		dup := in
		dup.Raw = []byte("other")
		if err := s.SaveReport(ctx, dup); err == nil {
			t.Fatal("saving an existing id again succeeded")
		}
		got, _ := s.Report(ctx, in.ID)
		if !bytes.Equal(got.Raw, in.Raw) {
			t.Errorf("the duplicate changed the stored report: %q", got.Raw)
		}
	})

	t.Run("unknown id", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Report(ctx, "nope"); !errors.Is(err, inbound.ErrNotFound) {
			t.Errorf("Report(unknown) = %v, want ErrNotFound", err)
		}
	})

	t.Run("finish only a pending report, once", func(t *testing.T) {
		s := newStore(t)
		in := report(1, inbound.StatusPending)
		if err := s.SaveReport(ctx, in); err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Minute)
		ok, err := s.FinishReport(ctx, in.ID, inbound.StatusLinked, "dsn", "msg-1", `{"kind":"dsn"}`, at)
		if err != nil || !ok {
			t.Fatalf("FinishReport = %v, %v; want true, nil", ok, err)
		}
		ok, err = s.FinishReport(ctx, in.ID, inbound.StatusMalformed, "none", "", "{}", at.Add(time.Minute))
		if err != nil || ok {
			t.Fatalf("second FinishReport = %v, %v; want false, nil", ok, err)
		}
		got, _ := s.Report(ctx, in.ID)
		if got.Status != inbound.StatusLinked || got.Kind != "dsn" || got.MessageID != "msg-1" || got.Summary != `{"kind":"dsn"}` || !got.ProcessedAt.Equal(at) {
			t.Errorf("after finishing: %+v", got)
		}
		if ok, err := s.FinishReport(ctx, "nope", inbound.StatusLinked, "", "", "", at); err != nil || ok {
			t.Errorf("FinishReport(unknown) = %v, %v; want false, nil", ok, err)
		}
	})

	t.Run("list newest first, by status, limited, without raw", func(t *testing.T) {
		s := newStore(t)
		for i := 1; i <= 5; i++ {
			if err := s.SaveReport(ctx, report(i, inbound.StatusPending)); err != nil {
				t.Fatal(err)
			}
		}
		for _, i := range []int{2, 4} {
			if _, err := s.FinishReport(ctx, report(i, "").ID, inbound.StatusMalformed, "none", "", "{}", base.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.Reports(ctx, inbound.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if ids(all) != "rep-005 rep-004 rep-003 rep-002 rep-001" {
			t.Errorf("Reports() = %s, want newest first", ids(all))
		}
		for _, r := range all {
			if r.Raw != nil || r.Size != 7 {
				t.Errorf("listed report %s has raw %q size %d, want no raw and its size", r.ID, r.Raw, r.Size)
			}
		}
		mal, _ := s.Reports(ctx, inbound.Filter{Status: inbound.StatusMalformed})
		if ids(mal) != "rep-004 rep-002" {
			t.Errorf("Reports(malformed) = %s", ids(mal))
		}
		two, _ := s.Reports(ctx, inbound.Filter{Limit: 2})
		if ids(two) != "rep-005 rep-004" {
			t.Errorf("Reports(limit 2) = %s", ids(two))
		}
		pend, err := s.PendingReports(ctx, base.Add(3*time.Second), 10)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(pend) != "[rep-001 rep-003]" {
			t.Errorf("PendingReports(until 3s) = %v, want [rep-001 rep-003] oldest first", pend)
		}
		if one, _ := s.PendingReports(ctx, base.Add(time.Hour), 1); fmt.Sprint(one) != "[rep-001]" {
			t.Errorf("PendingReports(limit 1) = %v", one)
		}
	})
}

func ids(rs []inbound.Report) string {
	var b bytes.Buffer
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.ID)
	}
	return b.String()
}
