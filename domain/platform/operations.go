package platform

import (
	"context"
	"fmt"
)

// Operations: the state of the platform's backends and read side (`posthaste status`, /readyz,
// /metrics) and the rebuilding of read models (`posthaste replay`, `projections checksum`). They
// are operator questions: every method refuses any other caller with ErrForbidden.
//
// The JSON of these types is what `status --json`, `replay --json` and `projections checksum
// --json` print, read by outside tools: never rename a field.

// Probe is one backend the platform depends on (the database, the bus, Redis), checked by
// /readyz and `status`.
type Probe struct {
	Name string
	Ping func(ctx context.Context) error
}

// ReadSide is the projection engine's operational side (implemented by the SQL store).
//
// Contract:
//   - Projections lists every projection the platform runs, in the order serve runs them; names
//     are stable (queues, checkpoints, replay targets).
//   - Head is the highest position the log has assigned; RelayLag counts the events committed but
//     not yet confirmed by the bus (outbox rows).
//   - Status reads each named projection's progress from the database (works from any process,
//     with or without a running projector).
//   - Replay rebuilds the named projections from the log in one read of it, each swapped in
//     atomically once all are built; it returns one result per projection, in the order given,
//     also when it fails part way (the error says where).
//   - Checksum hashes every row of each named projection's tables in canonical order: a live
//     model and one rebuilt from the same log have the same checksum.
type ReadSide interface {
	Projections() []ProjectionInfo
	Head(ctx context.Context) (int64, error)
	RelayLag(ctx context.Context) (int64, error)
	Status(ctx context.Context, names []string) ([]ProjectionStatus, error)
	Replay(ctx context.Context, names []string) ([]ReplayResult, error)
	Checksum(ctx context.Context, names []string) ([]ProjectionChecksum, error)
}

// BusDeadLetters counts the messages in each projection's dead-letter queue on the bus, by
// projection name (nil when the bus keeps none apart from the store, as the in-process bus).
type BusDeadLetters func(ctx context.Context) (map[string]int, error)

// ProjectionInfo names a projection and the read-model tables it owns.
type ProjectionInfo struct {
	Name   string   `json:"name"`
	Tables []string `json:"tables"`
}

// Status is the state of the platform (`posthaste status --json`).
type Status struct {
	Backend  string         `json:"backend"` // embedded or production
	Backends []BackendState `json:"backends"`
	Head     int64          `json:"head_position"` // highest assigned position
	// RelayLag counts the events committed but not yet confirmed by the bus (outbox rows).
	RelayLag    int64                `json:"relay_lag"`
	Projections []ProjectionProgress `json:"projections"`
	// DeadLetters counts poison events recorded by the projections (durable, in the database).
	DeadLetters int64 `json:"dead_letters"`
	// BusDeadLetters counts messages waiting in the bus's dead-letter queues (production only).
	BusDeadLetters int64    `json:"bus_dead_letters"`
	Errors         []string `json:"errors,omitempty"`
}

// OK reports whether every backend answered and nothing failed to read.
func (s Status) OK() bool {
	for _, b := range s.Backends {
		if !b.OK {
			return false
		}
	}
	return len(s.Errors) == 0
}

// BackendState is one probe's answer.
type BackendState struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// ProjectionStatus is one projection's progress as the store records it.
type ProjectionStatus struct {
	Projection string `json:"projection"`
	// Horizon: every event at or below this position is applied (or dead-lettered).
	Horizon int64 `json:"horizon"`
	// Applied is the highest position applied.
	Applied int64 `json:"applied_position"`
	// Head is the store's highest position.
	Head int64 `json:"head_position"`
	// Lag is Head minus the highest position applied (never negative).
	Lag int64 `json:"lag"`
	// DeadLetters counts the poison events recorded for the projection (durable).
	DeadLetters int64 `json:"dead_letters"`

	// The runner's own accounting since it started (zero when read without a runner).
	AppliedSinceStart      int64 `json:"applied_since_start"`
	SkippedSinceStart      int64 `json:"skipped_since_start"`
	DeadLetteredSinceStart int64 `json:"dead_lettered_since_start"`
	RetriesSinceStart      int64 `json:"retries_since_start"`
}

// ProjectionProgress is a projection's status with its dead letters on the bus.
type ProjectionProgress struct {
	ProjectionStatus
	BusDeadLetters int64 `json:"bus_dead_letters"`
}

// ReplayResult is what rebuilding one projection did.
type ReplayResult struct {
	Projection  string `json:"projection"`
	Events      int    `json:"events"`       // read from the store
	Applied     int    `json:"applied"`      // applied to the rebuilt model
	DeadLetters int    `json:"dead_letters"` // poison events met (recorded again)
	Position    int64  `json:"position"`     // the rebuilt model covers the store up to here
}

// TableChecksum is the checksum of one read-model table.
type TableChecksum struct {
	Table  string `json:"table"`
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}

// ProjectionChecksum is the checksum of every table of a projection (its checkpoints excluded).
type ProjectionChecksum struct {
	Projection string          `json:"projection"`
	Tables     []TableChecksum `json:"tables"`
	SHA256     string          `json:"sha256"` // over the table names and their checksums, in order
}

// Projections lists the platform's projections (their names and tables).
func (q *Queries) Projections() []ProjectionInfo {
	if q.c.d.ReadSide == nil {
		return nil
	}
	return q.c.d.ReadSide.Projections()
}

// Status gathers the state of the platform: every probe, the head position, the relay lag, each
// projection's progress and the dead letters. A part that cannot be read is listed in Errors and
// the rest is still reported.
func (q *Queries) Status(ctx context.Context, caller Caller) (Status, error) {
	if !caller.IsOperator() {
		return Status{}, fmt.Errorf("status: %w", ErrForbidden)
	}
	d := q.c.d
	if d.ReadSide == nil {
		return Status{}, fmt.Errorf("status: %w: no read side", ErrNotConfigured)
	}
	out := Status{Backend: d.Backend}
	for _, p := range d.Probes {
		st := BackendState{Name: p.Name, OK: true}
		if err := p.Ping(ctx); err != nil {
			st.OK, st.Error = false, err.Error()
		}
		out.Backends = append(out.Backends, st)
	}
	var err error
	if out.Head, err = d.ReadSide.Head(ctx); err != nil {
		out.Errors = append(out.Errors, "head position: "+err.Error())
	}
	if out.RelayLag, err = d.ReadSide.RelayLag(ctx); err != nil {
		out.Errors = append(out.Errors, "relay lag: "+err.Error())
	}
	var bus map[string]int
	if d.BusDeadLetters != nil {
		if bus, err = d.BusDeadLetters(ctx); err != nil {
			out.Errors = append(out.Errors, "bus dead letters: "+err.Error())
		}
	}
	names := make([]string, 0)
	for _, p := range d.ReadSide.Projections() {
		names = append(names, p.Name)
	}
	sts, err := d.ReadSide.Status(ctx, names)
	if err != nil {
		out.Errors = append(out.Errors, "projections: "+err.Error())
	}
	for _, s := range sts {
		pp := ProjectionProgress{ProjectionStatus: s, BusDeadLetters: int64(bus[s.Projection])}
		out.DeadLetters += s.DeadLetters
		out.BusDeadLetters += pp.BusDeadLetters
		out.Projections = append(out.Projections, pp)
	}
	return out, nil
}

// Replay rebuilds the named projections from the log (see ReadSide.Replay).
func (c *Commands) Replay(ctx context.Context, caller Caller, names []string) ([]ReplayResult, error) {
	if !caller.IsOperator() {
		return nil, fmt.Errorf("replay: %w", ErrForbidden)
	}
	if c.c.d.ReadSide == nil {
		return nil, fmt.Errorf("replay: %w: no read side", ErrNotConfigured)
	}
	return c.c.d.ReadSide.Replay(ctx, names)
}

// Checksum hashes the named projections' tables (see ReadSide.Checksum).
func (q *Queries) Checksum(ctx context.Context, caller Caller, names []string) ([]ProjectionChecksum, error) {
	if !caller.IsOperator() {
		return nil, fmt.Errorf("projections checksum: %w", ErrForbidden)
	}
	if q.c.d.ReadSide == nil {
		return nil, fmt.Errorf("projections checksum: %w: no read side", ErrNotConfigured)
	}
	return q.c.d.ReadSide.Checksum(ctx, names)
}
