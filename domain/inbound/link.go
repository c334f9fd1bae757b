package inbound

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/posthaste/posthaste/domain/bounce"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/events"
)

// Ways a report was linked, recorded in Summary.LinkedBy.
const (
	LinkedByVERP         = "verp"          // the envelope recipient was a message's VERP return path
	LinkedByRef          = "ref"           // a valid X-Posthaste-Ref field in the returned headers
	LinkedByReturnedVERP = "returned_verp" // a VERP return path found in the returned headers
	LinkedByMessageID    = "message_id"    // the returned Message-ID and a reported recipient together
)

// maxCandidates bounds the messages one report may touch (a Message-ID is shared by the
// recipients of one submission; a forged report must not fan out without limit).
const maxCandidates = 1000

// maxReportedNames bounds the addresses of one report looked up by Message-ID.
const maxReportedNames = 100

var addrInText = regexp.MustCompile(`[A-Za-z0-9._%+=\-]+@[A-Za-z0-9.\-]+`)

// links is what candidates found: the messages, how, and whether only an address match may
// link a recipient to one of them (strict: the reference alone proves nothing).
type links struct {
	msgs   []*message.Message
	by     string
	strict bool
	// refused explains a Message-ID match that was not applied (no reported recipient is a
	// recipient of the messages carrying it); recorded in the summary for the operator.
	refused string
}

// candidates finds the messages a report is about, trying the ways in order and stopping at
// the first that finds any:
//
//  1. the VERP envelope recipients (the report came back to the return path of one message);
//  2. a valid X-Posthaste-Ref field in the returned headers (an HMAC under the server secret:
//     it cannot be made without the secret, so it is as good as the envelope);
//  3. VERP addresses in the returned headers (Return-Path and any other field);
//  4. the returned Message-ID, looked up in the message view, but only together with a
//     reported recipient: a message links only when its recipient is the reported final or
//     original recipient. Anyone who saw a Message-ID (every recipient of the submission, any
//     list archive) could otherwise bounce and suppress the other recipients; a Message-ID
//     match with no recipient match is left unlinked and the summary says why.
func (in *Intake) candidates(ctx context.Context, rcpts []string, rep bounce.Report) (links, error) {
	if ms, err := in.byVERP(ctx, rcpts); err != nil || len(ms) > 0 {
		return links{msgs: ms, by: LinkedByVERP}, err
	}
	if ms, err := in.byRef(ctx, rep.OriginalHeaders); err != nil || len(ms) > 0 {
		return links{msgs: ms, by: LinkedByRef}, err
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
		return links{msgs: ms, by: LinkedByReturnedVERP}, err
	}
	if rep.OriginalMessageID != "" && in.cfg.Messages != nil {
		return in.byMessageID(ctx, rep.OriginalMessageID, rep.Recipients)
	}
	return links{}, nil
}

// byRef loads the message named by a valid RefHeader among the returned headers.
func (in *Intake) byRef(ctx context.Context, hdr map[string]string) ([]*message.Message, error) {
	v, ok := hdr[strings.ToLower(RefHeader)]
	if !ok || len(in.cfg.RefKey) == 0 {
		return nil, nil
	}
	id, ok := VerifyRef(in.cfg.RefKey, v)
	if !ok {
		in.log.Warn("inbound: returned reference header with a wrong tag ignored", "value", trimForLog(v))
		return nil, nil
	}
	m, err := in.load(ctx, id)
	if err != nil || m == nil {
		return nil, err
	}
	return []*message.Message{m}, nil
}

func trimForLog(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
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

// byMessageID finds, through the message view (MessageIndex), the messages queued within the
// lookup window whose Message-ID header is msgID and whose recipient is one of the reported
// recipients (final or original address). Only those are loaded from the log, whose
// recipient is checked again (the log is the truth, the view a lagging copy). When none
// matches but the Message-ID is ours, the refusal is recorded for the operator.
func (in *Intake) byMessageID(ctx context.Context, msgID string, rcpts []bounce.Recipient) (links, error) {
	if normMsgID(msgID) == "" {
		return links{}, nil
	}
	reported := map[string]bool{}
	var names []string
	for _, rc := range rcpts {
		for _, a := range []string{rc.Address, rc.Original} {
			if a = normAddr(a); a != "" && !reported[a] {
				reported[a] = true
				names = append(names, a)
			}
		}
	}
	since := in.cfg.Recorder.Now().Add(-in.cfg.LookupWindow)
	var found []IndexedMessage
	if len(names) > 0 {
		if len(names) > maxReportedNames {
			names = names[:maxReportedNames]
		}
		var err error
		if found, err = in.cfg.Messages.ByMessageID(ctx, msgID, names, since, maxCandidates); err != nil {
			return links{}, fmt.Errorf("find message-id %s: %w", msgID, err)
		}
	}
	var out []*message.Message
	for _, f := range found {
		if !reported[normAddr(f.RcptTo)] {
			continue
		}
		m, err := in.load(ctx, f.ID)
		if err != nil {
			return links{}, err
		}
		if m != nil && reported[normAddr(m.Queued.RcptTo)] {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		// Is it one of our Message-IDs at all? Then the report is refused, not just unknown.
		known, err := in.cfg.Messages.ByMessageID(ctx, msgID, nil, since, 1)
		if err != nil {
			return links{}, fmt.Errorf("find message-id %s: %w", msgID, err)
		}
		if len(known) == 0 {
			return links{}, nil
		}
		return links{refused: fmt.Sprintf("the returned Message-ID %s is one of ours, but no message carrying it is addressed to a recipient this report names: "+
			"not applied (a Message-ID alone does not prove the report is about our message)", trimForLog(msgID))}, nil
	}
	return links{msgs: out, by: LinkedByMessageID, strict: true}, nil
}

func normMsgID(s string) string {
	return strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "<>"))
}

// normAddr folds an address for comparison: white space and angle brackets trimmed, lower case.
func normAddr(s string) string {
	return strings.ToLower(strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "<>")))
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
//
// In strict mode (a link by Message-ID) only the address match counts: the fallbacks that
// trust the reference to name the message are not taken.
func assign(msgs []*message.Message, rcpts []bounce.Recipient, strict bool) []pair {
	if len(rcpts) == 0 && len(msgs) == 1 && !strict {
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
			if to != "" && (normAddr(rc.Address) == normAddr(to) || normAddr(rc.Original) == normAddr(to)) {
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
	if len(left) != 1 || strict {
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
