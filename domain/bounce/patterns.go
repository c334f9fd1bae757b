package bounce

import (
	"regexp"
	"strings"
)

// rule is one reason with the phrases that reveal it in a diagnostic text. Phrases are matched
// against the lower-cased text with runs of white space folded to one space. A phrase that
// written "re[lit]:expr" is the regular expression expr, tried only on texts that contain
// the literal lit (a cheap filter: most texts are then never run through the expression).
type rule struct {
	reason  Reason
	phrases []string
	res     []litRegexp
}

type litRegexp struct {
	lit string
	re  *regexp.Regexp
}

// textRules is tried in order: the first rule with a matching phrase wins. More specific
// reasons come before the generic ones that their wording also contains (a "blocked because
// of SPF failure" is authfailure before blocked; "mailbox full" before "mailbox unavailable").
// The phrases are the wording of common MTAs and providers (Postfix, Exim, Sendmail, qmail,
// Exchange/Office 365, Gmail, Yahoo, Outlook.com, Amazon SES, Courier, Domino, ...).
var textRules = compileRules([]rule{
	{reason: NotCompliantRFC, phrases: []string{
		"multiple addresses in from", "rfc 5322", "rfc5322", "rfc 2822", "rfc2822", "duplicate header",
		"not rfc", "bare lf", "bare linefeed", "non-compliant",
	}},
	{reason: VirusDetected, phrases: []string{
		"virus", "malware", "infected", "message contains a vulnerability", "dangerous content",
		"banned attachment", "contains a banned",
	}},
	{reason: SpamDetected, phrases: []string{
		"blacklisted url", "uribl", "surbl", "spam content", "message content rejected",
	}},
	// A named block list is the cause even when the refusal calls itself policy ("Blocked by
	// policy: blacklisted by rbl").
	{reason: Blocked, phrases: []string{
		"blacklisted by", "blocklisted by", "listed by rbl", "spamhaus", "spamcop", "dnsbl", "block list", "blocklist",
	}},
	{reason: PolicyViolation, phrases: []string{
		"content presents a potential security issue", "blocked because its content", "policy reasons", "by policy",
		"policy violation", "violates our", "local policy",
	}},
	{reason: TooManyConn, phrases: []string{
		"connection rate limit", "frequency limited", "too many connections", "too many simultaneous",
		"too many concurrent",
	}},
	{reason: FailedSTARTTLS, phrases: []string{
		"starttls failed", "tls negotiation failed", "failed to establish tls",
		"re[starttls]:(must|need to|requires?) (issue a )?starttls", "tls is required", "tls required but",
	}},
	{reason: RequirePTR, phrases: []string{
		"reverse dns", "reverse lookup", "ptr record", "no ptr", "rdns", "reverse hostname",
		"cannot find your hostname", "cannot resolve your address", "unresolvable", "client host rejected: cannot find",
		"ip name lookup failed", "domain name lookup failed", "not resolvable", "hostname of your ip",
		"no reverse", "does not have a valid reverse", "your ip has no", "mismatches client ip",
	}},
	{reason: AuthFailure, phrases: []string{
		"spf fail", "spf check", "spf validation", "spf record", "sender policy framework",
		"re[spf]:\\bspf\\b.{0,40}(fail|not pass|softfail|reject)", "dkim", "dmarc", "authentication failure",
		"5.7.23", "5.7.26", "5.7.20", "5.7.1 [spf]", "sender is not authorized", "not authorized to send",
		"policy reasons: spf", "unauthenticated email", "authentication information", "authentication checks", "is not designated as a permitted sender",
	}},
	{reason: BadReputation, phrases: []string{
		"poor reputation", "bad reputation", "low reputation", "reputation of your", "ip reputation",
		"sender reputation", "domain reputation", "unusual rate of unsolicited", "suspicious due to the very low reputation",
		"temporarily deferred due to unexpected volume",
	}},
	{reason: Speeding, phrases: []string{
		"rate limit", "rate-limit", "ratelimit", "sending rate", "too many messages in", "too fast",
		"sending too many", "throttl", "exceeded the rate", "receiving mail at a rate",
	}},
	{reason: TooManyConn, phrases: []string{
		"too many connections", "too many simultaneous connections", "too many concurrent",
		"connection limit", "too many smtp sessions", "too many sessions", "max connections",
		"too many connects",
	}},
	{reason: NoRelaying, phrases: []string{
		"relay access denied", "relaying denied", "relay not permitted", "not permitted to relay",
		"relaying not allowed", "unable to relay", "relay denied", "we do not relay", "no relaying",
		"not allowed to relay", "relay not allowed", "relaying mail to", "open relay", "cannot relay",
		"is not a local domain", "relay prohibited", "not a gateway",
	}},
	{reason: Rejected, phrases: []string{
		"sender was rejected", "purported responsible address", "may not have permission to post",
		"sender address rejected", "sender rejected", "sender verify failed",
	}},
	{reason: SecurityError, phrases: []string{
		"unauthenticated sender", "authentication required", "must authenticate",
	}},
	{reason: UserUnknown, phrases: []string{
		"recipient address rejected: access denied", "possibly incorrect", "check if address is correct",
		"not listed in domino directory", "no such user", "user unknown", "unknown user",
		"recipientnotfound", "recipnotfound", "not found by smtp address lookup", // Exchange / Office 365 resolver
	}},
	{reason: Blocked, phrases: []string{
		"blacklist", "blocklist", "black list", "block list", "denylist", "spamhaus", "spamcop", "sorbs",
		"barracudacentral", "dnsbl", "re[rbl]:\\brbl\\b", "listed in", "is listed", "are listed",
		"smtp server of your isp", "use your isp's", "ip address is blocked", "ip blocked", "ip has been blocked", "your ip", "your server's ip",
		"client host rejected", "connection refused", "has been blocked",
		"not allowed to send", "rejected due to", "blocked using", "blocked by", "mail server is blocked",
		"refused by the recipient", "connection rejected", "sender ip", "your host", "refused to talk",
		"banned", "service unavailable; client", "dynamic ip", "dynamic address", "dial-up", "dialup",
		"residential", "too many invalid", "hostname doesn't match", "not a valid mail server",
		"has been temporarily rate limited", "service refused", "service refuse", "ip not in whitelist", "we do not accept mail from",
		"re[messages from]:messages from \\[?[0-9a-f.:]+\\]? (will be )?(temporarily |permanently )?deferred", "access from ip", "host is blacklisted",
		"re[blocked]:\\bblocked\\b",
	}},
	{reason: SpamDetected, phrases: []string{
		"spam", "junk mail", "unsolicited", "bulk mail", "looks like", "message content rejected",
		"content filter", "message filtered", "suspicious",
		"considered as spam", "unacceptable content", "spam score", "message is spam", "re[uce]:\\buce\\b", "phishing", "high probability", "blocked for abuse",
	}},
	{reason: PolicyViolation, phrases: []string{
		"policy violation", "violates", "violation of", "policy restrictions", "policy reasons",
		"not allowed by policy", "local policy", "prohibited", "dmarc policy", "security policy",
		"administrative prohibition", "content policy", "mail policy",
	}},
	// The mailbox's size limit is a full mailbox, not a message too big (which "size limit"
	// below would say).
	{reason: MailboxFull, phrases: []string{
		"mailbox size limit", "mailbox size exceeded", "mailbox exceeds allowed size", "mailbox quota",
		"mailbox exceeded",
	}},
	{reason: MesgTooBig, phrases: []string{
		"message too big", "message too large", "message is too large", "message size exceeds",
		"size exceeds", "exceeds size limit", "message file too big", "too big for", "mail size",
		"message length exceeds", "maximum message size", "message exceeds", "size limit",
		"larger than", "exceeded the maximum size",
	}},
	{reason: ExceedLimit, phrases: []string{
		"message exceeds local size limit", "exceeds the limit", "limit exceeded", "too many recipients",
		"recipient limit",
	}},
	{reason: MailboxFull, phrases: []string{
		"mailbox full", "mailbox is full", "mailbox has exceeded", "mailbox size limit",
		"over quota", "overquota", "over the quota", "quota exceeded", "exceeded quota", "quota full",
		"exceeded storage", "exceeded its storage", "mailbox would exceed", "insufficient storage",
		"not enough space", "out of storage", "no space left", "disk full", "mail box full",
		"full mailbox", "box full", "mailfolder is full", "storage allocation", "exceeds its quota",
		"is over its", "would exceed the quota", "user's disk quota", "user is over", "quota",
		"mailbox exceeds allowed size", "the user's mailbox is full", "account is full",
		"inbox is full", "recipient's mailbox is full", "maildir over", "exceeded the space",
		"storage quota exceeded", "mailbox size exceeded", "out of space",
	}},
	{reason: Suspend, phrases: []string{
		"account disabled", "account has been disabled", "account is disabled", "disabled account",
		"mailbox disabled", "mailbox is disabled", "mailbox has been disabled", "mailbox inactive",
		"inactive account", "account inactive", "account is inactive", "suspended", "account expired",
		"mailbox is frozen", "is disabled", "is not active", "is inactive", "account is locked", "temporarily disabled", "account locked", "locked out",
		"has been deactivated", "mailbox unavailable for delivery", "account has been suspended",
		"mailbox currently suspended", "this account has been", "recipient suspended",
	}},
	{reason: HasMoved, phrases: []string{
		"has moved", "address has changed", "no longer valid; please use", "moved to",
		"changed his address", "changed her address", "new address",
	}},
	{reason: Rejected, phrases: []string{
		"sender address rejected", "sender rejected", "sender domain", "sender verify failed",
		"sender verification", "domain of sender address", "mail from", "envelope sender",
		"invalid sender", "sender is not", "bad sender", "return path", "from address", "sender address",
		"sender unknown", "unknown sender", "address verification failed", "your email address",
		"sender denied", "senders are not", "rejected sender", "blocked sender", "not authorized sender",
		"verification failed", "the sender", "sender's",
	}},
	{reason: NotAccept, phrases: []string{
		"doesn't receive email", "does not receive email", "no smtp service", "does not accept mail",
		"accepts no mail", "null mx", "couldn't find a mail exchanger or ip address",
	}},
	{reason: HostUnknown, phrases: []string{
		"host or domain name not found", // Postfix, before its "name service error for name=..."
	}},
	{reason: NetworkError, phrases: []string{
		"dns error", "dns query failed", "host name lookup failure", "name service error", "network error",
		"lost connection", "too many hops", "mail loop", "routing loop",
	}},
	{reason: HostUnknown, phrases: []string{
		"host unknown", "domain does not exist", "unrouteable address", "unroutable address",
		"dns lookup failure", "domain is not reachable", "no such domain",
		"re[ does not exist]:(?:^|[^@\\w.-])[a-z0-9-]+(?:\\.[a-z0-9-]+)+ does not exist",
	}},
	{reason: HostUnknown, phrases: []string{
		"host unknown", "unknown host", "host not found", "domain not found", "no such domain",
		"domain does not exist", "name or service not known", "nxdomain",
		"unrouteable address", "unroutable address", "no mx", "mx record", "mail exchanger",
		"host or domain name not found", "domain name not found", "unknown domain", "domain unknown",
		"domain is not", "invalid domain", "no route to host", "could not be resolved", "unable to find a mail server", "not a known domain", "all relevant mx",
		"no such host", "hostname nor servname",
	}},
	{reason: UserUnknown, phrases: []string{
		"user unknown", "unknown user", "no such user", "no such mailbox", "no such recipient",
		"no such address", "no such account", "unknown recipient", "recipient unknown",
		"recipient not found", "user not found", "mailbox not found", "address not found",
		"does not exist", "doesn't exist", "not exist", "invalid recipient", "invalid mailbox",
		"invalid address", "unknown address", "recipient rejected", "mailbox unavailable", "mailbox not available", "no mailbox",
		"unknown local part", "unknown or illegal alias", "not our customer", "not a valid user",
		"is not a valid", "user doesn't have", "user not exist", "bad recipient", "bad destination",
		"no valid recipients", "not listed in", "cannot be found", "couldn't be found",
		"was not found", "is unknown", "unknown account",
		"invalid user", "user invalid", "no account", "not a known user", "unrouteable",
		"address unknown", "not found in", "undeliverable address", "no mail box", "mailbox does not", "this user doesn't", "recipient is not", "no such person",
		"sorry, no mailbox", "unknown alias", "unknown or invalid", "the email account that you tried to reach",
		"non-existent", "nonexistent", "no longer available", "no longer exists", "no longer active",
		"invalid email address", "account does not", "unknown mailbox", "user is unknown",
		"recipient does not", "deactivated mailbox", "discontinued", "not a valid mailbox",
		"no such local user", "user not known", "unknown email address", "no mailbox here", "invalid user address",
	}},
	{reason: Filtered, phrases: []string{
		"domain filter", "filtered", "due to a filter", "rejected by the recipient", "refused by recipient",
		"recipient's filter", "recipient preferences", "mail was rejected by", "message rejected by the recipient",
		"content rejected", "recipient does not accept", "does not accept mail from",
	}},
	{reason: NotAccept, phrases: []string{
		"does not accept mail", "accepts no mail", "null mx", "nullmx", "not accepting mail",
		"does not receive mail", "no mail accepted", "mail is not accepted",
	}},
	{reason: Expired, phrases: []string{
		"did not accept our requests to connect", "aborted after", "envelope expired", "connection timed out",
		"re[ attempts]:failed \\d+ attempts", "in the queue too long",
		"retry timeout exceeded", "retry time not reached", "delivery time expired", "message expired",
		"has been delayed", "could not be delivered within", "delivery expired", "message timed out",
		"queue too long", "too long in queue", "delivery was not completed", "gave up", "giving up",
		"timeout exceeded", "time limit exceeded", "was not delivered in", "expired after",
		"maximum time", "been in the queue", "no successful delivery", "delivery attempts will continue",
		"unable to deliver for", "could not deliver for", "retry limit", "deferred",
	}},
	{reason: NetworkError, phrases: []string{
		"timed out", "timeout", "network is unreachable", "network unreachable",
		"connection reset", "connection lost", "lost connection", "connection closed", "connection dropped",
		"mail loop", "loops back", "loop detected", "routing loop", "too many hops", "hop count exceeded",
		"could not connect", "unable to connect", "can't connect", "couldn't connect", "failed to connect",
		"connect to", "dns lookup", "temporary failure in name resolution", "dns failure",
		"servfail", "unreachable", "no answer",
	}},
	{reason: SystemFull, phrases: []string{
		"insufficient system storage", "system full", "system storage", "disk is full", "out of disk",
	}},
	{reason: MailerError, phrases: []string{
		"mailer error", "command died", "command failed", "pipe to", "program failed", "x-unix",
		"exit status", "exit code", "unknown mailer", "mailer program", "procmail", "command output",
		"local delivery failed", "broken pipe",
	}},
	{reason: SystemError, phrases: []string{
		"system error", "service currently unavailable", "internal error", "server error", "local error", "configuration error",
		"temporary failure", "temporary error", "service unavailable", "try again later", "try later",
		"resources temporarily unavailable", "server busy", "system busy", "too busy", "malfunction",
		"processing error", "unexpected error", "i/o error", "database error", "mail system error",
		"aborted", "internal server error", "not available", "out of memory",
	}},
	{reason: SecurityError, phrases: []string{
		"access denied", "authentication required", "authentication is required", "auth required", "must authenticate",
		"authentication failed", "authentication credentials invalid", "password", "certificate",
		"encryption required", "unauthorized", "not authorized", "smtp auth", "authenticate first",
		"security", "must be authenticated",
	}},
	{reason: SyntaxError, phrases: []string{
		"syntax error", "command unrecognized", "unrecognized command", "command not recognized",
		"bad sequence", "improper sequence", "sequence of commands", "invalid command", "line too long", "illegal character",
	}},
	{reason: NotCompliantRFC, phrases: []string{
		"rfc 5322", "rfc5322", "rfc 2822", "rfc2822", "rfc 822", "not rfc", "duplicate header",
		"multiple from", "invalid header", "malformed", "bare lf", "bare linefeed", "non-compliant",
	}},
	{reason: ContentError, phrases: []string{
		"header error", "content error", "invalid content", "message header", "mime",
		"encoding", "charset",
	}},
	{reason: UserUnknown, phrases: []string{
		"recipient address rejected", "address rejected",
	}},
})

// contextRules are read over the whole diagnostic before any other rule: they describe the
// transaction rather than the reply ("sender was rejected" makes any reply a sender problem).
var contextRules = compileRules([]rule{
	{reason: Rejected, phrases: []string{"sender was rejected", "sender address rejected"}},
})

// genericRules are vague words used only when neither the specific rules nor the status
// code decided.
var genericRules = compileRules([]rule{
	{reason: Rejected, phrases: []string{
		"rejected", "refused", "denied", "not accepted", "not allowed", "declined",
	}},
})

func compileRules(rs []rule) []rule {
	for i := range rs {
		var keep []string
		for _, p := range rs[i].phrases {
			if strings.HasPrefix(p, "re[") {
				end := strings.Index(p, "]:")
				rs[i].res = append(rs[i].res, litRegexp{lit: p[3:end], re: regexp.MustCompile(p[end+2:])})
				continue
			}
			keep = append(keep, p)
		}
		rs[i].phrases = keep
	}
	return rs
}

// normText lower-cases s and folds runs of white space to one space.
func normText(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// reasonFromText returns the first reason whose phrases occur in the diagnostic text, or "".
func reasonFromText(text string) Reason {
	t := normText(text)
	if t == "" {
		return ""
	}
	// Postfix's "delivery temporarily suspended: <why>" repeats an earlier failure of the
	// destination; the words after it are the reason, "suspended" is not about the account.
	t = strings.ReplaceAll(t, "delivery temporarily suspended", "delivery deferred")
	// An address is a name, not words: "filtered@example.jp" or "spam-trap@example.org" says
	// nothing about why the mail failed. (Host names stay: "zen.spamhaus.org" does.)
	t = addrRe2.ReplaceAllString(t, "<addr>")
	// Multi-line replies repeat their codes on each line ("550-5.7.1 ... multiple 550 5.7.1
	// addresses"): match the text with the inner repetitions removed as well.
	if s := innerCodesRe.ReplaceAllString(t, " "); s != t {
		t += " | " + s
	}
	return matchNormalized(textRules, t)
}

// matchRules returns the first reason of rules with a phrase in text.
func matchRules(rules []rule, text string) Reason {
	return matchNormalized(rules, normText(text))
}

// matchNormalized is matchRules on text already passed through normText.
func matchNormalized(rules []rule, t string) Reason {
	for _, r := range rules {
		for _, p := range r.phrases {
			if strings.Contains(t, p) {
				return r.reason
			}
		}
		for _, lr := range r.res {
			if strings.Contains(t, lr.lit) && lr.re.MatchString(t) {
				return r.reason
			}
		}
	}
	return ""
}

// addrRe2 matches an e-mail address in lower-cased text.
var addrRe2 = regexp.MustCompile(`[a-z0-9._%+=-]*[a-z0-9]@[a-z0-9-]+(?:\.[a-z0-9-]+)*`)

var innerCodesRe = regexp.MustCompile(` [45]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3} )?`)
