package delivery

import (
	"errors"
	"fmt"
	"time"

	"github.com/posthaste/posthaste/events"
)

// Outcome is what one attempt means for the message.
type Outcome string

const (
	Delivered Outcome = "delivered" // 2xx to the end of DATA
	Deferred  Outcome = "deferred"  // 4xx, or no reply at all (network, DNS failure): try later
	Bounced   Outcome = "bounced"   // 5xx, or a local permanent failure (null MX, no such domain)
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
	TLSError     string
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
	// Retryable forces a deferral whatever the reply code: the failure is on our side (a
	// smart host refused our AUTH, AUTH would have gone in clear), not the recipient's.
	Retryable bool
}

// Outcome classifies the attempt by its reply code: 2xx delivered, 5xx bounced, anything else
// (4xx, no reply, a network error, a Retryable failure) deferred.
func (r AttemptResult) Outcome() Outcome {
	switch {
	case r.Retryable:
		return Deferred
	case r.ReplyCode >= 200 && r.ReplyCode < 300 && r.Err == nil:
		return Delivered
	case r.ReplyCode >= 500 && r.ReplyCode < 600:
		return Bounced
	}
	return Deferred
}

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

// Classification is a verdict of the reply classifier (see ReplyClassifier).
type Classification struct {
	Reason    string // sisimai reason name: userunknown, mailboxfull, networkerror, ...
	Class     string // hard, soft (none for non-failures)
	Status    string // enhanced status code, e.g. 5.1.1
	Permanent bool
}

// ReplyClassifier turns one SMTP reply into a sisimai reason and a class. It is implemented by
// domain/bounce (bounce.ClassifyReply), so that synchronous replies and asynchronous reports
// share one classifier. code is 0 and enhanced "" when unknown. It must not block or fail.
type ReplyClassifier interface {
	ClassifyReply(code int, enhanced, text string) Classification
}

// ClassifierFunc adapts a function to ReplyClassifier.
type ClassifierFunc func(code int, enhanced, text string) Classification

// ClassifyReply calls f.
func (f ClassifierFunc) ClassifyReply(code int, enhanced, text string) Classification {
	return f(code, enhanced, text)
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
	Suppress       bool
	Classification Classification
}

// Decider turns attempt results into events with one retry policy and one classifier.
type Decider struct {
	policy     RetryPolicy
	classifier ReplyClassifier
}

// NewDecider refuses an invalid policy or a nil classifier.
func NewDecider(p RetryPolicy, c ReplyClassifier) (*Decider, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("delivery: new decider: nil reply classifier")
	}
	return &Decider{policy: p, classifier: c}, nil
}

// Policy returns the retry policy.
func (d *Decider) Policy() RetryPolicy { return d.policy }

// Decide turns attempt number attempt (1 for the first) that ended at now into events:
//   - 2xx: message.attempted(result delivered), message.delivered;
//   - 5xx (or a local permanent failure): message.attempted(bounced), message.bounced with the
//     classifier's reason and class, Source "smtp"; Suppress when the class is hard;
//   - otherwise, attempt < MaxAttempts: message.attempted(deferred), message.deferred with the
//     next attempt time from the schedule, or from a "try again in N seconds" hint in the reply;
//   - otherwise: message.attempted(deferred), message.expired.
func (d *Decider) Decide(attempt int, now time.Time, r AttemptResult) (Decision, error) {
	if attempt < 1 {
		return Decision{}, fmt.Errorf("delivery: decide: attempt %d < 1", attempt)
	}
	out := r.Outcome()
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
	dec := Decision{Outcome: out, Events: []events.Event{att}}
	switch out {
	case Delivered:
		dec.Events = append(dec.Events, events.MessageDelivered{
			MXHost: r.MXHost, ReplyCode: r.ReplyCode, ReplyText: r.ReplyText, Attempt: attempt,
		})
		return dec, nil
	case Bounced:
		c := d.classifier.ClassifyReply(r.ReplyCode, r.EnhancedCode, r.ReplyText)
		dec.Classification = c
		status := c.Status
		if status == "" {
			status = r.EnhancedCode
		}
		if status == "" {
			status = fmt.Sprintf("%d.0.0", r.ReplyCode/100)
		}
		class := c.Class
		if class != "hard" {
			class = "soft"
		}
		reason := c.Reason
		if reason == "" {
			reason = "undefined"
		}
		dec.Suppress = class == "hard"
		dec.Events = append(dec.Events, events.MessageBounced{
			Reason: reason, Class: class, Status: status, Diagnostic: r.Diagnostic(),
			RemoteMTA: r.MXHost, Source: "smtp",
		})
		return dec, nil
	}
	var c Classification
	if r.ReplyCode == 0 {
		c = Classification{Reason: "networkerror", Class: "soft"}
	} else {
		c = d.classifier.ClassifyReply(r.ReplyCode, r.EnhancedCode, r.ReplyText)
	}
	dec.Classification = c
	var hint time.Duration
	if r.ReplyCode >= 400 && r.ReplyCode < 500 {
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
	reason := c.Reason
	if reason == "" {
		reason = "undefined"
	}
	dec.Events = append(dec.Events, events.MessageDeferred{
		Attempt: attempt, NextAttemptAt: dec.NextAttemptAt, Reason: reason,
		ReplyCode: r.ReplyCode, Diagnostic: r.Diagnostic(),
	})
	return dec, nil
}
