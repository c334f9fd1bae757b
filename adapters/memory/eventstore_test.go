package memory_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/eventstoretest"
	"github.com/posthaste/posthaste/events"
)

// The in-memory event store passes the same acceptance suite as the SQL store on both databases.
func TestEventStoreAcceptance(t *testing.T) {
	eventstoretest.Run(t, func(t *testing.T) eventstoretest.Store { return memory.NewEventStore() })
}

func envelope(id string, version int64, payload string) events.Envelope {
	srv := "srv-1"
	return events.Envelope{
		ID: fmt.Sprintf("ev-%s-%d", id, version), Type: "message.queued", SchemaVersion: 1,
		StreamType: events.StreamMessage, StreamID: id, StreamVersion: version, ServerID: &srv,
		OccurredAt: time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC), Actor: events.Actor{Type: events.ActorSystem, ID: "test"},
		Payload: json.RawMessage(payload),
	}
}

// What the store holds is its own: changing an envelope after appending it, or a record after
// reading it, changes nothing stored.
func TestEventStoreKeepsItsOwnCopy(t *testing.T) {
	ctx := context.Background()
	s := memory.NewEventStore()
	e := envelope("m-1", 1, `{"n":1}`)
	if err := s.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	e.Payload[5] = '9'
	*e.ServerID = "srv-other"
	recs, err := s.ReadStream(ctx, events.StreamMessage, "m-1", 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("ReadStream = %v, %v", recs, err)
	}
	recs[0].Envelope.Payload[5] = '8'
	recs[0].Data[0] = 'x'
	*recs[0].Envelope.ServerID = "srv-third"
	again, err := s.ReadStream(ctx, events.StreamMessage, "m-1", 1)
	if err != nil || len(again) != 1 {
		t.Fatalf("ReadStream = %v, %v", again, err)
	}
	if got := again[0].Envelope; string(got.Payload) != `{"n":1}` || got.Server() != "srv-1" {
		t.Errorf("stored event changed by its callers: payload %s, server %q", got.Payload, got.Server())
	}
	if want, _ := events.Marshal(again[0].Envelope); !bytes.Equal(again[0].Data, want) {
		t.Errorf("Data %s, want the stored encoding %s", again[0].Data, want)
	}
}

// Versions need not arrive in order: a stream reads back in version order, and a clash is
// found wherever the version stands.
func TestEventStoreStreamInVersionOrder(t *testing.T) {
	ctx := context.Background()
	s := memory.NewEventStore()
	for _, v := range []int64{3, 1, 2} {
		if err := s.Append(ctx, envelope("m-1", v, `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := s.ReadStream(ctx, events.StreamMessage, "m-1", 2)
	if err != nil || len(recs) != 2 || recs[0].Envelope.StreamVersion != 2 || recs[1].Envelope.StreamVersion != 3 {
		t.Fatalf("ReadStream from 2 = %v, %v; want versions 2, 3", recs, err)
	}
	if recs[0].Position != 3 || recs[1].Position != 1 {
		t.Errorf("positions %d, %d; want the append order 3, 1", recs[0].Position, recs[1].Position)
	}
	var ce *domain.ConflictError
	if err := s.Append(ctx, envelope("m-1", 2, `{}`)); !errors.As(err, &ce) || ce.StreamVersion != 2 {
		t.Errorf("appending version 2 again: %v, want a conflict on it", err)
	}
}

// A payload that is not JSON cannot be stored: it is refused, and not as a conflict.
func TestEventStoreRefusesUnencodablePayload(t *testing.T) {
	ctx := context.Background()
	s := memory.NewEventStore()
	err := s.Append(ctx, envelope("m-1", 1, `{}`), envelope("m-2", 1, `{not json`))
	if err == nil || errors.Is(err, domain.ErrConflict) {
		t.Fatalf("Append = %v, want an encoding error", err)
	}
	if recs, err := s.ReadAll(ctx, 0, 10); err != nil || len(recs) != 0 {
		t.Fatalf("after a refused append the log holds %v, %v", recs, err)
	}
}

// A cancelled context fails every call with its error.
func TestEventStoreHonoursTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := memory.NewEventStore()
	if err := s.Append(ctx, envelope("m-1", 1, `{}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append = %v", err)
	}
	if _, err := s.Query(ctx, domain.EventFilter{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Query = %v", err)
	}
	if _, err := s.Pending(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Pending = %v", err)
	}
}
