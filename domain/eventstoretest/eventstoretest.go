// Package eventstoretest is the acceptance suite of the event store ports: every implementation
// of domain.EventStore + domain.Outbox (MariaDB, SQLite, any other) runs Run and must pass it.
//
// It checks only what the contracts in domain/eventstore.go promise, through the ports; it must
// not know any implementation or import anything but domain, events and the standard library.
package eventstoretest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// Store is what the suite tests: the event store and its outbox.
type Store interface {
	domain.EventStore
	domain.Outbox
}

// NewStore returns a fresh, empty, migrated store for one test; it closes it in t.Cleanup.
type NewStore func(t *testing.T) Store

// base is the pinned clock of the suite: occurred_at values are base + n seconds.
var base = time.Date(2026, 11, 24, 1, 2, 3, 456789000, time.UTC)

// Run runs the whole suite, each case on its own fresh store.
func Run(t *testing.T, newStore NewStore) {
	cases := []struct {
		name string
		fn   func(*testing.T, Store)
	}{
		{"AppendAndReadBackByteIdentical", testAppendReadBack},
		{"ReadStreamFromVersion", testReadStreamFromVersion},
		{"ConflictOnExistingVersion", testConflictExisting},
		{"ConflictInsideOneAppend", testConflictInsideOneAppend},
		{"MultiStreamAppendIsAtomic", testMultiStreamAtomic},
		{"InvalidEnvelopeRefused", testInvalidRefused},
		{"LargePayload", testLargePayload},
		{"ReadAllAfterAndLimit", testReadAllAfterLimit},
		{"PendingAndAck", testPendingAck},
		{"PendingAfterReadsPastEntriesInFlight", testPendingAfter},
		{"ConcurrentAppendersOneConflict", testConcurrentAppenders},
		{"FollowerNeverSkips", testFollowerNeverSkips},
		{"OverlappingRelaysStampOnce", testOverlappingRelays},
		{"QueryFilters", testQueryFilters},
		{"QuerySeesEventsBeforeTheRelay", testQuerySeesUnpositioned},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, newStore(t))
		})
	}
}

// env builds a valid envelope; mutate the result for other shapes.
func env(streamType, streamID string, version int64, typ string, payload string) events.Envelope {
	return events.Envelope{
		ID:            events.NewID(base, nil),
		Type:          typ,
		SchemaVersion: 1,
		StreamType:    streamType,
		StreamID:      streamID,
		StreamVersion: version,
		OccurredAt:    base.Add(time.Duration(version) * time.Second),
		Actor:         events.Actor{Type: events.ActorSystem, ID: "suite"},
		Payload:       json.RawMessage(payload),
	}
}

func msg(id string, version int64) events.Envelope {
	e := env(events.StreamMessage, id, version, "message.queued", fmt.Sprintf(`{"n":%d}`, version))
	srv := "srv-1"
	e.ServerID = &srv
	return e
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustAppend(t *testing.T, s Store, envs ...events.Envelope) {
	t.Helper()
	if err := s.Append(ctxT(t), envs...); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

func stream(t *testing.T, s Store, typ, id string) []events.Record {
	t.Helper()
	recs, err := s.ReadStream(ctxT(t), typ, id, 1)
	if err != nil {
		t.Fatalf("ReadStream %s/%s: %v", typ, id, err)
	}
	return recs
}

func marshal(t *testing.T, e events.Envelope) []byte {
	t.Helper()
	b, err := events.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameEvents fails unless recs hold exactly want, in order, byte-identical when marshalled.
func sameEvents(t *testing.T, what string, recs []events.Record, want ...events.Envelope) {
	t.Helper()
	if len(recs) != len(want) {
		t.Fatalf("%s: got %d events %v, want %d %v", what, len(recs), ids(recs), len(want), envIDs(want))
	}
	for i := range want {
		got, exp := marshal(t, recs[i].Envelope), marshal(t, want[i])
		if !bytes.Equal(got, exp) {
			t.Fatalf("%s: event %d:\n got %s\nwant %s", what, i, got, exp)
		}
	}
}

func ids(recs []events.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = fmt.Sprintf("%s/%s@%d#%d", r.Envelope.StreamType, r.Envelope.StreamID, r.Envelope.StreamVersion, r.Position)
	}
	return out
}

func envIDs(envs []events.Envelope) []string {
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = fmt.Sprintf("%s/%s@%d", e.StreamType, e.StreamID, e.StreamVersion)
	}
	return out
}

// stampAll lets the relay side assign positions to everything committed so far.
func stampAll(t *testing.T, s Store) {
	t.Helper()
	if _, err := s.Pending(ctxT(t), 1); err != nil {
		t.Fatalf("Pending: %v", err)
	}
}

// readAll follows the whole log from position 0 in pages of page.
func readAll(t *testing.T, s Store, page int) []events.Record {
	t.Helper()
	var out []events.Record
	after := int64(0)
	for {
		recs, err := s.ReadAll(ctxT(t), after, page)
		if err != nil {
			t.Fatalf("ReadAll(%d, %d): %v", after, page, err)
		}
		if len(recs) > page {
			t.Fatalf("ReadAll(%d, %d) returned %d records", after, page, len(recs))
		}
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
		after = recs[len(recs)-1].Position
	}
}

// consecutive fails unless positions are p, p+1, p+2, ... with p >= 1.
func consecutive(t *testing.T, what string, recs []events.Record) {
	t.Helper()
	for i, r := range recs {
		if r.Position < 1 || (i > 0 && r.Position != recs[i-1].Position+1) {
			t.Fatalf("%s: positions not gap-free and increasing: %v", what, ids(recs))
		}
	}
}

func testAppendReadBack(t *testing.T, s Store) {
	a := msg("m-1", 1)
	a.CorrelationID, a.CausationID = "sub-1", "cmd-1"
	a.Payload = json.RawMessage(`{"subject":"Grüße <ok> & \"quoted\"","rcpt":["a@example.org"],"nested":{"x":1.5}}`)
	b := msg("m-1", 2)
	b.Type = "message.delivered"
	b.OccurredAt = base.Add(1500 * time.Microsecond)
	c := env(events.StreamOrg, "org-1", 1, "org.created", `{"name":"acme"}`) // no server id
	mustAppend(t, s, a, b)
	mustAppend(t, s, c)

	sameEvents(t, "message stream", stream(t, s, events.StreamMessage, "m-1"), a, b)
	org := stream(t, s, events.StreamOrg, "org-1")
	sameEvents(t, "org stream", org, c)
	if org[0].Envelope.ServerID != nil {
		t.Errorf("org event server_id = %q, want null", *org[0].Envelope.ServerID)
	}
	if got := stream(t, s, events.StreamMessage, "m-unknown"); len(got) != 0 {
		t.Errorf("unknown stream: got %v, want nothing", ids(got))
	}
	// Positions are 0 or assigned; once the relay ran, they are assigned and follow append order.
	stampAll(t, s)
	recs := stream(t, s, events.StreamMessage, "m-1")
	if recs[0].Position < 1 || recs[1].Position <= recs[0].Position {
		t.Errorf("positions after Pending: %v, want increasing and >= 1", ids(recs))
	}
}

func testReadStreamFromVersion(t *testing.T, s Store) {
	var all []events.Envelope
	for v := int64(1); v <= 5; v++ {
		all = append(all, msg("m-1", v))
	}
	mustAppend(t, s, all[:2]...)
	mustAppend(t, s, all[2:]...)
	mustAppend(t, s, msg("m-2", 1))
	recs, err := s.ReadStream(ctxT(t), events.StreamMessage, "m-1", 3)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "from version 3", recs, all[2:]...)
	recs, err = s.ReadStream(ctxT(t), events.StreamMessage, "m-1", 6)
	if err != nil || len(recs) != 0 {
		t.Fatalf("from version 6: %v, %v; want nothing", ids(recs), err)
	}
}

func wantConflict(t *testing.T, err error, e events.Envelope) {
	t.Helper()
	var ce *domain.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("err = %v (%T), want *domain.ConflictError", err, err)
	}
	if ce.StreamType != e.StreamType || ce.StreamID != e.StreamID || ce.StreamVersion != e.StreamVersion {
		t.Errorf("conflict names %s/%s@%d, want %s/%s@%d", ce.StreamType, ce.StreamID, ce.StreamVersion,
			e.StreamType, e.StreamID, e.StreamVersion)
	}
}

func testConflictExisting(t *testing.T, s Store) {
	first := msg("m-1", 1)
	mustAppend(t, s, first)
	other := msg("m-2", 1)
	clash := msg("m-1", 1)
	clash.Payload = json.RawMessage(`{"n":"second writer"}`)
	err := s.Append(ctxT(t), other, clash)
	wantConflict(t, err, clash)
	sameEvents(t, "m-1 keeps the first writer's event", stream(t, s, events.StreamMessage, "m-1"), first)
	sameEvents(t, "m-2 not written", stream(t, s, events.StreamMessage, "m-2"))
	pend, err := s.Pending(ctxT(t), 100)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "outbox holds only the first event", pend, first)
	// The stream goes on from version 2.
	mustAppend(t, s, msg("m-1", 2))
}

func testConflictInsideOneAppend(t *testing.T, s Store) {
	a, b := msg("m-1", 1), msg("m-1", 1)
	err := s.Append(ctxT(t), msg("m-0", 1), a, b)
	wantConflict(t, err, a)
	if got := readAllUnstamped(t, s); len(got) != 0 {
		t.Fatalf("after a refused append the store holds %v", ids(got))
	}
}

// readAllUnstamped returns everything the audit trail shows, positioned or not.
func readAllUnstamped(t *testing.T, s Store) []events.Record {
	t.Helper()
	recs, err := s.Query(ctxT(t), domain.EventFilter{})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	return recs
}

func testMultiStreamAtomic(t *testing.T, s Store) {
	a := msg("m-1", 1)
	b := env(events.StreamServer, "srv-1", 1, "server.created", `{"name":"mail"}`)
	c := msg("m-2", 1)
	mustAppend(t, s, a, b, c)
	sameEvents(t, "m-1", stream(t, s, events.StreamMessage, "m-1"), a)
	sameEvents(t, "server", stream(t, s, events.StreamServer, "srv-1"), b)
	sameEvents(t, "m-2", stream(t, s, events.StreamMessage, "m-2"), c)
	stampAll(t, s)
	all := readAll(t, s, 10)
	sameEvents(t, "log in append order", all, a, b, c)
	consecutive(t, "log", all)
}

func testInvalidRefused(t *testing.T, s Store) {
	good := msg("m-1", 1)
	for name, mutate := range map[string]func(*events.Envelope){
		"no id":          func(e *events.Envelope) { e.ID = "" },
		"version 0":      func(e *events.Envelope) { e.StreamVersion = 0 },
		"no payload":     func(e *events.Envelope) { e.Payload = nil },
		"no occurred_at": func(e *events.Envelope) { e.OccurredAt = time.Time{} },
		"no actor":       func(e *events.Envelope) { e.Actor = events.Actor{} },
	} {
		bad := msg("m-2", 1)
		mutate(&bad)
		err := s.Append(ctxT(t), good, bad)
		if err == nil {
			t.Fatalf("%s: Append accepted an invalid envelope", name)
		}
		if errors.Is(err, domain.ErrConflict) {
			t.Fatalf("%s: err = %v, want a validation error, not a conflict", name, err)
		}
	}
	if got := readAllUnstamped(t, s); len(got) != 0 {
		t.Fatalf("refused appends wrote %v", ids(got))
	}
	mustAppend(t, s, good) // the valid envelope alone is fine
}

func testLargePayload(t *testing.T, s Store) {
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	e := msg("m-1", 1)
	e.Payload = json.RawMessage(`{"blob":"` + big + `"}`)
	mustAppend(t, s, e, msg("m-2", 1))
	sameEvents(t, "1 MiB payload", stream(t, s, events.StreamMessage, "m-1"), e)
	stampAll(t, s)
	pend, err := s.Pending(ctxT(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 2 || !bytes.Equal(pend[0].Envelope.Payload, e.Payload) {
		t.Fatalf("pending: %d entries, first payload %d bytes; want 2 and %d bytes", len(pend), len(pend[0].Envelope.Payload), len(e.Payload))
	}
}

func testReadAllAfterLimit(t *testing.T, s Store) {
	var all []events.Envelope
	for i := 1; i <= 7; i++ {
		e := msg(fmt.Sprintf("m-%d", i), 1)
		all = append(all, e)
		mustAppend(t, s, e)
	}
	stampAll(t, s)
	first, err := s.ReadAll(ctxT(t), 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "first page", first, all[:3]...)
	rest, err := s.ReadAll(ctxT(t), first[2].Position, 100)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "rest", rest, all[3:]...)
	consecutive(t, "log", append(first, rest...))
	none, err := s.ReadAll(ctxT(t), rest[len(rest)-1].Position, 100)
	if err != nil || len(none) != 0 {
		t.Fatalf("after the last position: %v, %v; want nothing", ids(none), err)
	}
	mid, err := s.ReadAll(ctxT(t), first[1].Position, 2)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "after the second, limit 2", mid, all[2:4]...)
	// Positions seen through ReadAll and ReadStream agree.
	if recs := stream(t, s, events.StreamMessage, "m-5"); recs[0].Position != rest[1].Position {
		t.Errorf("m-5 position %d in ReadStream, %d in ReadAll", recs[0].Position, rest[1].Position)
	}
}

func testPendingAck(t *testing.T, s Store) {
	a, b, c := msg("m-1", 1), msg("m-1", 2), msg("m-2", 1)
	mustAppend(t, s, a, b)
	mustAppend(t, s, c)
	ctx := ctxT(t)
	p1, err := s.Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "pending", p1, a, b, c)
	consecutive(t, "pending", p1)
	p2, err := s.Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(p1), ids(p2)) {
		t.Fatalf("Pending before Ack changed: %v then %v", ids(p1), ids(p2))
	}
	lim, err := s.Pending(ctx, 2)
	if err != nil || len(lim) != 2 || lim[0].Position != p1[0].Position {
		t.Fatalf("Pending(limit 2) = %v, %v", ids(lim), err)
	}
	logged := readAll(t, s, 10)
	if !slices.Equal(ids(logged), ids(p1)) {
		t.Fatalf("ReadAll %v and Pending %v disagree on positions", ids(logged), ids(p1))
	}
	if err := s.Ack(ctx, []int64{p1[0].Position, p1[1].Position, 999999}); err != nil {
		t.Fatalf("Ack (with an unknown position): %v", err)
	}
	p3, err := s.Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "pending after ack", p3, c)
	d := msg("m-2", 2)
	mustAppend(t, s, d)
	p4, err := s.Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "pending after a new append", p4, c, d)
	consecutive(t, "pending", p4)
	if err := s.Ack(ctx, []int64{p4[0].Position, p4[1].Position}); err != nil {
		t.Fatal(err)
	}
	if p5, err := s.Pending(ctx, 10); err != nil || len(p5) != 0 {
		t.Fatalf("pending after acking everything: %v, %v", ids(p5), err)
	}
	if err := s.Ack(ctx, nil); err != nil {
		t.Fatalf("Ack(nil): %v", err)
	}
	// Acked events stay in the log.
	if got := readAll(t, s, 10); len(got) != 4 {
		t.Fatalf("log after ack: %v, want 4 events", ids(got))
	}
}

// testPendingAfter checks the relay's read-ahead (PendingAfter, optional): it returns the same
// entries as Pending past a position, in order, stamping what it needs, and never an entry
// at or below that position, acked or not.
func testPendingAfter(t *testing.T, s Store) {
	pa, ok := s.(PendingAfter)
	if !ok {
		t.Skip("the store has no PendingAfter")
	}
	ctx := ctxT(t)
	var envs []events.Envelope
	for i := range 25 {
		envs = append(envs, msg(fmt.Sprintf("pa-%02d", i), 1))
	}
	mustAppend(t, s, envs[:10]...)
	first, err := pa.PendingAfter(ctx, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "PendingAfter(0, 4)", first, envs[:4]...)
	consecutive(t, "PendingAfter(0, 4)", first)
	mustAppend(t, s, envs[10:]...)
	// Rows 1-4 are "being published" (not acked): the read-ahead goes past them.
	next, err := pa.PendingAfter(ctx, first[3].Position, 100)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "PendingAfter(after the first 4)", next, envs[4:]...)
	if next[0].Position != first[3].Position+1 {
		t.Fatalf("read-ahead starts at %d, want %d", next[0].Position, first[3].Position+1)
	}
	consecutive(t, "read-ahead", next)
	all, err := s.Pending(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(all), append(ids(first), ids(next)...)) {
		t.Fatalf("Pending %v disagrees with the two PendingAfter reads %v + %v", ids(all), ids(first), ids(next))
	}
	if err := s.Ack(ctx, []int64{next[0].Position}); err != nil {
		t.Fatal(err)
	}
	rest, err := pa.PendingAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 24 || slices.Contains(ids(rest), ids(next[:1])[0]) {
		t.Fatalf("after acking one, PendingAfter(0) = %v", ids(rest))
	}
	if none, err := pa.PendingAfter(ctx, all[len(all)-1].Position, 100); err != nil || len(none) != 0 {
		t.Fatalf("PendingAfter(last) = %v, %v; want nothing", ids(none), err)
	}
}

func testConcurrentAppenders(t *testing.T, s Store) {
	mustAppend(t, s, msg("contested", 1))
	const writers = 64
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make([]error, writers+2)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("m-%02d", i)
			errs[i] = s.Append(ctx, msg(id, 1), msg(id, 2))
		}()
	}
	// Two writers race for version 2 of the contested stream: exactly one wins.
	for j := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := msg("contested", 2)
			e.Payload = json.RawMessage(fmt.Sprintf(`{"writer":%d}`, j))
			errs[writers+j] = s.Append(ctx, e, msg(fmt.Sprintf("side-%d", j), 1))
		}()
	}
	wg.Wait()
	for i, err := range errs[:writers] {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	won := 0
	for j, err := range errs[writers:] {
		switch {
		case err == nil:
			won++
			if got := stream(t, s, events.StreamMessage, fmt.Sprintf("side-%d", j)); len(got) != 1 {
				t.Errorf("winner's side event missing")
			}
		case errors.Is(err, domain.ErrConflict):
			wantConflict(t, err, msg("contested", 2))
			if got := stream(t, s, events.StreamMessage, fmt.Sprintf("side-%d", j)); len(got) != 0 {
				t.Errorf("loser's side event was written: %v", ids(got))
			}
		default:
			t.Errorf("contested writer %d: %v", j, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d writers won version 2 of the contested stream, want exactly 1", won)
	}
	stampAll(t, s)
	all := readAll(t, s, 50)
	if want := 1 + 2*writers + 2; len(all) != want {
		t.Fatalf("log holds %d events, want %d", len(all), want)
	}
	consecutive(t, "log", all)
	for i := range writers {
		recs := stream(t, s, events.StreamMessage, fmt.Sprintf("m-%02d", i))
		if len(recs) != 2 || recs[0].Envelope.StreamVersion != 1 || recs[1].Position <= recs[0].Position {
			t.Fatalf("stream m-%02d: %v, want versions 1, 2 in position order", i, ids(recs))
		}
	}
}

// testFollowerNeverSkips appends from several goroutines while a relay loop stamps and a
// follower reads ReadAll(after=last seen): the follower must see every event exactly once.
func testFollowerNeverSkips(t *testing.T, s Store) {
	const writers, perWriter = 8, 25
	ctx := ctxT(t)
	var wg sync.WaitGroup
	appendErr := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := int64(1); v <= perWriter; v++ {
				if err := s.Append(ctx, msg(fmt.Sprintf("w-%d", w), v)); err != nil {
					appendErr <- err
					return
				}
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()

	seen := map[string]int64{}
	var last int64
	follow := func() (int, error) {
		if _, err := s.Pending(ctx, 1); err != nil {
			return 0, err
		}
		recs, err := s.ReadAll(ctx, last, 7)
		if err != nil {
			return 0, err
		}
		for _, r := range recs {
			if r.Position != last+1 {
				return 0, fmt.Errorf("follower at %d got position %d (%s)", last, r.Position, r.Envelope.ID)
			}
			if p, dup := seen[r.Envelope.ID]; dup {
				return 0, fmt.Errorf("event %s seen at positions %d and %d", r.Envelope.ID, p, r.Position)
			}
			seen[r.Envelope.ID] = r.Position
			last = r.Position
		}
		return len(recs), nil
	}
	for done := false; !done; {
		select {
		case <-writersDone:
			done = true
		default:
		}
		if _, err := follow(); err != nil {
			t.Fatal(err)
		}
	}
	for { // drain what committed after the last round
		n, err := follow()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	select {
	case err := <-appendErr:
		t.Fatalf("append: %v", err)
	default:
	}
	if len(seen) != writers*perWriter {
		t.Fatalf("follower saw %d events, want %d", len(seen), writers*perWriter)
	}
}

// testOverlappingRelays runs two relays' Pending at once while appends commit: no event gets
// two positions and no position two events.
func testOverlappingRelays(t *testing.T, s Store) {
	const total = 200
	ctx := ctxT(t)
	stop := make(chan struct{})
	relayErr := make(chan error, 2)
	var relays sync.WaitGroup
	for range 2 {
		relays.Add(1)
		go func() {
			defer relays.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Pending(ctx, 50); err != nil {
					relayErr <- err
					return
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range total / 4 {
				if err := s.Append(ctx, msg(fmt.Sprintf("r-%d-%d", w, i), 1)); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	relays.Wait()
	select {
	case err := <-relayErr:
		t.Fatalf("overlapping Pending: %v", err)
	default:
	}
	stampAll(t, s)
	all := readAll(t, s, 64)
	consecutive(t, "log", all)
	byID := map[string]bool{}
	for _, r := range all {
		if byID[r.Envelope.ID] {
			t.Fatalf("event %s has two positions", r.Envelope.ID)
		}
		byID[r.Envelope.ID] = true
	}
	if len(all) != total {
		t.Fatalf("log holds %d positioned events, want %d", len(all), total)
	}
	pend, err := s.Pending(ctx, 1000)
	if err != nil || len(pend) != total {
		t.Fatalf("pending: %d entries, %v; want %d", len(pend), err, total)
	}
	for i := range pend {
		if pend[i].Position != all[i].Position || pend[i].Envelope.ID != all[i].Envelope.ID {
			t.Fatalf("pending entry %d is %v, log says %v", i, ids(pend[i:i+1]), ids(all[i:i+1]))
		}
	}
}

func testQueryFilters(t *testing.T, s Store) {
	srvA, srvB := "srv-a", "srv-b"
	mk := func(id string, v int64, typ, server string, actor events.Actor, at time.Duration) events.Envelope {
		e := env(events.StreamMessage, id, v, typ, `{}`)
		if server != "" {
			e.ServerID = &server
		}
		e.Actor = actor
		e.OccurredAt = base.Add(at)
		return e
	}
	smtp := events.Actor{Type: events.ActorSMTP, ID: "cred-1"}
	sys := events.Actor{Type: events.ActorSystem, ID: "worker"}
	cli := events.Actor{Type: events.ActorCLI, ID: "root"}
	e1 := mk("m-1", 1, "message.queued", srvA, smtp, 0)
	e2 := mk("m-1", 2, "message.attempted", srvA, sys, time.Minute)
	e3 := mk("m-1", 3, "message.delivered", srvA, sys, 2*time.Minute)
	e4 := mk("m-2", 1, "message.queued", srvB, smtp, 3*time.Minute)
	e5 := mk("m-2", 2, "message.bounced", srvB, sys, 4*time.Minute)
	e6 := env(events.StreamServer, srvA, 1, "server.created", `{}`)
	e6.ServerID, e6.Actor, e6.OccurredAt = &srvA, cli, base.Add(5*time.Minute)
	e7 := env(events.StreamOrg, "org-1", 1, "org.created", `{}`)
	e7.Actor, e7.OccurredAt = cli, base.Add(6*time.Minute)
	for _, e := range []events.Envelope{e1, e2, e3, e4, e5, e6, e7} {
		mustAppend(t, s, e)
	}
	stampAll(t, s)
	q := func(name string, f domain.EventFilter, want ...events.Envelope) []events.Record {
		t.Helper()
		recs, err := s.Query(ctxT(t), f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameEvents(t, name, recs, want...)
		return recs
	}
	all := q("no filter", domain.EventFilter{}, e1, e2, e3, e4, e5, e6, e7)
	consecutive(t, "query", all)
	q("stream", domain.EventFilter{StreamType: events.StreamMessage, StreamID: "m-2"}, e4, e5)
	q("stream type", domain.EventFilter{StreamType: events.StreamServer}, e6)
	q("stream id across types", domain.EventFilter{StreamID: srvA}, e6)
	q("server", domain.EventFilter{ServerID: srvA}, e1, e2, e3, e6)
	q("server b", domain.EventFilter{ServerID: srvB}, e4, e5)
	q("types", domain.EventFilter{Types: []string{"message.queued", "message.bounced"}}, e1, e4, e5)
	q("one type", domain.EventFilter{Types: []string{"org.created"}}, e7)
	q("unknown type", domain.EventFilter{Types: []string{"message.opened"}})
	q("actor type", domain.EventFilter{ActorType: events.ActorCLI}, e6, e7)
	q("actor", domain.EventFilter{ActorType: events.ActorSMTP, ActorID: "cred-1"}, e1, e4)
	q("actor id", domain.EventFilter{ActorID: "worker"}, e2, e3, e5)
	q("since (inclusive)", domain.EventFilter{Since: base.Add(4 * time.Minute)}, e5, e6, e7)
	q("until (exclusive)", domain.EventFilter{Until: base.Add(time.Minute)}, e1)
	q("time range", domain.EventFilter{Since: base.Add(time.Minute), Until: base.Add(3 * time.Minute)}, e2, e3)
	q("time range in another zone", domain.EventFilter{
		Since: base.Add(time.Minute).In(time.FixedZone("CET", 3600)),
		Until: base.Add(3 * time.Minute).In(time.FixedZone("EST", -5*3600)),
	}, e2, e3)
	q("after", domain.EventFilter{After: all[4].Position}, e6, e7)
	q("limit", domain.EventFilter{Limit: 2}, e1, e2)
	q("after and limit", domain.EventFilter{After: all[1].Position, Limit: 2}, e3, e4)
	q("server, type, time and limit", domain.EventFilter{
		ServerID: srvA, Types: []string{"message.attempted", "message.delivered", "server.created"},
		Since: base.Add(30 * time.Second), Limit: 2,
	}, e2, e3)
	q("nothing matches", domain.EventFilter{ServerID: srvB, ActorType: events.ActorCLI})
}

// testQuerySeesUnpositioned: admin writes are visible in the audit trail even when no relay runs.
func testQuerySeesUnpositioned(t *testing.T, s Store) {
	a, b := msg("m-1", 1), msg("m-2", 1)
	mustAppend(t, s, a)
	stampAll(t, s)
	mustAppend(t, s, b) // possibly unpositioned: no relay ran since
	recs, err := s.Query(ctxT(t), domain.EventFilter{ServerID: "srv-1"})
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "audit trail before the relay runs", recs, a, b)
	recs, err = s.Query(ctxT(t), domain.EventFilter{StreamID: "m-2"})
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "one unpositioned stream", recs, b)
	recs, err = s.Query(ctxT(t), domain.EventFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "limit counts positioned first", recs, a)
	// A reader of the log tail past a read model's horizon (the freshness rule of
	// domain/platform) asks for the events after a position: the unpositioned ones come too.
	first, err := s.Query(ctxT(t), domain.EventFilter{StreamID: "m-1"})
	if err != nil || len(first) != 1 || first[0].Position == 0 {
		t.Fatalf("m-1 = %v, %v; want it positioned", ids(first), err)
	}
	recs, err = s.Query(ctxT(t), domain.EventFilter{ServerID: "srv-1", After: first[0].Position})
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "the tail after a position, before the relay runs", recs, b)
}
