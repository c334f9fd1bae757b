package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/projections"
)

// ReadSide is the application's view of the projection engine (platform.ReadSide) over one
// store: the projections a deployment runs, in the order serve runs them, the head of the log,
// the relay's lag, each projection's progress, replay and checksum. It reads from the database
// only, so it answers from any process, with or without a running projector.
type ReadSide struct {
	s      *Store
	projs  []projections.Projection
	byName map[string]projections.Projection
	logger *slog.Logger
	opts   ProjectionOptions
}

var _ platform.ReadSide = (*ReadSide)(nil)

// NewReadSide returns the read side of s for projs (the projections serve runs, in its order).
// It refuses a nil store or logger, no projection, a projection the runner would refuse and two
// projections of one name. opts tune replays (the zero value takes the runner's defaults).
func NewReadSide(s *Store, projs []projections.Projection, logger *slog.Logger, opts ProjectionOptions) (*ReadSide, error) {
	var errs []error
	if s == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if logger == nil {
		errs = append(errs, errors.New("logger is nil"))
	}
	if len(projs) == 0 {
		errs = append(errs, errors.New("no projections"))
	}
	byName := make(map[string]projections.Projection, len(projs))
	for _, p := range projs {
		if err := checkProjection(p); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := byName[p.Name()]; dup {
			errs = append(errs, fmt.Errorf("projection %q listed twice", p.Name()))
		}
		byName[p.Name()] = p
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sqlstore: new read side: %w", err)
	}
	return &ReadSide{s: s, projs: append([]projections.Projection(nil), projs...), byName: byName, logger: logger, opts: opts}, nil
}

// Projections lists the projections with the tables each owns, in serve's order.
func (r *ReadSide) Projections() []platform.ProjectionInfo {
	out := make([]platform.ProjectionInfo, len(r.projs))
	for i, p := range r.projs {
		out[i] = platform.ProjectionInfo{Name: p.Name(), Tables: p.Tables()}
	}
	return out
}

// Head is the highest position the log has assigned (0 for an empty log).
func (r *ReadSide) Head(ctx context.Context) (int64, error) {
	return HeadPosition(ctx, r.s, 0)
}

// RelayLag counts the outbox rows: events committed and not yet confirmed by the bus.
func (r *ReadSide) RelayLag(ctx context.Context) (int64, error) {
	return OutboxPending(ctx, r.s.DB())
}

// Status reads the progress of the named projections (ReadStatus); the runner's own counters
// are zero, as they are read from outside any runner.
func (r *ReadSide) Status(ctx context.Context, names []string) ([]platform.ProjectionStatus, error) {
	sts, err := ReadStatus(ctx, r.s.DB(), r.s, names)
	if err != nil {
		return nil, err
	}
	out := make([]platform.ProjectionStatus, len(sts))
	for i, s := range sts {
		out[i] = platform.ProjectionStatus{
			Projection: s.Projection, Horizon: s.Horizon, Applied: s.Applied, Head: s.Head, Lag: s.Lag, DeadLetters: s.DeadLetters,
			AppliedSinceStart: s.AppliedSinceStart, SkippedSinceStart: s.SkippedSinceStart,
			DeadLetteredSinceStart: s.DeadLetteredSinceStart, RetriesSinceStart: s.RetriesSinceStart,
		}
	}
	return out, nil
}

// Replay rebuilds the named projections in one read of the log (ReplayAll): each is swapped in
// once all are built. It returns a result per projection in the order given, also when it fails
// part way. An unknown name fails before anything is read.
func (r *ReadSide) Replay(ctx context.Context, names []string) ([]platform.ReplayResult, error) {
	projs, err := r.named("replay", names)
	if err != nil {
		return nil, err
	}
	results, err := ReplayAll(ctx, r.s.DB(), r.s.Dialect(), r.s, projs, r.logger, r.opts)
	out := make([]platform.ReplayResult, len(results))
	for i, res := range results {
		out[i] = platform.ReplayResult{Projection: res.Projection, Events: res.Events, Applied: res.Applied,
			DeadLetters: res.DeadLetters, Position: res.Position}
	}
	return out, err
}

// Checksum hashes every table of the named projections (Checksum), in the order given. On a
// failure it returns the checksums made before it with the error.
func (r *ReadSide) Checksum(ctx context.Context, names []string) ([]platform.ProjectionChecksum, error) {
	projs, err := r.named("checksum", names)
	if err != nil {
		return nil, err
	}
	out := make([]platform.ProjectionChecksum, 0, len(projs))
	for _, p := range projs {
		sum, err := Checksum(ctx, r.s.DB(), r.s.Dialect(), p)
		if err != nil {
			return out, err
		}
		pc := platform.ProjectionChecksum{Projection: sum.Projection, SHA256: sum.SHA256}
		for _, t := range sum.Tables {
			pc.Tables = append(pc.Tables, platform.TableChecksum{Table: t.Table, Rows: t.Rows, SHA256: t.SHA256})
		}
		out = append(out, pc)
	}
	return out, nil
}

// named returns the projections of names, or an error naming the unknown ones and the known.
func (r *ReadSide) named(op string, names []string) ([]projections.Projection, error) {
	out := make([]projections.Projection, 0, len(names))
	var unknown []string
	for _, n := range names {
		p, ok := r.byName[n]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", n))
			continue
		}
		out = append(out, p)
	}
	if len(unknown) > 0 {
		known := make([]string, len(r.projs))
		for i, p := range r.projs {
			known[i] = p.Name()
		}
		return nil, fmt.Errorf("sqlstore: %s: unknown projection %s (known: %s)", op, strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return out, nil
}
