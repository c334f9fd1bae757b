package message

import (
	"context"
	"log/slog"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// ExpiredHolds lists held messages whose hold has expired (the delivery queue read model).
type ExpiredHolds interface {
	ExpiredHolds(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// RunHoldExpiry cancels expired holds (message.hold_cancelled, reason "expired") every interval
// until ctx ends. Several nodes may run it: the stream version check lets one of them win, and
// ExpireHold re-checks the stream, so a lagging read model never cancels a released message.
func RunHoldExpiry(ctx context.Context, src ExpiredHolds, h *Handler, interval time.Duration, log *slog.Logger) {
	cause := domain.Cause{Actor: events.Actor{Type: events.ActorSystem, ID: "hold-expiry"}}
	for {
		ids, err := src.ExpiredHolds(ctx, h.rec.Now(), 500)
		if err != nil && ctx.Err() == nil {
			log.Warn("hold expiry: list", "error", err)
		}
		for _, id := range ids {
			if err := h.ExpireHold(ctx, id, cause); err != nil && ctx.Err() == nil {
				log.Warn("hold expiry: cancel", "message_id", id, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
