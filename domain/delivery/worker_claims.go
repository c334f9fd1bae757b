package delivery

import (
	"context"
	"time"
)

// finished queues a claim for release: claims are dropped in one statement per poll cycle
// rather than one transaction per message. Until then the claim keeps other workers away from a
// message whose new events the queue read model may not have applied yet.
func (w *Worker) finished(id string, version int64) {
	w.doneMu.Lock()
	delete(w.inflight, id)
	w.done[id] = version
	w.doneMu.Unlock()
}

// renewClaims keeps the claims of running attempts alive until ctx ends. A worker that dies
// stops renewing, so its claims lapse after ClaimTTL and another worker takes the messages.
func (w *Worker) renewClaims(ctx context.Context) {
	t := time.NewTicker(w.cfg.ClaimTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.doneMu.Lock()
		ids := make([]string, 0, len(w.inflight))
		for id := range w.inflight {
			ids = append(ids, id)
		}
		w.doneMu.Unlock()
		if err := w.cfg.Queue.Extend(ctx, ids, w.cfg.Owner, w.cfg.Recorder.Now(), w.cfg.ClaimTTL); err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("delivery: renew claims", "count", len(ids), "error", err)
		}
	}
}

// releaseFinished releases every finished attempt's claim in one Release, each settled with
// the stream version its attempt recorded, so the queue does not list the message again before
// it has applied that version (or before ClaimTTL passed).
func (w *Worker) releaseFinished(ctx context.Context) {
	w.doneMu.Lock()
	ids := w.done
	if len(ids) > 0 {
		w.done = map[string]int64{}
	}
	w.doneMu.Unlock()
	if len(ids) == 0 {
		return
	}
	now := w.cfg.Recorder.Now()
	if err := w.cfg.Queue.Release(ctx, ids, w.cfg.Owner, now, now.Add(w.cfg.ClaimTTL)); err != nil {
		// The claims expire on their own after ClaimTTL.
		w.cfg.Logger.Warn("delivery: release claims", "count", len(ids), "error", err)
	}
}
