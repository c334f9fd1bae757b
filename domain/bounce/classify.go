package bounce

import (
	"regexp"
	"strconv"
	"strings"
)

// Reason is a bounce reason, named as in sisimai's taxonomy (https://libsisimai.org/en/reason/).
type Reason string

// The reason names. Feedback, Vacation and Delivered are not bounces.
const (
	UserUnknown     Reason = "userunknown"
	MailboxFull     Reason = "mailboxfull"
	HostUnknown     Reason = "hostunknown"
	Filtered        Reason = "filtered"
	Blocked         Reason = "blocked"
	Expired         Reason = "expired"
	Rejected        Reason = "rejected"
	PolicyViolation Reason = "policyviolation"
	SpamDetected    Reason = "spamdetected"
	VirusDetected   Reason = "virusdetected"
	MesgTooBig      Reason = "mesgtoobig"
	ExceedLimit     Reason = "exceedlimit"
	TooManyConn     Reason = "toomanyconn"
	Speeding        Reason = "speeding"
	AuthFailure     Reason = "authfailure"
	RequirePTR      Reason = "requireptr"
	SecurityError   Reason = "securityerror"
	NotAccept       Reason = "notaccept"
	NoRelaying      Reason = "norelaying"
	Suspend         Reason = "suspend"
	HasMoved        Reason = "hasmoved"
	SystemError     Reason = "systemerror"
	SystemFull      Reason = "systemfull"
	NetworkError    Reason = "networkerror"
	MailerError     Reason = "mailererror"
	OnHold          Reason = "onhold"
	SyntaxError     Reason = "syntaxerror"
	ContentError    Reason = "contenterror"
	BadReputation   Reason = "badreputation"
	FailedSTARTTLS  Reason = "failedstarttls"
	NotCompliantRFC Reason = "notcompliantrfc"
	Undefined       Reason = "undefined"
	Feedback        Reason = "feedback"
	Vacation        Reason = "vacation"
	Delivered       Reason = "delivered"
)

// Class says how a failure affects the recipient address.
type Class string

const (
	// Hard is a permanent address-level failure (the address does not exist, its domain does
	// not exist, it has moved, or the domain accepts no mail): suppress the recipient.
	Hard Class = "hard"
	// Soft is every other failure: the address may work later or for other mail.
	Soft Class = "soft"
	// None is not a failure: delivered, auto-reply, complaint.
	None Class = "none"
)

// Classification is the verdict on one SMTP reply or one reported recipient.
type Classification struct {
	Reason Reason
	Class  Class
	// Status is the enhanced status code (RFC 3463, "5.1.1"), taken from the reply or report,
	// else derived from the reply code ("5.0.0"); "" when neither is known.
	Status string
	// Permanent is true when the server said 5xx / 5.x.x: the same message to the same
	// recipient will not succeed by retrying. It is independent of Class: a 550 for a blocked
	// IP is permanent for this attempt but a Soft class (the address itself is fine).
	Permanent bool
}

// Stage is the step of an SMTP delivery attempt that a reply answered, or at which the
// attempt failed without one.
type Stage string

const (
	// StageUnknown: the stage is not known (a reply quoted in a report, or given by hand);
	// its wording may still name it ("after RCPT TO").
	StageUnknown Stage = ""
	// StageResolve: before any connection: the recipient address, the MX and address
	// lookups. Its replies are made up locally (a null MX: 556 5.1.10; a domain that does
	// not exist: 550 5.1.2), or there is none (the lookup failed).
	StageResolve Stage = "resolve"
	// StageConnect: the TCP connection (refused, timed out), implicit TLS and the greeting.
	StageConnect Stage = "connect"
	// StageHello: EHLO (or HELO) and STARTTLS.
	StageHello Stage = "ehlo"
	// StageAuth: AUTH to a smart host. Its failures are ours (our credentials, or no TLS to
	// send them over), not the recipient's.
	StageAuth Stage = "auth"
	// StageMail: MAIL FROM (and a refusal made locally before it, such as an address that
	// needs SMTPUTF8 which the server does not offer).
	StageMail Stage = "mail"
	// StageRcpt: RCPT TO.
	StageRcpt Stage = "rcpt"
	// StageData: the DATA command.
	StageData Stage = "data"
	// StageDataEnd: the message content and the reply to its final dot.
	StageDataEnd Stage = "data_end"
)

// Reply is what ended one synchronous SMTP delivery attempt: a reply, with the stage it
// answered, or the lack of one.
type Reply struct {
	Stage Stage
	// Code is the reply code (550); 0 when it is not known, and then one found in Text is used.
	Code int
	// Enhanced is the enhanced status code (RFC 3463, "5.1.1"); "" when none, and then one
	// found in Text is used.
	Enhanced string
	Text     string
	// NoReply is true when no reply came at all: the DNS lookup failed, the connection was
	// refused, timed out or cut. Code, Enhanced and Text are then ignored.
	NoReply bool
}

// Outcome is what a reply means for the attempt it ended.
type Outcome string

const (
	OutcomeDelivered Outcome = "delivered" // accepted by the remote server
	OutcomeDeferred  Outcome = "deferred"  // a temporary failure: try again later
	OutcomeBounced   Outcome = "bounced"   // a permanent failure: do not try again
)

// Verdict is ClassifyReply's answer.
type Verdict struct {
	Outcome Outcome
	// Classification is the reason, the class and the status. A failure's class is hard or
	// soft, its reason never "", and a bounce's status never "".
	Classification
	// Code is the reply code the verdict was made on: the reply's, or the one found in its
	// text, or 452 for a 552 to RCPT; 0 without one.
	Code int
}

// ClassifyReply is the one classifier of a synchronous SMTP reply: it says what the reply (or
// the lack of one) means for the attempt it ended (the outcome), why (the reason), and whether
// the recipient address itself is bad (the class). The delivery decider calls it on every
// attempt; the SES notification parser on each reported SMTP response. Its reason and class
// come from the same rules that Parse applies to each recipient of an asynchronous report, so
// a reason means the same thing whichever way it was learned.
//
// The outcome:
//   - no reply (NoReply): deferred, networkerror;
//   - a failure at StageAuth (our AUTH to a smart host): deferred, whatever the code;
//   - 552 to RCPT: treated as 452, deferred (RFC 5321 section 4.5.3.1.10: RFC 821 listed
//     "too many recipients" as 552; clients treat it as temporary);
//   - otherwise by the reply code: 2xx delivered, 5xx bounced, else deferred; without a code
//     (none given and none in the text), by the status class (2 delivered, 5 bounced).
//
// A failure's class is hard or soft, never none, and its reason is never "". The stage does
// not otherwise change the reason: the client knows which command it sent, and the wording
// rules (a refusal "after end of DATA" is filtered) look at the text only.
func ClassifyReply(r Reply) Verdict {
	if r.NoReply {
		return Verdict{Outcome: OutcomeDeferred, Classification: Classification{Reason: NetworkError, Class: Soft}}
	}
	code, enhanced := r.Code, r.Enhanced
	if enhanced == "" {
		enhanced = findStatus(r.Text)
	}
	enhanced = normStatus(enhanced)
	if code == 0 {
		code = findReplyCode(r.Text)
	}
	if code == 552 && r.Stage == StageRcpt {
		code = 452
		if strings.HasPrefix(enhanced, "5.") {
			enhanced = "4" + enhanced[1:]
		}
	}
	v := Verdict{Code: code}
	switch {
	case r.Stage == StageAuth:
		v.Outcome = OutcomeDeferred
	case code >= 200 && code < 300:
		v.Outcome = OutcomeDelivered
	case code >= 500 && code < 600:
		v.Outcome = OutcomeBounced
	case code == 0 && strings.HasPrefix(enhanced, "2."):
		v.Outcome = OutcomeDelivered
	case code == 0 && strings.HasPrefix(enhanced, "5."):
		v.Outcome = OutcomeBounced
	default:
		v.Outcome = OutcomeDeferred
	}
	if code >= 200 && code < 300 || strings.HasPrefix(enhanced, "2.") {
		st := enhanced
		if st == "" {
			st = "2.0.0"
		}
		v.Classification = Classification{Reason: Delivered, Class: None, Status: st}
	} else {
		v.Classification = classify(code, enhanced, r.Text, "")
	}
	if v.Outcome != OutcomeDelivered {
		// A failure, even one whose words say otherwise (a 550 with status 2.0.0).
		if v.Class == None {
			v.Class = Soft
		}
		if v.Reason == "" {
			v.Reason = Undefined
		}
	}
	return v
}

// classify is the shared core: text patterns first, then the enhanced status code, then the
// reply code. action is the DSN Action ("failed", "delayed", ...) or "".
func classify(code int, status, text, action string) Classification {
	status = normStatus(status)
	if status == "" && code >= 400 && code < 600 {
		status = strconv.Itoa(code/100) + ".0.0"
	}
	r := matchRules(contextRules, text)
	if r == "" {
		r = reasonFromText(focus(text))
	}
	if r == "" {
		r = reasonFromText(text)
	}
	if sr := reasonFromStatus(status); r == "" || strongStatus[status[min(2, len(status)):]] {
		if sr != "" {
			r = sr
		}
	}
	if r == "" {
		r = matchRules(genericRules, text)
	}
	r = adjustForCommand(r, smtpCommand(text), status)
	r = adjustForStatus(r, status)
	if r == "" {
		r = reasonFromCode(code)
	}
	if r == "" {
		if strings.EqualFold(action, "delayed") {
			r = Expired
		} else if status != "" || code != 0 {
			r = OnHold
		} else {
			r = Undefined
		}
	}
	perm := strings.HasPrefix(status, "5.") || code >= 500 && code < 600
	return Classification{Reason: r, Class: ClassOf(r, perm), Status: status, Permanent: perm}
}

// ClassOf gives the class of a reason: hard for userunknown, hostunknown, hasmoved, and
// notaccept when permanent; none for feedback, vacation and delivered; soft otherwise.
func ClassOf(r Reason, permanent bool) Class {
	switch r {
	case UserUnknown, HostUnknown, HasMoved:
		return Hard
	case NotAccept:
		if permanent {
			return Hard
		}
		return Soft
	case Feedback, Vacation, Delivered:
		return None
	}
	return Soft
}

var (
	statusRe    = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)
	replyCodeRe = regexp.MustCompile(`(?:^|[^\d.])([45][0-5]\d)(?:[ -]|$)`)
)

// findStatus returns the first failure (4.x.x or 5.x.x) enhanced status code in s, else the
// first success code (2.x.x), else "". A report quoting a session transcript shows the
// successes of the steps that passed ("250 2.1.0 Ok" to MAIL) before the refusal that made
// it a report; the refusal is what the report is about.
func findStatus(s string) string {
	first := ""
	for _, m := range statusRe.FindAllStringSubmatchIndex(s, -1) {
		// Skip dotted numbers that are part of a longer run (IP addresses, versions).
		if m[0] > 0 && (s[m[0]-1] == '.' || isDigit(s[m[0]-1])) {
			continue
		}
		if m[1] < len(s) && s[m[1]] == '.' && m[1]+1 < len(s) && isDigit(s[m[1]+1]) {
			continue
		}
		st := s[m[0]:m[1]]
		if st[0] != '2' {
			return st
		}
		if first == "" {
			first = st
		}
	}
	return first
}

// findReplyCode returns the first plausible SMTP reply code (4xx/5xx) in s, or 0.
func findReplyCode(s string) int {
	m := replyCodeRe.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// normStatus trims a status code to "c.s.d" or "" when it is not one.
func normStatus(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t(;"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.ContainsAny(parts[0], "245") {
		return ""
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 {
			return ""
		}
		for i := 0; i < len(p); i++ {
			if !isDigit(p[i]) {
				return ""
			}
		}
	}
	return s
}

// reasonFromStatus maps the specific enhanced status codes of RFC 3463 and its successors
// (RFC 7372, RFC 7504, RFC 8689, IANA registry) to a reason. Generic codes (x.0.0, x.7.1 ...)
// say too little and map to "".
func reasonFromStatus(st string) Reason {
	if st == "" {
		return ""
	}
	sub := st[2:]
	switch sub {
	case "1.1", "1.0", "1.3":
		if sub == "1.0" {
			return ""
		}
		return UserUnknown
	case "1.2":
		return HostUnknown
	case "1.4":
		return UserUnknown
	case "1.5":
		return ""
	case "1.6":
		return HasMoved
	case "1.7", "1.8":
		return Rejected
	case "1.10":
		return NotAccept
	case "2.1":
		return Filtered
	case "2.2":
		return MailboxFull
	case "2.3":
		return ExceedLimit
	case "2.4":
		return SystemError
	case "3.1":
		return SystemFull
	case "3.2":
		return TooManyConn
	case "3.3":
		return SystemError
	case "3.4":
		return MesgTooBig
	case "3.5":
		return SystemError
	case "4.1":
		return Expired
	case "4.2", "4.6", "4.0":
		return NetworkError
	case "4.3":
		return SystemError
	case "4.4":
		return HostUnknown
	case "4.5":
		return TooManyConn
	case "4.7":
		return Expired
	case "5.3":
		return ExceedLimit
	case "5.1", "5.2", "5.4", "5.5":
		return SyntaxError
	case "6.0", "6.1", "6.2", "6.3", "6.4", "6.5":
		return ContentError
	case "7.2":
		return Rejected
	case "7.3", "7.4", "7.5", "7.6", "7.7", "7.8", "7.9", "7.11", "7.12", "7.30":
		return SecurityError
	case "7.10":
		return FailedSTARTTLS
	case "7.13", "7.14":
		return Suspend
	case "7.15", "7.16":
		return ""
	case "7.17", "7.18":
		return HasMoved
	case "7.20", "7.21", "7.22", "7.23", "7.24", "7.26", "7.29":
		return AuthFailure
	case "7.25":
		return RequirePTR
	case "7.27":
		return NotAccept
	case "7.28":
		return SpamDetected
	}
	return ""
}

// reasonFromCode is the last resort when only a reply code is known.
func reasonFromCode(code int) Reason {
	switch code {
	case 421:
		return SystemError
	case 452:
		return SystemFull
	case 521, 556:
		return NotAccept
	case 552:
		return MailboxFull
	case 553:
		return Rejected
	case 554:
		return ""
	}
	return ""
}

// strongStatus are enhanced status codes precise enough to win over the wording.
var strongStatus = map[string]bool{
	"1.6": true, "2.3": true, "7.13": true, "7.25": true, "3.4": true, "5.3": true,
	"4.6": true, "7.26": true,
}

var nestedReplyRe = regexp.MustCompile(`\b(?:[45]\d\d[ -]+(?:[45]\.\d{1,3}\.\d{1,3}\b)?|[45]\.\d{1,3}\.\d{1,3}\b)`)

// focus returns the part of a diagnostic from the remote server's own reply on, when the
// text wraps that reply in a relay's explanation ("Google tried to deliver ... The error
// that the other server returned was: 550 5.1.1 ..."); otherwise the text itself.
func focus(text string) string {
	for _, loc := range nestedReplyRe.FindAllStringIndex(text, 8) {
		if loc[0] > 0 {
			return text[loc[0]:]
		}
	}
	return text
}

var commandRe = regexp.MustCompile(`(?:in reply to|after|>>>|did not like our|\[|smtp:)\s*(rcpt to|rcpt_to|rcpt command|rcpt host|mail from|mail_from|end of data|data|helo|ehlo|connect|greeting)`)

// smtpCommand names the SMTP command a diagnostic says was refused ("RCPT", "MAIL",
// "DATA", "HELO", "CONN"), or "".
func smtpCommand(text string) string {
	text = asciiLower(text)
	if strings.Contains(text, "refused to talk to me") || strings.Contains(text, "initial greeting") ||
		strings.Contains(text, "initial connection") {
		return "CONN"
	}
	// qmail-remote names the stage in words of its own.
	switch {
	case strings.Contains(text, "does not like recipient"):
		return "RCPT"
	case strings.Contains(text, "failed after i sent the message") || strings.Contains(text, "failed on data command"):
		return "DATA"
	}
	if !strings.Contains(text, "in reply to") && !strings.Contains(text, "after") && !strings.Contains(text, ">>>") &&
		!strings.Contains(text, "did not like our") && !strings.Contains(text, "[") && !strings.Contains(text, "smtp:") {
		return ""
	}
	m := commandRe.FindAllStringSubmatch(text, 1)
	if m == nil {
		return ""
	}
	cmd := strings.ToLower(m[0][1])
	switch {
	case strings.HasPrefix(cmd, "rcpt"):
		return "RCPT"
	case strings.HasPrefix(cmd, "mail"):
		return "MAIL"
	case strings.Contains(cmd, "data"):
		return "DATA"
	case cmd == "helo" || cmd == "ehlo":
		return "HELO"
	}
	return "CONN"
}

// adjustForCommand corrects a reason by the SMTP command that was refused: a recipient
// refused only after the message was sent was refused for its content (filtered), and an
// address refused at MAIL FROM is the sender's, not the recipient's (rejected); a vague
// refusal at connection time turned the client away (blocked).
//
// An explicit "does not exist" status (x.1.1) is believed over the command: with SMTP
// pipelining the refusal of RCPT is often reported after DATA.
func adjustForCommand(r Reason, cmd, status string) Reason {
	switch {
	case cmd == "DATA" && r == UserUnknown && !strings.HasSuffix(status, ".1.1"):
		return Filtered
	case cmd == "MAIL" && (r == UserUnknown || r == HostUnknown || r == OnHold || r == Undefined):
		return Rejected
	case cmd == "CONN" && (r == SystemError || r == Rejected || r == OnHold || r == Undefined):
		// Refused before any command: the client (its IP or name) was turned away.
		return Blocked
	}
	return r
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay valid in the original.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// isLocalMailerType reports whether a DSN Diagnostic-Code field is of type X-Unix: the
// failure came from a local delivery program (procmail, a pipe, the local mailer's exit
// status), not from an SMTP server.
func isLocalMailerType(diagnosticCode string) bool {
	v := strings.TrimSpace(diagnosticCode)
	i := strings.IndexByte(v, ';')
	return i > 0 && strings.EqualFold(strings.TrimSpace(v[:i]), "x-unix")
}

// localMailerReason is the reason of a failure reported by a local delivery program: the
// program failed (mailererror), unless its words name a storage or size limit, which is the
// mailbox's state rather than the program's.
func localMailerReason(r Reason) Reason {
	switch r {
	case MailboxFull, SystemFull, MesgTooBig, ExceedLimit, VirusDetected, SpamDetected:
		return r
	}
	return MailerError
}

// adjustForStatus corrects a reason taken from the wording by what the enhanced status code
// says (RFC 3463) where the two disagree: a permanent 5.4.4 ("unable to route") after a
// name-service failure means the destination domain has no usable mail route at all, so it
// accepts no mail (notaccept), rather than a passing network problem.
func adjustForStatus(r Reason, status string) Reason {
	switch {
	case r == NetworkError && status == "5.4.4":
		return NotAccept
	case r == NetworkError && len(status) > 2 && status[2:] == "1.2":
		// A DNS failure reported with X.1.2 (bad destination system address): the domain
		// does not exist, rather than a passing network problem.
		return HostUnknown
	case r == MesgTooBig && len(status) > 2 && status[2:] == "2.2":
		// "Mailbox size limit exceeded" with X.2.2 (mailbox full): the limit is the mailbox's.
		return MailboxFull
	}
	return r
}

// addressStatus reports whether an enhanced status code is one of RFC 3463's destination
// address statuses that say the mailbox itself is wrong (X.1.0, X.1.1, X.1.3, X.1.4), or
// X.1.10, which Office 365 / Exchange Online send for a recipient not found.
func addressStatus(st string) bool {
	if len(st) < 5 {
		return false
	}
	switch st[2:] {
	case "1.0", "1.1", "1.3", "1.4", "1.10":
		return true
	}
	return false
}
