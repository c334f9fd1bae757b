package delivery

import (
	"fmt"
	"time"

	"github.com/posthaste/posthaste/domain/bounce"
	"github.com/posthaste/posthaste/events"
)

// Outcome is what one attempt means for the message: the outcome of bounce.ClassifyReply.
type Outcome = bounce.Outcome

const (
	Delivered = bounce.OutcomeDelivered // 2xx to the end of DATA
	Deferred  = bounce.OutcomeDeferred  // 4xx, or no reply at all (network, DNS failure): try later
	Bounced   = bounce.OutcomeBounced   // 5xx, or a local permanent failure (null MX, no such domain)
)

// Synthetic replies for failures decided before any remote server answered. They are carried
// in the attempt like a remote reply so that one classifier sees every failure.
const (
	// NullMXCode / NullMXStatus: the domain publishes a null MX (RFC 7505 "0 ."): it accepts
	// no mail. RFC 7505 section 4.2 gives 556 / 5.1.10.
	NullMXCode   = 556
	NullMXStatus = "5.1.10"
	// NoDomainCode / NoDomainStatus: the recipient domain does not exist (NXDOMAIN).
	NoDomainCode   = 550
	NoDomainStatus = "5.1.2"
)

// AttemptResult is everything one delivery attempt to one recipient produced. The SMTP
// client (adapters/smtpout) fills it; Decide turns it into events.
type AttemptResult struct {
	MXHost     string // the MX or smart host name tried last ("" when none was reached)
	IP         string // its address
	TLSVersion string // "TLS 1.3", "" in clear
	TLSCipher  string
	// TLSError is set when a STARTTLS handshake failed and the attempt went on in clear.
	TLSError string
	// Stage is the step of the SMTP dialogue the attempt ended at (bounce.StageRcpt ...), or
	// bounce.StageResolve when it ended before any connection.
	Stage        bounce.Stage
	ReplyCode    int    // the reply that ended the attempt; 0 when no server replied
	EnhancedCode string // "5.1.1", "" when none
	ReplyText    string
	Duration     time.Duration
	// Transcript is the SMTP dialogue ("C: ..." / "S: ..." lines), AUTH redacted, message
	// content omitted. TranscriptID is the id it was stored under, set by whoever stores it.
	Transcript   string
	TranscriptID string
	// Local is true when the reply was made up locally (DNS failure, null MX, connection
	// refused) rather than sent by a remote server.
	Local bool
	// Err is the network or local error behind a result without a remote reply, or nil.
	Err error
}

// Reply is the attempt's reply as the classifier takes it. A result without a reply code has
// no reply; nor has a 2xx that came with an error (the connection failed around it): neither
// counts as delivered.
func (r AttemptResult) Reply() bounce.Reply {
	return bounce.Reply{
		Stage: r.Stage, Code: r.ReplyCode, Enhanced: r.EnhancedCode, Text: r.ReplyText,
		NoReply: r.ReplyCode == 0 || r.Err != nil && r.ReplyCode >= 200 && r.ReplyCode < 300,
	}
}

// Outcome is the attempt's outcome by the one classifier (bounce.ClassifyReply): 2xx
// delivered; 5xx bounced, except a 552 to RCPT (temporary, RFC 5321 section 4.5.3.1.10);
// anything else (4xx, no reply, a network error, a failure of our AUTH to a smart host)
// deferred.
func (r AttemptResult) Outcome() Outcome { return bounce.ClassifyReply(r.Reply()).Outcome }

// Diagnostic is the reply as one line: "451 4.7.1 greylisted", or the error text.
func (r AttemptResult) Diagnostic() string {
	if r.ReplyCode == 0 {
		if r.Err != nil {
			return r.Err.Error()
		}
		return r.ReplyText
	}
	s := fmt.Sprint(r.ReplyCode)
	if r.EnhancedCode != "" {
		s += " " + r.EnhancedCode
	}
	if r.ReplyText != "" {
		s += " " + r.ReplyText
	}
	return s
}

// Decision is what an attempt means: the events to append to the message stream, in order
// (message.attempted first), and the facts a worker needs without decoding them.
type Decision struct {
	Outcome Outcome
	Events  []events.Event
	// Expired is true when a temporary failure ended the last allowed attempt.
	Expired bool
	// NextAttemptAt is when the next attempt is due (deferred and not expired), else zero.
	NextAttemptAt time.Time
	// Suppress is true when the recipient should be suppressed: a hard bounce.
	Suppress bool
	// Verdict is the classifier's verdict on the attempt's reply.
	Verdict bounce.Verdict
}

// Decider turns attempt results into events with one retry policy and the one reply
// classifier (bounce.ClassifyReply).
type Decider struct {
	policy RetryPolicy
}

// NewDecider refuses an invalid policy.
func NewDecider(p RetryPolicy) (*Decider, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Decider{policy: p}, nil
}

// Policy returns the retry policy.
func (d *Decider) Policy() RetryPolicy { return d.policy }

// Decide turns attempt number attempt (1 for the first) that ended at now into events, by the
// verdict of bounce.ClassifyReply on the attempt's reply:
//   - delivered: message.attempted(result delivered), message.delivered;
//   - bounced: message.attempted(bounced), message.bounced with the verdict's reason, class and
//     status, Source "smtp"; Suppress when the class is hard;
//   - deferred, attempt < MaxAttempts: message.attempted(deferred), message.deferred with the
//     next attempt time from the schedule, or from a "try again in N seconds" hint in a 4xx
//     reply;
//   - deferred on the last attempt: message.attempted(deferred), message.expired.
func (d *Decider) Decide(attempt int, now time.Time, r AttemptResult) (Decision, error) {
	if attempt < 1 {
		return Decision{}, fmt.Errorf("delivery: decide: attempt %d < 1", attempt)
	}
	v := bounce.ClassifyReply(r.Reply())
	out := v.Outcome
	att := events.MessageAttempted{
		Attempt:      attempt,
		MXHost:       r.MXHost,
		IP:           r.IP,
		TLSVersion:   r.TLSVersion,
		TLSCipher:    r.TLSCipher,
		ReplyCode:    r.ReplyCode,
		EnhancedCode: r.EnhancedCode,
		ReplyText:    r.ReplyText,
		DurationMS:   r.Duration.Milliseconds(),
		TranscriptID: r.TranscriptID,
		Result:       string(out),
	}
	if att.ReplyCode == 0 && att.ReplyText == "" && r.Err != nil {
		att.ReplyText = r.Err.Error()
	}
	dec := Decision{Outcome: out, Events: []events.Event{att}, Verdict: v}
	switch out {
	case Delivered:
		dec.Events = append(dec.Events, events.MessageDelivered{
			MXHost: r.MXHost, ReplyCode: r.ReplyCode, ReplyText: r.ReplyText, Attempt: attempt,
		})
		return dec, nil
	case Bounced:
		dec.Suppress = v.Class == bounce.Hard
		dec.Events = append(dec.Events, events.MessageBounced{
			Reason: string(v.Reason), Class: string(v.Class), Status: v.Status, Diagnostic: r.Diagnostic(),
			RemoteMTA: r.MXHost, Source: "smtp",
		})
		return dec, nil
	}
	var hint time.Duration
	if v.Code >= 400 && v.Code < 500 {
		hint, _ = ParseRetryHint(r.ReplyText)
	}
	next, expired := d.policy.NextAttempt(now, attempt, hint)
	if expired {
		dec.Expired = true
		dec.Events = append(dec.Events, events.MessageExpired{
			Attempts: attempt, LastReplyCode: r.ReplyCode, LastReply: r.Diagnostic(),
		})
		return dec, nil
	}
	dec.NextAttemptAt = next.UTC()
	dec.Events = append(dec.Events, events.MessageDeferred{
		Attempt: attempt, NextAttemptAt: dec.NextAttemptAt, Reason: string(v.Reason),
		ReplyCode: r.ReplyCode, Diagnostic: r.Diagnostic(),
	})
	return dec, nil
}
