package sqlstore_test

import (
	"context"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/events"
)

// positions is a Reader over gap-free positions 1..head, counting its reads.
type positions struct {
	head  int64
	reads int
}

func (p *positions) ReadStream(context.Context, string, string, int64) ([]events.Record, error) {
	return nil, nil
}

func (p *positions) ReadAll(_ context.Context, after int64, limit int) ([]events.Record, error) {
	p.reads++
	var out []events.Record
	for pos := after + 1; pos <= p.head && len(out) < limit; pos++ {
		out = append(out, events.Record{Position: pos})
	}
	return out, nil
}

func TestHeadPosition(t *testing.T) {
	for head := int64(0); head <= 300; head++ {
		for _, from := range []int64{0, head / 2, head} {
			r := &positions{head: head}
			got, err := sqlstore.HeadPosition(context.Background(), r, from)
			if err != nil || got != head {
				t.Fatalf("head %d from %d: got %d, %v", head, from, got, err)
			}
			if r.reads > 20 {
				t.Errorf("head %d from %d: %d reads, want O(log n)", head, from, r.reads)
			}
		}
	}
	r := &positions{head: 1 << 40}
	if got, _ := sqlstore.HeadPosition(context.Background(), r, 5); got != 1<<40 || r.reads > 90 {
		t.Errorf("head 2^40: got %d in %d reads", got, r.reads)
	}
}

// TestHeadPositionFromNothingKnown is the read `posthaste status` makes (no position known).
func TestHeadPositionFromNothingKnown(t *testing.T) {
	for _, head := range []int64{0, 1, 2, 3, 7, 8, 9, 1000, 123457} {
		s := &positions{head: head}
		got, err := sqlstore.HeadPosition(context.Background(), s, 0)
		if err != nil || got != head {
			t.Errorf("head %d: got %d, %v", head, got, err)
		}
		if s.reads > 2*64+2 {
			t.Errorf("head %d: %d reads, want O(log n)", head, s.reads)
		}
	}
}
