package inbound

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/bounce"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/events"
)

// Ways a report was linked, recorded in Summary.LinkedBy.
const (
	LinkedByVERP         = "verp"          // the envelope recipient was a message's VERP return path
	LinkedByReturnedVERP = "returned_verp" // a VERP return path found in the returned headers
	LinkedByMessageID    = "message_id"    // the returned Message-ID header
)

// maxCandidates bounds the messages one report may touch (a Message-ID is shared by the
// recipients of one submission; a forged report must not fan out without limit).
const maxCandidates = 1000

var addrInText = regexp.MustCompile(`[A-Za-z0-9._%+=\-]+@[A-Za-z0-9.\-]+`)

// candidates finds the messages a report is about, trying the ways in order and stopping at
// the first that finds any: the VERP envelope recipients, VERP addresses in the returned
// headers (Return-Path and any other field), the returned Message-ID.
func (in *Intake) candidates(ctx context.Context, rcpts []string, rep bounce.Report) ([]*message.Message, string, error) {
	if ms, err := in.byVERP(ctx, rcpts); err != nil || len(ms) > 0 {
		return ms, LinkedByVERP, err
	}
	var found []string
	keys := make([]string, 0, len(rep.OriginalHeaders))
	for k := range rep.OriginalHeaders {
		keys = append(keys, k)
	}
	sort.Strings(keys) // return-path sorts before most; deterministic either way
	for _, k := range keys {
		found = append(found, addrInText.FindAllString(rep.OriginalHeaders[k], -1)...)
	}
	if ms, err := in.byVERP(ctx, found); err != nil || len(ms) > 0 {
		return ms, LinkedByReturnedVERP, err
	}
	if rep.OriginalMessageID != "" {
		ms, err := in.byMessageID(ctx, rep.OriginalMessageID)
		if err != nil || len(ms) > 0 {
			return ms, LinkedByMessageID, err
		}
	}
	return nil, "", nil
}

// byVERP loads the messages named by the VERP addresses among addrs (unknown ids are skipped).
func (in *Intake) byVERP(ctx context.Context, addrs []string) ([]*message.Message, error) {
	seen := map[string]bool{}
	var out []*message.Message
	for _, a := range addrs {
		id, err := delivery.DecodeReturnPath(a, in.cfg.ReturnPathDomain)
		if err != nil || seen[id] {
			continue
		}
		seen[id] = true
		m, err := in.load(ctx, id)
		if err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

func (in *Intake) load(ctx context.Context, id string) (*message.Message, error) {
	recs, err := in.cfg.Events.ReadStream(ctx, events.StreamMessage, id, 1)
	if err != nil {
		return nil, fmt.Errorf("read message %s: %w", id, err)
	}
	m, err := message.Load(recs)
	if errors.Is(err, message.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load message %s: %w", id, err)
	}
	return m, nil
}

// byMessageID finds the messages queued within the lookup window whose Message-ID header is
// msgID, reading message.queued events from the event log (no read model involved, so it works
// whether or not projections run). It scans the window: it is the fallback for reports whose
// envelope was lost, not the common path.
func (in *Intake) byMessageID(ctx context.Context, msgID string) ([]*message.Message, error) {
	want := normMsgID(msgID)
	if want == "" {
		return nil, nil
	}
	since := in.cfg.Recorder.Now().Add(-in.cfg.LookupWindow)
	var out []*message.Message
	var after int64
	for {
		recs, err := in.cfg.Events.Query(ctx, domain.EventFilter{StreamType: events.StreamMessage,
			Types: []string{events.MessageQueued{}.EventType()}, Since: since, After: after, Limit: 5000})
		if err != nil {
			return nil, fmt.Errorf("find message-id %s: %w", msgID, err)
		}
		for _, r := range recs {
			if r.Position > after {
				after = r.Position
			}
			ev, err := events.Decode(r.Envelope)
			if err != nil {
				continue
			}
			q, ok := ev.(*events.MessageQueued)
			if !ok || normMsgID(q.MessageID) != want {
				continue
			}
			m, err := in.load(ctx, r.Envelope.StreamID)
			if err != nil {
				return nil, err
			}
			if m != nil {
				out = append(out, m)
			}
			if len(out) >= maxCandidates {
				return out, nil
			}
		}
		// Records without a position yet come last and cannot be paged past: stop then.
		if len(recs) < 5000 || recs[len(recs)-1].Position == 0 {
			return out, nil
		}
	}
}

func normMsgID(s string) string {
	return strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "<>"))
}

type pair struct {
	rcpt bounce.Recipient
	msg  *message.Message // nil: unlinked
}

// assign links each reported recipient to at most one message and each message to at most one
// recipient: first by address (the final or the original recipient equals the message's
// recipient); then, when exactly one candidate message is left unmatched, the first failed
// recipient left unmatched goes to it (forwarding and aliases change the reported address,
// and a VERP return path names one message anyway). A report with no recipient but one
// message links that message with an empty recipient.
func assign(msgs []*message.Message, rcpts []bounce.Recipient) []pair {
	if len(rcpts) == 0 && len(msgs) == 1 {
		return []pair{{msg: msgs[0]}}
	}
	out := make([]pair, len(rcpts))
	used := map[string]bool{}
	for i, rc := range rcpts {
		out[i].rcpt = rc
		for _, m := range msgs {
			if used[m.ID] {
				continue
			}
			to := m.Queued.RcptTo
			if to != "" && (strings.EqualFold(strings.TrimSpace(rc.Address), to) || strings.EqualFold(strings.TrimSpace(rc.Original), to)) {
				out[i].msg = m
				used[m.ID] = true
				break
			}
		}
	}
	var left []*message.Message
	for _, m := range msgs {
		if !used[m.ID] {
			left = append(left, m)
		}
	}
	if len(left) != 1 {
		return out
	}
	best := -1
	for i := range out {
		if out[i].msg != nil {
			continue
		}
		if best < 0 || (!notFailure(out[i].rcpt) && notFailure(out[best].rcpt)) {
			best = i
		}
	}
	if best >= 0 {
		out[best].msg = left[0]
	}
	return out
}
