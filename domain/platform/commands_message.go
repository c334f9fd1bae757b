package platform

import (
	"context"
	"errors"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/message"
)

// Holds: release, cancel, and both in bulk.

// ReleaseHold lets a held message of a server the caller may touch go to delivery, and offers it
// to the local workers. A message that is not held is message.ErrNotHeld. It returns the message
// as it stands after the release.
func (x *Commands) ReleaseHold(ctx context.Context, caller Caller, id string) (*message.Message, error) {
	m, err := x.hold(ctx, caller, id, x.c.messages.Release)
	if err == nil {
		x.c.hub.notifyAccepted([]string{m.ID})
	}
	return m, err
}

// CancelHold drops a held message without delivering it (message.hold_cancelled, reason
// operator). It returns the message after the command.
func (x *Commands) CancelHold(ctx context.Context, caller Caller, id string) (*message.Message, error) {
	return x.hold(ctx, caller, id, x.c.messages.CancelHold)
}

func (x *Commands) hold(ctx context.Context, caller Caller, id string, run func(context.Context, string, domain.Cause) error) (*message.Message, error) {
	if _, err := x.c.message(ctx, caller, id); err != nil {
		return nil, err
	}
	if err := run(ctx, id, caller.Cause()); err != nil {
		return nil, err
	}
	return x.c.messages.Get(ctx, id)
}

// Bulk hold actions.
const (
	BulkRelease    = "release"
	BulkCancelHold = "cancel-hold"
	// MaxBulk bounds one bulk action.
	MaxBulk = 10000
)

// BulkHold applies a hold action to the held messages of one server that match a search.
type BulkHold struct {
	Server string // ORG/NAME or the server id
	Action string // BulkRelease or BulkCancelHold
	Query  string // the operators' search syntax; status:held is implied (status terms are replaced)
	Limit  int    // at most this many messages; 0 = MaxBulk
}

// BulkResult counts what a bulk action did: applied, skipped (no longer held: the view lagged)
// and failed (logged).
type BulkResult struct {
	Action  string
	Applied int
	Skipped int
	Failed  int
}

// BulkHold runs the action on every held message of the server matching the query, read page by
// page from the message view, each command checked on the message's own stream. A failed search
// after some messages returns the counts so far with the error.
func (x *Commands) BulkHold(ctx context.Context, caller Caller, b BulkHold) (BulkResult, error) {
	res := BulkResult{Action: b.Action}
	var run func(context.Context, string, domain.Cause) error
	switch b.Action {
	case BulkRelease:
		run = x.c.messages.Release
	case BulkCancelHold:
		run = x.c.messages.CancelHold
	default:
		return res, invalidf("action %q (want release or cancel-hold)", b.Action)
	}
	if b.Limit == 0 {
		b.Limit = MaxBulk
	}
	if b.Limit < 0 || b.Limit > MaxBulk {
		return res, invalidf("limit %d (want 1..%d)", b.Limit, MaxBulk)
	}
	if x.c.d.Messages == nil {
		return res, notConfigured("bulk hold action", "message view")
	}
	ref, err := serverRef(b.Server)
	if err != nil {
		return res, err
	}
	if err := x.c.authorize(ctx, caller, ref); err != nil {
		return res, err
	}
	var released []string
	cursor := ""
	for res.Applied+res.Skipped+res.Failed < b.Limit {
		page, err := x.c.d.Messages.ListMessages(ctx, MessageQuery{ServerID: ref.ID(), Query: b.Query, Status: []string{string(message.StatusHeld)},
			Limit: min(500, b.Limit-res.Applied-res.Skipped-res.Failed), Cursor: cursor, Oldest: true})
		if err != nil {
			x.c.hub.notifyAccepted(released)
			return res, err
		}
		for _, m := range page.Messages {
			err := run(ctx, m.ID, caller.Cause())
			switch {
			case err == nil:
				res.Applied++
				if b.Action == BulkRelease {
					released = append(released, m.ID)
				}
			case errors.Is(err, message.ErrNotHeld):
				res.Skipped++
			default:
				x.c.d.Logger.Warn("bulk hold action", "action", b.Action, "message", m.ID, "err", err)
				res.Failed++
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	x.c.hub.notifyAccepted(released)
	return res, nil
}
