package inbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/bounce"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/events"
)

// Suppressor records that a server must not mail an address (implemented by
// *suppression.Handler).
type Suppressor interface {
	Suppress(ctx context.Context, serverID, address, reason, causedBy string, c domain.Cause) error
}

// Policies tells whether a server suppresses recipients on a hard bounce and on a complaint
// (tenancy.Server SuppressOnHard / SuppressOnSpam).
type Policies interface {
	SuppressionPolicy(ctx context.Context, serverID string) (onHard, onComplaint bool, err error)
}

// Suppression reasons recorded by the intake (the same words as domain/suppression's).
const (
	suppressHardBounce = "hard_bounce"
	suppressComplaint  = "complaint"
)

// Config wires an Intake.
type Config struct {
	Store      Store             // required
	Events     domain.EventStore // required
	Suppressor Suppressor        // required
	// Policies gives each server's suppression settings; nil suppresses on both (the default
	// of every new server).
	Policies Policies
	// ReturnPathDomain is the VERP domain (POSTHASTE_RETURN_PATH_DOMAIN); required.
	ReturnPathDomain string
	Recorder         domain.Recorder
	Rand             io.Reader    // report ids; nil = crypto/rand
	Logger           *slog.Logger // required
	// LookupWindow bounds the Message-ID fallback to messages queued this recently; default 30 days.
	LookupWindow time.Duration
	// Messages finds messages by Message-ID header (the message view read model) for reports
	// whose VERP envelope was lost. Nil disables that fallback: such reports stay unlinked.
	Messages MessageIndex
	// RefKey verifies the X-Posthaste-Ref field of returned headers (Ref); nil ignores it.
	RefKey []byte
}

// Intake runs the intake workflow. It is safe for concurrent use.
type Intake struct {
	cfg Config
	log *slog.Logger
}

// New refuses missing dependencies.
func New(cfg Config) (*Intake, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("report store is nil"))
	}
	if cfg.Events == nil {
		errs = append(errs, errors.New("event store is nil"))
	}
	if cfg.Suppressor == nil {
		errs = append(errs, errors.New("suppressor is nil"))
	}
	if cfg.Logger == nil {
		errs = append(errs, errors.New("logger is nil"))
	}
	if d := strings.TrimSpace(cfg.ReturnPathDomain); d == "" || strings.ContainsAny(d, "@ <>") {
		errs = append(errs, fmt.Errorf("return-path domain %q is empty or invalid", cfg.ReturnPathDomain))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("inbound: new intake: %w", errors.Join(errs...))
	}
	if cfg.LookupWindow <= 0 {
		cfg.LookupWindow = 30 * 24 * time.Hour
	}
	return &Intake{cfg: cfg, log: cfg.Logger.With("component", "inbound")}, nil
}

// AcceptsDomain reports whether mail for domain belongs to the intake (the return-path domain).
func (in *Intake) AcceptsDomain(domain string) bool {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(domain)), ".")
	return d == strings.TrimSuffix(strings.ToLower(strings.TrimSpace(in.cfg.ReturnPathDomain)), ".")
}

// Receive stores a message accepted by the listener, status pending, and returns its id. When
// it returns nil the report is durable and the listener may answer 250; on error it must
// answer a temporary failure (the sender retries).
func (in *Intake) Receive(ctx context.Context, env Envelope) (string, error) {
	now := in.cfg.Recorder.Now().UTC()
	r := Report{
		ID: events.NewID(now, in.cfg.Rand), ReceivedAt: now, MailFrom: env.MailFrom,
		RcptTo: append([]string(nil), env.RcptTo...), ClientIP: env.ClientIP, TLS: env.TLS,
		Size: int64(len(env.Raw)), Raw: env.Raw, Status: StatusPending,
	}
	if err := in.cfg.Store.SaveReport(ctx, r); err != nil {
		return "", fmt.Errorf("inbound: receive: %w", err)
	}
	return r.ID, nil
}

// Process reads a stored report, parses and links it, appends the events it calls for and
// records the outcome on the report. A report already processed is left alone (nil). An
// error means the event store or the report store failed: the report stays pending and
// ProcessPending retries it. Malformed input is never an error.
func (in *Intake) Process(ctx context.Context, id string) (Report, error) {
	r, err := in.cfg.Store.Report(ctx, id)
	if err != nil {
		return Report{}, fmt.Errorf("inbound: process %s: %w", id, err)
	}
	if r.Status != StatusPending {
		return r, nil
	}
	sum, status, linked, err := in.analyzeSafely(ctx, r)
	if err != nil {
		return r, fmt.Errorf("inbound: process %s: %w", id, err)
	}
	js, err := json.Marshal(sum)
	if err != nil {
		return r, fmt.Errorf("inbound: process %s: encode summary: %w", id, err)
	}
	at := in.cfg.Recorder.Now().UTC()
	if _, err := in.cfg.Store.FinishReport(ctx, id, status, sum.Kind, linked, string(js), at); err != nil {
		return r, fmt.Errorf("inbound: process %s: %w", id, err)
	}
	r.Status, r.Kind, r.MessageID, r.Summary, r.ProcessedAt = status, sum.Kind, linked, string(js), at
	in.log.Info("inbound report processed", "report_id", id, "status", status, "kind", sum.Kind, "message_id", linked)
	return r, nil
}

// ProcessPending processes reports left pending (a crash or an event store failure between
// Receive and Process) received at least minAge ago. It returns how many it finished.
func (in *Intake) ProcessPending(ctx context.Context, minAge time.Duration) (int, error) {
	ids, err := in.cfg.Store.PendingReports(ctx, in.cfg.Recorder.Now().Add(-minAge), 100)
	if err != nil {
		return 0, fmt.Errorf("inbound: pending: %w", err)
	}
	n := 0
	var errs []error
	for _, id := range ids {
		if _, err := in.Process(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// analyzeSafely turns a panic in the analysis into a malformed report, never a crash.
func (in *Intake) analyzeSafely(ctx context.Context, r Report) (sum Summary, status, linked string, err error) {
	defer func() {
		if p := recover(); p != nil {
			in.log.Error("inbound: report analysis panicked; stored as malformed", "report_id", r.ID, "panic", fmt.Sprint(p))
			sum = Summary{Kind: string(bounce.KindNone), Error: fmt.Sprintf("internal error: %v", p)}
			status, linked, err = StatusMalformed, "", nil
		}
	}()
	return in.analyze(ctx, r)
}

func (in *Intake) analyze(ctx context.Context, r Report) (Summary, string, string, error) {
	rep, perr := bounce.Parse(r.Raw)
	sum := Summary{Kind: string(rep.Kind), FeedbackType: rep.FeedbackType, ReportingMTA: rep.ReportingMTA,
		OriginalMessageID: rep.OriginalMessageID}
	if perr != nil {
		sum.Kind, sum.Error = string(bounce.KindNone), perr.Error()
		return sum, StatusMalformed, "", nil
	}
	if rep.Kind == bounce.KindNone || rep.Kind == "" {
		sum.Kind, sum.Error = string(bounce.KindNone), "not a delivery report, feedback report or automatic reply"
		return sum, StatusMalformed, "", nil
	}
	lk, err := in.candidates(ctx, r.RcptTo, rep)
	if err != nil {
		return sum, "", "", err
	}
	sum.LinkedBy, sum.Refused = lk.by, lk.refused
	pairs := assign(lk.msgs, rep.Recipients, lk.strict)
	c := domain.Cause{Actor: events.Actor{Type: events.ActorSystem, ID: actorID}, CorrelationID: r.ID, CausationID: r.ID}
	linked := ""
	for _, p := range pairs {
		o := outcomeOf(p.rcpt)
		if p.msg == nil {
			o.Outcome = OutcomeUnlinked
			sum.Recipients = append(sum.Recipients, o)
			continue
		}
		o.MessageID = p.msg.ID
		if linked == "" {
			linked = p.msg.ID
		}
		switch rep.Kind {
		case bounce.KindAutoReply:
			o.Outcome = OutcomeAutoReply
		case bounce.KindFeedback:
			if err := in.complain(ctx, r.ID, p.msg.ID, rep, &o, c); err != nil {
				return sum, "", "", err
			}
		default:
			if err := in.bounce(ctx, r.ID, p.msg.ID, p.rcpt, &o, c); err != nil {
				return sum, "", "", err
			}
		}
		sum.Recipients = append(sum.Recipients, o)
	}
	switch {
	case rep.Kind == bounce.KindAutoReply:
		return sum, StatusAutoReply, linked, nil
	case linked != "":
		return sum, StatusLinked, linked, nil
	}
	return sum, StatusUnlinked, "", nil
}

func outcomeOf(rc bounce.Recipient) RecipientOutcome {
	return RecipientOutcome{Address: rc.Address, Action: rc.Action, Status: rc.Status, Reason: string(rc.Reason),
		Class: string(rc.Class), Diagnostic: rc.Diagnostic, RemoteMTA: rc.RemoteMTA}
}

// notFailure reports whether a DSN recipient says something other than a permanent failure:
// delivered, relayed, expanded (success notices) or delayed (a warning; retries continue).
func notFailure(rc bounce.Recipient) bool {
	switch strings.ToLower(strings.TrimSpace(rc.Action)) {
	case "delivered", "relayed", "expanded", "delayed":
		return true
	}
	return rc.Class != bounce.Hard && rc.Class != bounce.Soft
}

// bounce appends message.bounced for a failed recipient unless the message is already bounced.
func (in *Intake) bounce(ctx context.Context, reportID, msgID string, rc bounce.Recipient, o *RecipientOutcome, c domain.Cause) error {
	if notFailure(rc) {
		o.Outcome = OutcomeRecorded
		return nil
	}
	ev := events.MessageBounced{Reason: string(rc.Reason), Class: string(rc.Class), Status: rc.Status,
		Diagnostic: rc.Diagnostic, RemoteMTA: rc.RemoteMTA, Source: "dsn", ReportID: reportID}
	if ev.Reason == "" {
		ev.Reason = string(bounce.Undefined)
	}
	m, env, err := in.appendOnce(ctx, msgID, c, events.MessageBounced{}.EventType(), func(m *message.Message) events.Event {
		if m.Status == message.StatusBounced {
			return nil
		}
		return ev
	})
	if err != nil {
		return err
	}
	if env == nil {
		o.Outcome = OutcomeAlreadyBounced
		return nil
	}
	o.Outcome = OutcomeBounced
	if rc.Class != bounce.Hard {
		return nil
	}
	onHard, _, err := in.policy(ctx, m.ServerID)
	if err != nil {
		return err
	}
	if onHard {
		if err := in.cfg.Suppressor.Suppress(ctx, m.ServerID, m.Queued.RcptTo, suppressHardBounce, env.ID, c); err != nil {
			return fmt.Errorf("suppress %s: %w", m.Queued.RcptTo, err)
		}
		o.Suppressed = true
	}
	return nil
}

// complain appends message.complained once per report and message.
func (in *Intake) complain(ctx context.Context, reportID, msgID string, rep bounce.Report, o *RecipientOutcome, c domain.Cause) error {
	ft := rep.FeedbackType
	if ft == "" {
		ft = "abuse"
	}
	m, env, err := in.appendOnce(ctx, msgID, c, events.MessageComplained{}.EventType(), func(*message.Message) events.Event {
		return events.MessageComplained{FeedbackType: ft, UserAgent: rep.ReportingMTA, ReportID: reportID}
	})
	if err != nil {
		return err
	}
	if env == nil {
		o.Outcome = OutcomeAlreadyComplained
		return nil
	}
	o.Outcome = OutcomeComplained
	if ft == "not-spam" {
		return nil
	}
	_, onSpam, err := in.policy(ctx, m.ServerID)
	if err != nil {
		return err
	}
	if onSpam {
		if err := in.cfg.Suppressor.Suppress(ctx, m.ServerID, m.Queued.RcptTo, suppressComplaint, env.ID, c); err != nil {
			return fmt.Errorf("suppress %s: %w", m.Queued.RcptTo, err)
		}
		o.Suppressed = true
	}
	return nil
}

func (in *Intake) policy(ctx context.Context, serverID string) (bool, bool, error) {
	if in.cfg.Policies == nil {
		return true, true, nil
	}
	h, s, err := in.cfg.Policies.SuppressionPolicy(ctx, serverID)
	if err != nil {
		return false, false, fmt.Errorf("suppression policy of %s: %w", serverID, err)
	}
	return h, s, nil
}

const maxConflictRetries = 5

// actorID is the id of the system actor of every event the intake appends (system:inbound).
const actorID = "inbound"

// appendOnce appends, as the message's next version, the event decide returns, retrying on a
// concurrent writer. When this report (c.CorrelationID) already appended an event of type typ
// to the stream (an earlier run that failed before recording its outcome), nothing is appended
// and that earlier envelope is returned, so the follow-up (suppression) runs again and the
// outcome is the same. It returns the message and the report's envelope (nil when decide
// returned nil: nothing to do).
func (in *Intake) appendOnce(ctx context.Context, msgID string, c domain.Cause, typ string, decide func(m *message.Message) events.Event) (*message.Message, *events.Envelope, error) {
	for try := 0; ; try++ {
		recs, err := in.cfg.Events.ReadStream(ctx, events.StreamMessage, msgID, 1)
		if err != nil {
			return nil, nil, fmt.Errorf("read message %s: %w", msgID, err)
		}
		m, err := message.Load(recs)
		if err != nil {
			return nil, nil, fmt.Errorf("load message %s: %w", msgID, err)
		}
		if prior := producedBy(recs, c.CorrelationID, typ); prior != nil {
			return m, prior, nil
		}
		ev := decide(m)
		if ev == nil {
			return m, nil, nil
		}
		envs, err := in.cfg.Recorder.Envelopes(events.StreamMessage, msgID, m.ServerID, m.Version, c, ev)
		if err != nil {
			return nil, nil, err
		}
		err = in.cfg.Events.Append(ctx, envs...)
		if err == nil {
			return m, &envs[0], nil
		}
		if !domain.IsConflict(err) || try >= maxConflictRetries {
			return nil, nil, fmt.Errorf("append to message %s: %w", msgID, err)
		}
	}
}

// producedBy returns the event of type typ that report reportID already appended to the
// stream, or nil.
func producedBy(recs []events.Record, reportID, typ string) *events.Envelope {
	for i := range recs {
		e := &recs[i].Envelope
		if e.Type == typ && e.CorrelationID == reportID && e.Actor.Type == events.ActorSystem && e.Actor.ID == actorID {
			return e
		}
	}
	return nil
}
