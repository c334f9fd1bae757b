package main

import (
	"context"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
)

// platformStatus is what `posthaste status` prints and /metrics exports.
type platformStatus struct {
	Backend  string         `json:"backend"` // embedded or production
	Backends []backendState `json:"backends"`
	Head     int64          `json:"head_position"` // highest assigned position
	// RelayLag counts the events committed but not yet confirmed by the bus (outbox rows).
	RelayLag    int64              `json:"relay_lag"`
	Projections []projectionStatus `json:"projections"`
	// DeadLetters counts poison events recorded by the projections (durable, in the database).
	DeadLetters int64 `json:"dead_letters"`
	// BusDeadLetters counts messages waiting in the bus's dead-letter queues (production only).
	BusDeadLetters int64    `json:"bus_dead_letters"`
	Errors         []string `json:"errors,omitempty"`
}

type backendState struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

type projectionStatus struct {
	sqlstore.ProjectionStatus
	BusDeadLetters int64 `json:"bus_dead_letters"`
}

// OK reports whether every backend answered and nothing failed to read.
func (s platformStatus) OK() bool {
	for _, b := range s.Backends {
		if !b.OK {
			return false
		}
	}
	return len(s.Errors) == 0
}

// collectStatus gathers the state of the platform. Problems reading one part are listed in
// Errors; the rest is still reported. busDeadLetters may be nil (not known in this process).
func collectStatus(ctx context.Context, st *Store, names []string, busDeadLetters func(context.Context) (map[string]int, error)) platformStatus {
	out := platformStatus{Backend: st.Kind()}
	for i, f := range checkBackendsEach(ctx, st.Pings()) {
		out.Backends = append(out.Backends, backendState{Name: st.Pings()[i].name, OK: f == "", Error: f})
	}
	var err error
	if out.Head, err = sqlstore.HeadPosition(ctx, st.Events, 0); err != nil {
		out.Errors = append(out.Errors, "head position: "+err.Error())
	}
	if out.RelayLag, err = sqlstore.OutboxPending(ctx, st.DB.SQL); err != nil {
		out.Errors = append(out.Errors, "relay lag: "+err.Error())
	}
	var bus map[string]int
	if busDeadLetters != nil {
		if bus, err = busDeadLetters(ctx); err != nil {
			out.Errors = append(out.Errors, "bus dead letters: "+err.Error())
		}
	}
	sts, err := sqlstore.ReadStatus(ctx, st.DB.SQL, st.Events, names)
	if err != nil {
		out.Errors = append(out.Errors, "projections: "+err.Error())
	}
	for _, s := range sts {
		ps := projectionStatus{ProjectionStatus: s, BusDeadLetters: int64(bus[s.Projection])}
		out.DeadLetters += s.DeadLetters
		out.BusDeadLetters += ps.BusDeadLetters
		out.Projections = append(out.Projections, ps)
	}
	return out
}

// checkBackendsEach pings every backend and returns, per backend, "" or its error.
func checkBackendsEach(ctx context.Context, pings []backendPing) []string {
	out := make([]string, len(pings))
	for i, p := range pings {
		if f := checkBackends(ctx, []backendPing{p}); len(f) > 0 {
			out[i] = f[0][len(p.name)+2:]
		}
	}
	return out
}

// statusTimeout bounds one status collection (a scrape or the status command).
const statusTimeout = 5 * time.Second
