package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// defaultLimit is what Query, ReadAll, Pending and PendingAfter return at most when they are
// given no limit, as the SQL store.
const defaultLimit = 1000

// EventStore is the in-memory domain.EventStore and domain.Outbox, for tests and tools: it
// keeps the whole contract written on those ports (domain/eventstoretest checks it) and nothing
// durable. Serve never uses it.
//
// One mutex orders every append, so an event gets its position when its append commits: the
// log is gap-free and in commit order from the start, and Pending has nothing left to assign.
// Events are kept as the bytes events.Marshal gave at append and read back decoded from them,
// as from a database: a caller changing an envelope it appended or read changes nothing here.
type EventStore struct {
	mu      sync.Mutex
	log     []stored            // log[i] has position i+1
	streams map[streamKey][]int // indexes into log, in version order
	acked   map[int64]struct{}  // acked positions above ackedTo (a gap below them is unacked)
	ackedTo int64               // every position <= ackedTo was acked
}

// stored is one committed event: its stored bytes and its envelope decoded from them.
type stored struct {
	data []byte
	env  events.Envelope
}

type streamKey struct{ typ, id string }

var (
	_ domain.EventStore = (*EventStore)(nil)
	_ domain.Outbox     = (*EventStore)(nil)
)

// NewEventStore returns an empty event store.
func NewEventStore() *EventStore {
	return &EventStore{streams: map[streamKey][]int{}, acked: map[int64]struct{}{}}
}

// Append writes every envelope or none (see domain.EventStore): an envelope that fails
// Validate or cannot be encoded is refused with an error, an existing (stream_type, stream_id,
// stream_version), or one given twice, with a *domain.ConflictError.
func (s *EventStore) Append(ctx context.Context, envs ...events.Envelope) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: append: %w", err)
	}
	rows := make([]stored, len(envs))
	for i, e := range envs {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("memory: append: %w", err)
		}
		data, err := events.Marshal(e)
		if err != nil {
			return fmt.Errorf("memory: append %s/%s@%d: %w", e.StreamType, e.StreamID, e.StreamVersion, err)
		}
		env, err := events.Unmarshal(data)
		if err != nil {
			return fmt.Errorf("memory: append %s/%s@%d: %w", e.StreamType, e.StreamID, e.StreamVersion, err)
		}
		rows[i] = stored{data: data, env: env}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type versionKey struct {
		streamKey
		version int64
	}
	inThisAppend := make(map[versionKey]struct{}, len(rows))
	for _, r := range rows {
		k := versionKey{streamKey{r.env.StreamType, r.env.StreamID}, r.env.StreamVersion}
		_, twice := inThisAppend[k]
		if _, exists := s.find(k.streamKey, k.version); exists || twice {
			return &domain.ConflictError{StreamType: k.typ, StreamID: k.id, StreamVersion: k.version}
		}
		inThisAppend[k] = struct{}{}
	}
	for _, r := range rows {
		k := streamKey{r.env.StreamType, r.env.StreamID}
		at, _ := s.find(k, r.env.StreamVersion)
		s.streams[k] = slices.Insert(s.streams[k], at, len(s.log))
		s.log = append(s.log, r)
	}
	return nil
}

// find returns where version stands (or would stand) in the stream's index, and whether the
// stream holds it. The caller holds s.mu.
func (s *EventStore) find(k streamKey, version int64) (int, bool) {
	idx := s.streams[k]
	at := sort.Search(len(idx), func(i int) bool { return s.log[idx[i]].env.StreamVersion >= version })
	return at, at < len(idx) && s.log[idx[at]].env.StreamVersion == version
}

// record returns log[i] as a record the caller owns.
func (s *EventStore) record(i int) events.Record {
	r := s.log[i]
	env := r.env
	env.Payload = slices.Clone(r.env.Payload)
	if r.env.ServerID != nil {
		id := *r.env.ServerID
		env.ServerID = &id
	}
	return events.Record{Position: int64(i + 1), Envelope: env, Data: slices.Clone(r.data)}
}

// ReadStream returns the stream's events with version >= fromVersion in version order.
func (s *EventStore) ReadStream(ctx context.Context, streamType, streamID string, fromVersion int64) ([]events.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: read stream %s/%s: %w", streamType, streamID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := streamKey{streamType, streamID}
	from, _ := s.find(k, fromVersion)
	var out []events.Record
	for _, i := range s.streams[k][from:] {
		out = append(out, s.record(i))
	}
	return out, nil
}

// ReadAll returns up to limit events with position > after, in position order (limit <= 0:
// 1000).
func (s *EventStore) ReadAll(ctx context.Context, after int64, limit int) ([]events.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: read all after %d: %w", after, err)
	}
	return s.Query(ctx, domain.EventFilter{After: after, Limit: limit})
}

// Query returns the events matching every set field of f, in position order (every event has
// its position from its append on).
func (s *EventStore) Query(ctx context.Context, f domain.EventFilter) ([]events.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: query events: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []events.Record
	for i := max(f.After, 0); i < int64(len(s.log)) && len(out) < limit; i++ {
		if matches(f, s.log[i].env) {
			out = append(out, s.record(int(i)))
		}
	}
	return out, nil
}

// matches reports whether e passes every set field of f but After and Limit.
func matches(f domain.EventFilter, e events.Envelope) bool {
	switch {
	case f.StreamType != "" && e.StreamType != f.StreamType,
		f.StreamID != "" && e.StreamID != f.StreamID,
		f.ServerID != "" && e.Server() != f.ServerID,
		len(f.Types) > 0 && !slices.Contains(f.Types, e.Type),
		f.ActorType != "" && e.Actor.Type != f.ActorType,
		f.ActorID != "" && e.Actor.ID != f.ActorID,
		!f.Since.IsZero() && e.OccurredAt.Before(f.Since),
		!f.Until.IsZero() && !e.OccurredAt.Before(f.Until):
		return false
	}
	return true
}

// Pending returns up to limit outbox entries (events not yet acked) in position order
// (limit <= 0: 1000). Positions were given at append: there is nothing to assign.
func (s *EventStore) Pending(ctx context.Context, limit int) ([]events.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: pending: %w", err)
	}
	return s.pendingAfter(0, limit), nil
}

// PendingAfter returns up to limit outbox entries with a position above after, in position
// order (the relay's read-ahead; limit <= 0: 1000): the ones Pending would return after those
// at or below after.
func (s *EventStore) PendingAfter(ctx context.Context, after int64, limit int) ([]events.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: pending after %d: %w", after, err)
	}
	return s.pendingAfter(after, limit), nil
}

func (s *EventStore) pendingAfter(after int64, limit int) []events.Record {
	if limit <= 0 {
		limit = defaultLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []events.Record
	for p := max(after, s.ackedTo) + 1; p <= int64(len(s.log)) && len(out) < limit; p++ {
		if _, done := s.acked[p]; !done {
			out = append(out, s.record(int(p-1)))
		}
	}
	return out
}

// Ack removes the outbox entries of positions; the events stay in the log. Unknown or already
// acked positions are ignored.
func (s *EventStore) Ack(ctx context.Context, positions []int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: ack: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range positions {
		if p > s.ackedTo && p <= int64(len(s.log)) {
			s.acked[p] = struct{}{}
		}
	}
	for {
		if _, done := s.acked[s.ackedTo+1]; !done {
			return nil
		}
		delete(s.acked, s.ackedTo+1)
		s.ackedTo++
	}
}
