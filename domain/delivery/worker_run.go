package delivery

import (
	"context"
	"errors"
	"sync"
	"time"
)

// maxOffered bounds the ids waiting in Offer; beyond it offers are dropped (the queue lists those
// messages once its projection has applied them).
const maxOffered = 4096

// Wake makes the worker look for due messages now (e.g. after an acceptance in this process).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Offer hands the worker messages just accepted in this process (their message.queued is
// committed), so it can claim and attempt them at once instead of waiting for the delivery queue
// projection to apply the events (outbox → relay → bus → runner). It is only a hint: the claim
// still decides who attempts a message, the attempt reads the stream to decide what to do, and a
// message offered to a worker that dies is attempted from the queue once the claim lapsed.
//
// Why a second path beside Due: docs/benchmarks.md, "Message lifecycle: Posthaste vs Postfix,
// end to end", run of 2026-11-24 05:56–06:04 UTC, change 3: before it, delivery waited for the
// delivery-queue projection to see each new message; with the offer and the other changes of
// that run (settled releases, the ordered Due index, transcripts in the attempt's transaction)
// the lifecycle went from 21 to 136 delivered/s and from ~95 ms to 11.6 ms of CPU per message.
// The offer's own share was not measured apart.
func (w *Worker) Offer(ids ...string) {
	if len(ids) == 0 {
		return
	}
	w.offerMu.Lock()
	n := min(len(ids), maxOffered-len(w.offered))
	if n > 0 {
		w.offered = append(w.offered, ids[:n]...)
	}
	w.offerMu.Unlock()
	w.Wake()
}

// takeOffered returns up to n offered ids, oldest first.
func (w *Worker) takeOffered(n int) []string {
	w.offerMu.Lock()
	defer w.offerMu.Unlock()
	n = min(n, len(w.offered))
	ids := append([]string(nil), w.offered[:n]...)
	w.offered = w.offered[n:]
	if len(w.offered) == 0 {
		w.offered = nil
	}
	return ids
}

// unoffer puts back offered ids a failed poll took.
func (w *Worker) unoffer(ids []string) {
	if len(ids) == 0 {
		return
	}
	w.offerMu.Lock()
	if len(w.offered)+len(ids) <= maxOffered {
		w.offered = append(ids, w.offered...)
	}
	w.offerMu.Unlock()
}

// Run polls the queue until ctx ends, then waits for the attempts in flight to be recorded.
func (w *Worker) Run(ctx context.Context) error {
	sem := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	// Attempts in flight finish and are recorded even when ctx ends: a SIGTERM drains.
	work := context.WithoutCancel(ctx)
	renewCtx, stopRenew := context.WithCancel(work)
	go w.renewClaims(renewCtx)
	defer func() {
		wg.Wait()
		stopRenew()
		w.releaseFinished(work)
	}()
	for {
		n, err := w.poll(ctx, work, sem, &wg)
		if err != nil && ctx.Err() == nil {
			w.cfg.Logger.Error("delivery: poll failed", "error", err)
		}
		if n > 0 && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-time.After(w.cfg.PollInterval):
		}
	}
}

// poll claims up to the free concurrency and starts an attempt for each claimed message: offered
// messages first, then due ones from the queue. The queue is asked at least every PollInterval
// even while offers keep the worker busy, so retries and older work are not starved.
func (w *Worker) poll(ctx, work context.Context, sem chan struct{}, wg *sync.WaitGroup) (int, error) {
	free := cap(sem) - len(sem)
	// Claim in batches (one transaction each) rather than one message per round trip: wait
	// until a quarter of the slots are free, unless nothing at all is running.
	if free == 0 || (free < max(1, cap(sem)/4) && len(sem) > 0) {
		return 0, nil
	}
	w.releaseFinished(ctx)
	now := w.cfg.Recorder.Now()
	askQueue := now.Sub(w.lastDue) >= w.cfg.PollInterval
	want := free
	if askQueue {
		want = max(1, free/2) // leave room for due work
	}
	ids := w.skipRunning(w.takeOffered(want))
	if askQueue || len(ids) == 0 {
		w.lastDue = now
		due, err := w.cfg.Queue.Due(ctx, now, free-len(ids))
		if err != nil {
			w.unoffer(ids)
			return 0, err
		}
		ids = w.skipRunning(append(ids, due...))
	}
	if len(ids) == 0 {
		return 0, nil
	}
	got, err := w.cfg.Queue.Claim(ctx, ids, w.cfg.Owner, now, w.cfg.ClaimTTL)
	if err != nil {
		return 0, err
	}
	w.doneMu.Lock()
	for _, id := range got {
		w.inflight[id] = true
	}
	w.doneMu.Unlock()
	for _, id := range got {
		sem <- struct{}{}
		wg.Add(1)
		go func(id string) {
			defer func() {
				if r := recover(); r != nil {
					w.cfg.Logger.Error("delivery: attempt panicked", "message_id", id, "panic", r)
				}
				<-sem
				wg.Done()
				// Enough slots are free: look for more due work now rather than at the next
				// poll, claiming in batches rather than one message per round trip.
				if cap(sem)-len(sem) >= max(1, cap(sem)/4) {
					w.Wake()
				}
			}()
			v, err := w.attempt(work, id)
			switch {
			case errors.Is(err, ErrLostRace):
				w.cfg.Logger.Warn("delivery: attempt lost the race", "message_id", id)
			case err != nil:
				w.cfg.Logger.Error("delivery: attempt failed", "message_id", id, "error", err)
			}
			w.finished(id, v)
		}(id)
	}
	return len(got), nil
}

// skipRunning drops duplicates and ids this worker is attempting or has not released yet: Claim
// returns ids the owner already holds, and a second attempt of one of them must not start.
func (w *Worker) skipRunning(ids []string) []string {
	w.doneMu.Lock()
	defer w.doneMu.Unlock()
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if seen[id] || w.inflight[id] {
			continue
		}
		if _, unreleased := w.done[id]; unreleased {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}
