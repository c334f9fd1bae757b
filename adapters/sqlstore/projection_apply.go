package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// Bookkeeping tables (see migrations/*/20261124000300_projections.sql). They are never part of
// a projection's checksum.
const (
	tableStreams     = "projection_streams"
	tablePositions   = "projection_positions"
	tableDeadLetters = "projection_dead_letters"
)

type streamKey struct{ typ, id string }

// needFetchError asks the caller to read streams' missing versions from the store outside the
// transaction (a store on a one-connection pool must not be read while a transaction holds it),
// then to run the transaction again. A pass collects every stream it needs, so a batch of
// reordered deliveries costs one extra pass, not one per stream.
type needFetchError struct{ reqs []fetchReq }

type fetchReq struct {
	key  streamKey
	from int64
}

func (e *needFetchError) Error() string {
	return fmt.Sprintf("projections: need the missing versions of %d streams from the store", len(e.reqs))
}

// errCareful sends a transaction back to be run again with a savepoint per event: an event
// failed as poison, and its partial writes must be undone alone.
var errCareful = errors.New("projections: poison event met: run again with savepoints")

// applyError is a database failure raised by a projection's Apply: the transaction is rolled back
// and retried.
type applyError struct {
	rec events.Record
	err error
}

func (e *applyError) Error() string {
	env := e.rec.Envelope
	return fmt.Sprintf("apply %s %s/%s@%d: %v", env.Type, env.StreamType, env.StreamID, env.StreamVersion, e.err)
}

func (e *applyError) Unwrap() error { return e.err }

// fetchedStream is a stream's versions >= from, read from the store.
type fetchedStream struct {
	from int64
	recs []events.Record
}

// deadLetter is one poison event recorded in a transaction.
type deadLetter struct {
	rec    events.Record
	reason error
}

// txApplier applies records of one projection inside one transaction, keeping the projection's
// per-stream checkpoints (cached for the transaction, written once at flush) and recording
// poison events. It is the one code path shared by the live runner, reconcile and replay.
type txApplier struct {
	proj    projections.Projection
	d       Dialect
	tx      *projectionTx
	now     func() time.Time
	isDBErr func(error) bool
	// fetched holds store reads made outside the transaction, by stream.
	fetched map[streamKey]fetchedStream
	// lastAttempt makes any Apply failure poison (the bounded retries are used up).
	lastAttempt bool
	// recallDead makes handle return the recorded reason for a skipped event that was
	// dead-lettered, so a bus delivery of it goes to the dead-letter queue even when it was met
	// first while filling a gap.
	recallDead bool
	// careful applies each event under a savepoint, so a poison one is undone alone. The first
	// try of a transaction goes without (a round trip less per event); a poison event sends the
	// transaction back to be run again carefully.
	careful bool

	// mem, when set, holds every stream's checkpoint (a replay building a model from scratch in
	// position order): checkpoints are read from it instead of projection_streams, and flush
	// does not write them (the replay writes them once, at the swap).
	mem map[streamKey]int64

	versions map[streamKey]int64
	dirty    map[streamKey]bool
	maxPos   int64
	applied  int
	skipped  int
	dead     []deadLetter
	// needs are the streams whose missing versions must be read from the store; blocked
	// streams are not applied further in this pass.
	needs   []fetchReq
	blocked map[streamKey]bool
	// done holds the positions handled in this transaction (applied, skipped as already applied,
	// or dead-lettered), for advancing the horizon.
	done []int64
}

func newTxApplier(tx *projectionTx, proj projections.Projection, now func() time.Time, isDBErr func(error) bool, fetched map[streamKey]fetchedStream, last, careful bool) *txApplier {
	return &txApplier{
		proj: proj, d: tx.d, tx: tx, now: now, isDBErr: isDBErr, fetched: fetched, lastAttempt: last, careful: careful,
		versions: map[streamKey]int64{}, dirty: map[streamKey]bool{}, blocked: map[streamKey]bool{},
	}
}

// positionColumns lock a projection_positions row: inserted at zero, or written unchanged.
var positionColumns = []projections.Column{{Name: "projection", On: projections.Key}, {Name: "position", On: projections.Keep},
	{Name: "applied_position", On: projections.Keep}}

// lockPosition makes sure the projection's projection_positions row exists and locks it for the
// rest of the transaction. Every writer of a projection's model (consumer, reconcile, replay's
// swap) starts with it, so they never interleave; on SQLite it also takes the write lock up front.
func lockPosition(ctx context.Context, tx *sql.Tx, d Dialect, name string) error {
	head, tail, err := upsertStatement(d, tablePositions, positionColumns)
	if err == nil {
		_, err = tx.ExecContext(ctx, head+"(?, 0, 0)"+tail, name)
	}
	if err != nil {
		return fmt.Errorf("projections: lock position of %s: %w", name, err)
	}
	return nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readHorizon(ctx context.Context, q queryRower, name string) (horizon, applied int64, err error) {
	err = q.QueryRowContext(ctx, `SELECT position, applied_position FROM projection_positions WHERE projection = ?`, name).Scan(&horizon, &applied)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("projections: read position of %s: %w", name, err)
	}
	return horizon, applied, nil
}

func (a *txApplier) setHorizon(ctx context.Context, pos int64) error {
	if _, err := a.tx.ExecContext(ctx, `UPDATE projection_positions SET position = ? WHERE projection = ?`, pos, a.proj.Name()); err != nil {
		return fmt.Errorf("projections: advance horizon of %s: %w", a.proj.Name(), err)
	}
	return nil
}

func (a *txApplier) checkpoint(ctx context.Context, k streamKey) (int64, error) {
	if v, ok := a.versions[k]; ok {
		return v, nil
	}
	if a.mem != nil {
		v := a.mem[k]
		a.versions[k] = v
		return v, nil
	}
	var v int64
	err := a.tx.QueryRowContext(ctx, `SELECT version FROM projection_streams WHERE projection = ? AND stream_type = ? AND stream_id = ?`,
		a.proj.Name(), k.typ, k.id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		v, err = 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("projections: read checkpoint of %s for %s/%s: %w", a.proj.Name(), k.typ, k.id, err)
	}
	a.versions[k] = v
	return v, nil
}

// prefetch reads the checkpoints of the streams of recs in a few queries instead of one per stream.
func (a *txApplier) prefetch(ctx context.Context, recs []events.Record) error {
	if a.mem != nil {
		return nil
	}
	var keys []streamKey
	seen := map[streamKey]bool{}
	for _, r := range recs {
		k := streamKey{r.Envelope.StreamType, r.Envelope.StreamID}
		if _, cached := a.versions[k]; !cached && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for len(keys) > 0 {
		n := min(200, len(keys))
		var b strings.Builder
		b.WriteString(`SELECT stream_type, stream_id, version FROM projection_streams WHERE projection = ? AND (stream_type, stream_id) IN (`)
		args := []any{a.proj.Name()}
		for i, k := range keys[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?)")
			args = append(args, k.typ, k.id)
			a.versions[k] = 0 // unless found below
		}
		b.WriteString(")")
		rows, err := a.tx.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return fmt.Errorf("projections: read checkpoints of %s: %w", a.proj.Name(), err)
		}
		for rows.Next() {
			var k streamKey
			var v int64
			if err := rows.Scan(&k.typ, &k.id, &v); err != nil {
				rows.Close()
				return fmt.Errorf("projections: read checkpoints of %s: %w", a.proj.Name(), err)
			}
			a.versions[k] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("projections: read checkpoints of %s: %w", a.proj.Name(), err)
		}
		keys = keys[n:]
	}
	return nil
}

// handle applies rec unless it was applied already. When rec is ahead of the checkpoint, the
// missing versions are applied first, from the store. poison is non-nil when rec itself was
// dead-lettered (recorded, and the checkpoint moved past it).
func (a *txApplier) handle(ctx context.Context, rec events.Record) (poison error, err error) {
	env := rec.Envelope
	k := streamKey{env.StreamType, env.StreamID}
	if a.blocked[k] {
		return nil, nil // the pass is run again once the stream's versions are fetched
	}
	applied, err := a.checkpoint(ctx, k)
	if err != nil {
		return nil, err
	}
	v := env.StreamVersion
	if v <= applied {
		a.skipped++
		a.markDone(rec)
		if a.recallDead {
			return a.deadReason(ctx, rec)
		}
		return nil, nil
	}
	if v > applied+1 {
		f, ok := a.fetched[k]
		if !ok || f.from > applied+1 {
			a.blocked[k] = true
			a.needs = append(a.needs, fetchReq{key: k, from: applied + 1})
			return nil, nil
		}
		next := applied + 1
		for _, m := range f.recs {
			mv := m.Envelope.StreamVersion
			if mv < next {
				continue
			}
			if mv >= v {
				break
			}
			if mv != next {
				return nil, fmt.Errorf("projections: %s/%s: store has version %d where %d was expected", k.typ, k.id, mv, next)
			}
			if _, err := a.applyOne(ctx, m); err != nil {
				return nil, err
			}
			next++
		}
		if next != v {
			return nil, fmt.Errorf("projections: %s/%s: store lacks versions %d..%d", k.typ, k.id, next, v-1)
		}
	}
	return a.applyOne(ctx, rec)
}

// deadReason returns the recorded reason when rec was dead-lettered by this projection.
func (a *txApplier) deadReason(ctx context.Context, rec events.Record) (error, error) {
	var reason string
	err := a.tx.QueryRowContext(ctx, `SELECT reason FROM projection_dead_letters WHERE projection = ? AND event_id = ?`,
		a.proj.Name(), rec.Envelope.ID).Scan(&reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("projections: read dead letter of %s: %w", a.proj.Name(), err)
	}
	return projections.Poison(errors.New(reason)), nil
}

// applyOne applies the next version of a stream under a savepoint, so a poison event is undone
// alone and the rest of the transaction stands.
func (a *txApplier) applyOne(ctx context.Context, rec events.Record) (poison error, err error) {
	if !a.careful {
		aerr := a.safeApply(ctx, rec)
		switch {
		case aerr == nil:
			a.advance(rec)
			a.applied++
			return nil, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !a.lastAttempt && !errors.Is(aerr, projections.ErrPoison) && a.isDBErr(aerr):
			return nil, &applyError{rec: rec, err: aerr}
		}
		return nil, errCareful
	}
	if _, err := a.tx.ExecContext(ctx, `SAVEPOINT `+savepointApply); err != nil {
		return nil, fmt.Errorf("projections: savepoint: %w", err)
	}
	aerr := a.safeApply(ctx, rec)
	if aerr == nil {
		if err := a.releaseSavepoint(ctx); err != nil {
			return nil, err
		}
		a.advance(rec)
		a.applied++
		return nil, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if !a.lastAttempt && !errors.Is(aerr, projections.ErrPoison) && a.isDBErr(aerr) {
		return nil, &applyError{rec: rec, err: aerr}
	}
	if _, err := a.tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT `+savepointApply); err != nil {
		return nil, fmt.Errorf("projections: rollback to savepoint after %v: %w", aerr, err)
	}
	if err := a.releaseSavepoint(ctx); err != nil {
		return nil, err
	}
	if err := a.recordDeadLetter(ctx, rec, aerr); err != nil {
		return nil, err
	}
	a.advance(rec)
	a.dead = append(a.dead, deadLetter{rec: rec, reason: aerr})
	return aerr, nil
}

// savepointApply is the savepoint each event of a careful pass is applied under.
const savepointApply = "projection_apply"

// releaseSavepoint ends the event's savepoint where the database stacks savepoints of one name.
func (a *txApplier) releaseSavepoint(ctx context.Context) error {
	q := a.d.releaseSavepoint(savepointApply)
	if q == "" {
		return nil
	}
	if _, err := a.tx.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("projections: release savepoint: %w", err)
	}
	return nil
}

// safeApply calls the projection, turning a panic into a poison error.
func (a *txApplier) safeApply(ctx context.Context, rec events.Record) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = projections.Poison(fmt.Errorf("projections: %s panicked: %v", a.proj.Name(), r))
		}
	}()
	return a.proj.Apply(ctx, a.tx, rec)
}

func (a *txApplier) markDone(rec events.Record) {
	if rec.Position > 0 {
		a.done = append(a.done, rec.Position)
	}
}

// advanceHorizon moves the horizon over the positions handled in this transaction that directly
// follow it, so in-order deliveries keep it close to the head and catch-up has little to read.
func (a *txApplier) advanceHorizon(ctx context.Context) error {
	if len(a.done) == 0 {
		return nil
	}
	h, _, err := readHorizon(ctx, a.tx, a.proj.Name())
	if err != nil {
		return err
	}
	slices.Sort(a.done)
	n := h
	for _, p := range a.done {
		if p == n+1 {
			n = p
		} else if p > n+1 {
			break
		}
	}
	if n == h {
		return nil
	}
	return a.setHorizon(ctx, n)
}

func (a *txApplier) advance(rec events.Record) {
	a.markDone(rec)
	k := streamKey{rec.Envelope.StreamType, rec.Envelope.StreamID}
	a.versions[k] = rec.Envelope.StreamVersion
	a.dirty[k] = true
	if rec.Position > a.maxPos {
		a.maxPos = rec.Position
	}
}

// deadLetterColumns: a dead letter recorded again (a redelivered poison event) keeps its
// first identity and takes the new reason and time.
var deadLetterColumns = []projections.Column{{Name: "projection", On: projections.Key}, {Name: "event_id", On: projections.Key},
	{Name: "event_type", On: projections.Keep}, {Name: "stream_type", On: projections.Keep}, {Name: "stream_id", On: projections.Keep},
	{Name: "stream_version", On: projections.Keep}, {Name: "position", On: projections.Keep}, {Name: "reason", On: projections.Replace},
	{Name: "dead_lettered_at", On: projections.Replace}}

func (a *txApplier) recordDeadLetter(ctx context.Context, rec events.Record, reason error) error {
	env := rec.Envelope
	msg := reason.Error()
	if len(msg) > 4000 {
		msg = msg[:4000]
	}
	msg = strings.ToValidUTF8(msg, "") // a cut rune or foreign bytes must not fail the insert
	row := []any{a.proj.Name(), env.ID, env.Type, env.StreamType, env.StreamID, env.StreamVersion, rec.Position, msg, a.d.storedTime(a.now())}
	if err := a.tx.Upsert(ctx, tableDeadLetters, deadLetterColumns, [][]any{row}); err != nil {
		return fmt.Errorf("projections: record dead letter of %s: %w", a.proj.Name(), err)
	}
	return nil
}

// pendingFetch returns a *needFetchError when the pass met streams it must read first.
func (a *txApplier) pendingFetch() error {
	if len(a.needs) == 0 {
		return nil
	}
	return &needFetchError{reqs: a.needs}
}

// checkpointColumns: a stream's checkpoint takes the version applied last.
var checkpointColumns = []projections.Column{{Name: "projection", On: projections.Key}, {Name: "stream_type", On: projections.Key},
	{Name: "stream_id", On: projections.Key}, {Name: "version", On: projections.Replace}}

// flush writes the checkpoints advanced in this transaction and the highest applied position.
func (a *txApplier) flush(ctx context.Context) error {
	name := a.proj.Name()
	keys := make([]streamKey, 0, len(a.dirty))
	if a.mem == nil {
		for k := range a.dirty {
			keys = append(keys, k)
		}
	}
	const chunk = 200
	rows := make([][]any, 0, min(chunk, len(keys)))
	for len(keys) > 0 {
		n := min(chunk, len(keys))
		rows = rows[:0]
		for _, k := range keys[:n] {
			rows = append(rows, []any{name, k.typ, k.id, a.versions[k]})
		}
		if err := a.tx.Upsert(ctx, tableStreams, checkpointColumns, rows); err != nil {
			return fmt.Errorf("projections: write checkpoints of %s: %w", name, err)
		}
		keys = keys[n:]
	}
	if a.maxPos > 0 {
		q := `UPDATE projection_positions SET applied_position = ` + a.d.greatest("applied_position", "?") + ` WHERE projection = ?`
		if _, err := a.tx.ExecContext(ctx, q, a.maxPos, name); err != nil {
			return fmt.Errorf("projections: write applied position of %s: %w", name, err)
		}
	}
	return nil
}
