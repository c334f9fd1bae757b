package bounce

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Kind is what a report is.
type Kind string

const (
	KindDSN       Kind = "dsn"        // a delivery status notification, standard or not
	KindFeedback  Kind = "feedback"   // an RFC 5965 ARF report (or a provider's complaint notice)
	KindAutoReply Kind = "auto-reply" // an RFC 3834 automatic reply (vacation, out of office)
	KindNone      Kind = "none"       // not a report of failure (recipients, if any, were delivered)
)

// Report is what Parse learned from one message.
type Report struct {
	Kind         Kind
	ReportingMTA string
	FeedbackType string // ARF Feedback-Type ("abuse", "opt-out", ...) for KindFeedback
	// OriginalMessageID is the Message-ID of the returned original message, when present:
	// a caller may use it to link the report when the envelope was lost.
	OriginalMessageID string
	// OriginalHeaders holds the returned original message's header fields (lower-cased
	// names), when the report carried them, so callers can find their own tracking header.
	OriginalHeaders map[string]string
	Recipients      []Recipient
}

// Recipient is one reported recipient and the verdict on it.
type Recipient struct {
	Address    string // the failed recipient (DSN Final-Recipient or the address in the text)
	Original   string // Original-Recipient or an alias it was expanded from, if known
	Action     string // failed, delayed, delivered, relayed, expanded; "" if unknown
	Status     string // enhanced status code ("5.1.1"), "" if unknown
	ReplyCode  int    // SMTP reply code found in the diagnostic, 0 if none
	RemoteMTA  string
	Diagnostic string // the remote server's words, white space folded
	Reason     Reason
	Class      Class
}

// Errors of Parse. A caller that stores reports keeps such input as malformed, not dropped.
var (
	ErrEmpty      = errors.New("bounce: parse: empty message")
	ErrNotMessage = errors.New("bounce: parse: no header fields")
)

// Parse reads one raw message (RFC 5322, any line endings) and returns what it reports.
// A message that is not a report yields Kind KindNone and no recipients, not an error.
// Only input that cannot be a message at all is an error. Parse never panics.
func Parse(raw []byte) (rep Report, err error) {
	defer func() {
		if p := recover(); p != nil { // a parser bug must not take the listener down
			rep = Report{Kind: KindNone}
			err = fmt.Errorf("bounce: parse: internal error: %v", p)
		}
	}()
	return parse(raw)
}

// parse is Parse without the panic guard, so that fuzzing sees every panic.
func parse(raw []byte) (Report, error) {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return Report{}, ErrEmpty
	}
	if len(raw) > maxInput {
		raw = raw[:maxInput]
	}
	budget := maxParts
	root := parseEntity(normalizeNewlines(raw), 0, &budget)
	if len(root.hdr.keys) == 0 {
		return Report{Kind: KindNone}, ErrNotMessage
	}
	p := &parser{root: root}
	return p.run(), nil
}

type parser struct {
	depth    int
	root     *entity
	dsParts  []*entity // message/delivery-status
	fbParts  []*entity // message/feedback-report
	texts    []string  // human-readable text parts, in order
	original *entity   // the returned message (message/rfc822) or its headers
	origHdr  header
}

func (p *parser) run() Report {
	p.collect()
	rep := Report{Kind: KindNone}
	if len(p.origHdr.keys) > 0 {
		rep.OriginalMessageID = strings.Trim(p.origHdr.get("message-id"), "<> ")
		rep.OriginalHeaders = map[string]string{}
		for i, k := range p.origHdr.keys {
			if _, dup := rep.OriginalHeaders[k]; !dup {
				rep.OriginalHeaders[k] = p.origHdr.vals[i]
			}
		}
	}
	text := p.bounceText()

	if r, ok := p.sesJSON(); ok {
		r.OriginalMessageID, r.OriginalHeaders = rep.OriginalMessageID, rep.OriginalHeaders
		return r
	}
	if len(p.fbParts) > 0 || p.isComplaint() {
		return p.feedback(rep)
	}
	if len(p.dsParts) > 0 {
		if rs, mta := p.dsnRecipients(text); len(rs) > 0 {
			rep.Kind, rep.ReportingMTA, rep.Recipients = KindDSN, mta, rs
			return rep
		}
	}
	auto := p.isAutoReply() && !p.fromDaemon()
	bounce := !auto && p.looksLikeBounce(text)
	if bounce {
		if rs := p.textRecipients(text, false); len(rs) > 0 {
			rep.Kind, rep.Recipients = KindDSN, rs
			return rep
		}
	}
	if !auto && p.original != nil && p.depth < 3 && (len(p.original.parts) > 0 || p.original.body != "") {
		// A report forwarded as an attachment: read the attached message as the report.
		inner := &parser{root: p.original, depth: p.depth + 1}
		if r := inner.run(); r.Kind != KindNone {
			return r
		}
	}
	if bounce {
		if rs := p.textRecipients(text, true); len(rs) > 0 {
			rep.Kind, rep.Recipients = KindDSN, rs
			return rep
		}
	}
	if auto {
		rep.Kind = KindAutoReply
		from := firstAddress(p.root.hdr.get("from"))
		if from == "" {
			from = firstAddress(p.root.hdr.get("reply-to"))
		}
		rep.Recipients = []Recipient{{Address: from, Reason: Vacation, Class: None}}
		return rep
	}
	return rep
}

// collect sorts the parts of the message into report parts, text parts and the original.
func (p *parser) collect() {
	var htmls []string
	var visit func(e *entity)
	visit = func(e *entity) {
		switch {
		case len(e.parts) > 0:
			for _, c := range e.parts {
				visit(c)
			}
		case strings.HasPrefix(e.mediaType, "multipart/"):
			p.texts = append(p.texts, e.body) // no usable boundary: read it as text
		case e.mediaType == "message/delivery-status" || e.mediaType == "message/global-delivery-status":
			p.dsParts = append(p.dsParts, e)
		case e.mediaType == "message/feedback-report":
			p.fbParts = append(p.fbParts, e)
		case e.inner != nil:
			if p.original == nil {
				p.original = e.inner
				p.origHdr = e.inner.hdr
			}
		case e.mediaType == "text/rfc822-headers" || e.mediaType == "message/rfc822-headers" ||
			e.mediaType == "message/global-headers":
			if p.original == nil {
				h, _ := splitHeader(strings.TrimLeft(e.body, "\n"))
				p.original = &entity{hdr: h}
				p.origHdr = h
			}
		case e.mediaType == "text/html":
			htmls = append(htmls, stripTags(e.body))
		case strings.HasPrefix(e.mediaType, "text/") || e.mediaType == "":
			p.texts = append(p.texts, e.body)
		}
	}
	visit(p.root)
	if len(p.texts) == 0 {
		p.texts = htmls
	}
	for i, t := range p.texts {
		p.texts[i] = unquote(t)
	}
	if len(p.dsParts) == 0 {
		// Delivery-status fields without their MIME part (a lost boundary, a forwarded report).
		for _, t := range p.texts {
			if loc := dsnFieldRe.FindStringIndex(t); loc != nil {
				p.dsParts = append(p.dsParts, &entity{mediaType: "message/delivery-status", body: cutReturned(t[loc[0]:])})
				break
			}
		}
	}
}

var dsnFieldRe = regexp.MustCompile(`(?im)^(?:reporting-mta|final-recipient|original-recipient)\s*:`)

var quoteRe = regexp.MustCompile(`(?m)^>+ ?`)

// unquote removes "> " quoting from a forwarded report.
func unquote(s string) string {
	quoted, all := 0, 0
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		all++
		if strings.HasPrefix(l, ">") {
			quoted++
		}
	}
	if quoted == 0 || quoted*2 < all {
		return s
	}
	return quoteRe.ReplaceAllString(s, "")
}

// cutReturned cuts s at the first line that starts a returned message or a MIME boundary.
func cutReturned(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		low := strings.ToLower(strings.TrimSpace(l))
		if strings.HasPrefix(low, "--") || strings.HasPrefix(low, "content-type:") {
			return strings.Join(lines[:i], "\n")
		}
		for _, m := range returnedMarkers {
			if strings.Contains(low, m) {
				return strings.Join(lines[:i], "\n")
			}
		}
	}
	return s
}

// returnedMarkers start the copy of the original message inside a plain-text bounce.
var returnedMarkers = []string{
	"below this line is a copy of the message",
	"this is a copy of the message",
	"original message follows",
	"original message header",
	"original message ---",
	"original message -----",
	"the original message headers",
	"undelivered message follows",
	"undelivered message headers",
	"unsent message below",
	"message header follows",
	"header of the original message",
	"headers of the original message",
	"returned message follows",
	"content-type: message/rfc822",
	"original message is attached",
	"this is the returned message",
	"copy of the original message",
	"message headers follow",
}

// bounceText is the human-readable text of the report without the returned original.
func (p *parser) bounceText() string {
	var b strings.Builder
	for _, t := range p.texts {
		b.WriteString(t)
		b.WriteString("\n")
	}
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		low := strings.ToLower(strings.TrimSpace(l))
		cut := false
		for _, m := range returnedMarkers {
			if strings.Contains(low, m) {
				cut = true
				break
			}
		}
		if !cut && i > 0 && (strings.HasPrefix(low, "return-path:") || strings.HasPrefix(low, "received: ")) &&
			l == strings.TrimLeft(l, " \t") {
			cut = true
		}
		if cut {
			if p.original == nil {
				h, _ := splitHeader(strings.TrimLeft(strings.Join(lines[i+1:], "\n"), "\n"))
				if i > 0 && (strings.HasPrefix(low, "return-path:") || strings.HasPrefix(low, "received:")) {
					h, _ = splitHeader(strings.Join(lines[i:], "\n"))
				}
				if len(h.keys) > 0 {
					p.original = &entity{hdr: h}
					p.origHdr = h
				}
			}
			return strings.Join(lines[:i], "\n")
		}
	}
	return b.String()
}

// dsnRecipients reads the per-recipient groups of the delivery-status parts (RFC 3464).
func (p *parser) dsnRecipients(text string) ([]Recipient, string) {
	var out []Recipient
	var localMailer []bool // per recipient: the diagnostic is a local delivery program's (x-unix)
	mta := ""
	for _, part := range p.dsParts {
		body := part.body
		if part.hdr.get("content-transfer-encoding") == "" && strings.HasPrefix(strings.TrimSpace(body), "Content-") {
			_, body = splitHeader(strings.TrimLeft(body, "\n"))
		}
		groups := dsnGroups(body)
		for gi, g := range groups {
			if gi == 0 {
				if v := g.get("reporting-mta"); v != "" {
					mta = stripType(v)
				}
			}
			final := stripType(g.get("final-recipient"))
			addr := firstAddress(final)
			orig := firstAddress(stripType(g.get("original-recipient")))
			if orig != "" && (strings.HasPrefix(final, "@") || !strings.Contains(addr[strings.IndexByte(addr, '@')+1:], ".")) {
				addr = orig // a source route or a host-local address: the original is the one we sent
			}
			if addr == "" {
				addr = orig
			}
			if addr == "" {
				addr = firstAddress(g.get("x-actual-recipient"))
			}
			if addr == "" {
				continue
			}
			r := Recipient{
				Address:    addr,
				Action:     strings.ToLower(strings.TrimSpace(firstWord(g.get("action")))),
				Status:     normStatus(g.get("status")),
				RemoteMTA:  stripType(g.get("remote-mta")),
				Diagnostic: strings.Join(strings.Fields(stripType(g.get("diagnostic-code"))), " "),
			}
			if orig != "" && !strings.EqualFold(orig, addr) {
				r.Original = orig
			}
			out = append(out, r)
			localMailer = append(localMailer, isLocalMailerType(g.get("diagnostic-code")))
		}
	}
	if len(out) == 0 {
		return nil, mta
	}
	blocks := textBlocks(text, p.excluded())
	for i := range out {
		r := &out[i]
		local := r.Diagnostic
		if local == "" {
			for _, b := range blocks {
				if strings.EqualFold(b.addr, r.Address) || strings.EqualFold(b.addr, r.Original) {
					local = b.diag
					break
				}
			}
		}
		p.finish(r, local, text)
		if localMailer[i] && r.Class != None {
			r.Reason = localMailerReason(r.Reason)
			r.Class = ClassOf(r.Reason, false)
		}
	}
	return dedupe(out), mta
}

// finish fills status, reply code, reason and class of r from its diagnostic.
func (p *parser) finish(r *Recipient, diag, whole string) {
	diag = strings.Join(strings.Fields(clip(diag)), " ")
	whole = clip(whole)
	if r.Diagnostic == "" {
		r.Diagnostic = diag
	}
	if r.RemoteMTA == "" {
		if m := remoteHostRe.FindStringSubmatch(diag); m != nil {
			r.RemoteMTA = m[1]
		}
	}
	r.ReplyCode = findReplyCode(diag)
	if ds := findStatus(diag); ds != "" && (r.Status == "" || strings.HasSuffix(r.Status, ".0.0") && ds[0] == r.Status[0]) {
		r.Status = ds
	}
	switch r.Action {
	case "delivered", "relayed", "expanded", "deliverable":
		r.Reason, r.Class = Delivered, None
		return
	}
	if r.Status != "" && r.Status[0] == '2' {
		r.Reason, r.Class = Delivered, None
		return
	}
	c := classify(r.ReplyCode, r.Status, diag, r.Action)
	if reasonFromText(diag) == "" && reasonFromStatus(r.Status) == "" {
		if tr := reasonFromText(whole); tr != "" {
			c.Reason = tr
		}
	}
	cmd := smtpCommand(diag)
	if cmd == "" {
		cmd = commandNear(whole, r.Address)
		c.Reason = adjustForCommand(c.Reason, cmd, r.Status)
	}
	if cmd == "" && strings.Contains(asciiLower(diag), "recipient address rejected") {
		cmd = "RCPT" // Postfix's recipient restrictions answer RCPT, by definition
	}
	remote := r.ReplyCode != 0 || r.Status != "" && !strings.HasSuffix(r.Status, ".0.0")
	if c.Reason == UserUnknown && remote && cmd != "RCPT" && !addressStatus(r.Status) {
		// A remote server's "user unknown" is an address verdict only when it answered RCPT
		// or came with an address status (X.1.1 ...). Said at another stage, or with no
		// stage and a vague status (5.0.0, 5.2.1), it is the receiver refusing this message
		// (filtered), as sisimai reads it. A reporting MTA's own verdict (no reply code and
		// no specific status: Exchange, Domino, Gmail's "address not found") is believed.
		c.Reason = Filtered
	}
	if (c.Reason == OnHold || c.Reason == Undefined) && strings.HasSuffix(strings.ToLower(r.Address), "@googlegroups.com") {
		// Google Groups refuses posts from non-members in many languages; its bounces
		// carry no status. The address is a group, so the refusal is the post's.
		c.Reason = Rejected
	}
	// A report that says "failed" without a temporary code is permanent.
	perm := c.Permanent || r.Action == "failed" && !strings.HasPrefix(r.Status, "4") &&
		!(r.ReplyCode >= 400 && r.ReplyCode < 500)
	c.Class = ClassOf(c.Reason, perm)
	if r.Status == "" {
		r.Status = c.Status
	}
	r.Reason, r.Class = c.Reason, c.Class
}

var remoteHostRe = regexp.MustCompile(`(?i)\bhost ([a-z0-9][a-z0-9.-]*\.[a-z]{2,})\b`)

// dsnGroups splits a delivery-status body into field groups separated by blank lines.
func dsnGroups(body string) []header {
	var out []header
	rest := strings.TrimLeft(body, "\n")
	for rest != "" && len(out) < maxParts {
		h, r := splitHeader(rest)
		out = append(out, splitRecipients(h)...)
		if len(r) >= len(rest) {
			// splitHeader made no progress: skip one line
			if i := strings.IndexByte(rest, '\n'); i >= 0 {
				r = rest[i+1:]
			} else {
				r = ""
			}
		}
		rest = strings.TrimLeft(r, "\n")
	}
	return out
}

// splitRecipients splits a field group that holds several recipients without the blank
// lines between them: a new group starts at a Final-Recipient (or an Original-Recipient
// before one) when the current group already names its recipient.
func splitRecipients(h header) []header {
	if len(h.keys) == 0 {
		return nil
	}
	var out []header
	var cur header
	hasFinal, hasOrig := false, false
	for i, k := range h.keys {
		prev := ""
		if n := len(cur.keys); n > 0 {
			prev = cur.keys[n-1]
		}
		switch {
		case k == "final-recipient" && hasFinal:
			next := header{}
			if prev == "original-recipient" && hasOrig {
				// The Original-Recipient just read belongs to this new recipient.
				n := len(cur.keys) - 1
				next.keys, next.vals = []string{cur.keys[n]}, []string{cur.vals[n]}
				cur.keys, cur.vals = cur.keys[:n], cur.vals[:n]
			}
			out = append(out, cur)
			cur, hasFinal, hasOrig = next, false, len(next.keys) > 0
		case k == "original-recipient" && (hasOrig || hasFinal && prev != "final-recipient"):
			out = append(out, cur)
			cur, hasFinal, hasOrig = header{}, false, false
		}
		switch k {
		case "final-recipient":
			hasFinal = true
		case "original-recipient":
			hasOrig = true
		}
		cur.keys = append(cur.keys, k)
		cur.vals = append(cur.vals, h.vals[i])
	}
	return append(out, cur)
}

// stripType drops an RFC 3464 type prefix ("rfc822;", "smtp;", "dns;").
func stripType(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 && i < 16 && !strings.ContainsAny(v[:i], " @<") {
		return strings.TrimSpace(v[i+1:])
	}
	return strings.TrimSpace(v)
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

var addrRe = regexp.MustCompile(`[A-Za-z0-9._%+'=/!#$&*?^{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*`)

// firstAddress returns the first address in s, lower-cased domain kept as written.
func firstAddress(s string) string {
	m := addrRe.FindString(s)
	return strings.Trim(m, ".'")
}

func dedupe(rs []Recipient) []Recipient {
	seen := map[string]bool{}
	out := rs[:0]
	for _, r := range rs {
		k := strings.ToLower(r.Address)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}

// feedback reads an ARF report: one record per reported recipient.
func (p *parser) feedback(rep Report) Report {
	rep.Kind = KindFeedback
	var addrs []string
	for _, part := range p.fbParts {
		for _, g := range dsnGroups(part.body) {
			if rep.FeedbackType == "" {
				rep.FeedbackType = strings.ToLower(strings.TrimSpace(g.get("feedback-type")))
			}
			if rep.ReportingMTA == "" {
				rep.ReportingMTA = stripType(g.get("reporting-mta"))
			}
			for _, k := range []string{"original-rcpt-to", "removal-recipient"} {
				for _, v := range g.all(k) {
					if a := firstAddress(v); a != "" {
						addrs = append(addrs, a)
					}
				}
			}
		}
	}
	for _, k := range []string{"x-hmxmroriginalrecipient", "to"} {
		if len(addrs) == 0 {
			if a := firstAddress(p.origHdr.get(k)); a != "" {
				addrs = append(addrs, a)
			}
		}
	}
	if len(addrs) == 0 {
		addrs = append(addrs, "") // a complaint about an unknown recipient is still a complaint
	}
	for _, a := range addrs {
		rep.Recipients = append(rep.Recipients, Recipient{Address: a, Reason: Feedback, Class: None})
	}
	rep.Recipients = dedupe(rep.Recipients)
	return rep
}

// excluded are addresses that are not failed recipients: the report's own sender and
// recipient and the original sender.
func (p *parser) excluded() map[string]bool {
	ex := map[string]bool{}
	for _, k := range []string{"from", "to", "return-path", "sender", "reply-to"} {
		for _, a := range addrRe.FindAllString(p.root.hdr.get(k), -1) {
			ex[strings.ToLower(a)] = true
		}
	}
	for _, k := range []string{"from", "return-path", "sender"} {
		for _, a := range addrRe.FindAllString(p.origHdr.get(k), -1) {
			ex[strings.ToLower(a)] = true
		}
	}
	return ex
}

var bounceSubjects = []string{
	"undeliver", "undelivered", "delivery status", "delivery failure", "delivery failed",
	"failure notice", "returned mail", "returned to sender", "non-delivery", "nondelivery",
	"could not be delivered", "delivery notification", "mail delivery", "not delivered",
	"bounce", "rejected", "failed", "failure", "delayed", "warning", "error", "problem",
	"unable to deliver", "nicht zustellbar", "non remis", "no entregado", "returned",
}

// looksLikeBounce says whether a message without a delivery-status part is worth reading
// as a non-standard bounce.
func (p *parser) looksLikeBounce(text string) bool {
	h := p.root.hdr
	if h.get("x-failed-recipients") != "" || p.root.mediaType == "multipart/report" {
		return true
	}
	from := strings.ToLower(h.get("from") + " " + h.get("return-path") + " " + h.get("sender"))
	if strings.Contains(from, "mailer-daemon") || strings.Contains(from, "postmaster") ||
		strings.Contains(from, "mail delivery") || strings.Contains(from, "<>") || strings.TrimSpace(h.get("return-path")) == "<>" {
		return true
	}
	if strings.Contains(from, "post_master") || strings.Contains(from, "mailer daemon") {
		return true
	}
	subj := strings.ToLower(decodeWords(h.get("subject")))
	for _, s := range bounceSubjects {
		// A subject alone ("Problem with my order") is not enough: the text must also
		// carry an SMTP reply or status code.
		if strings.Contains(subj, s) && (findStatus(text) != "" || findReplyCode(text) != 0) {
			return true
		}
	}
	low := normText(text)
	for _, s := range []string{"could not be delivered", "couldn't be delivered", "was not delivered",
		"delivery has failed", "delivery failed", "permanent error", "undeliverable", "not be delivered",
		"following address", "following recipient", "did not reach", "delivery to the following",
		"requested action not taken", "invalid user address", "no such user", "user unknown",
		"delivery status notification", "mail delivery"} {
		if strings.Contains(low, s) {
			return true
		}
	}
	return false
}

// block is one recipient found in a plain-text report and the words that follow it.
type block struct {
	addr, alias, diag string
	weak              bool // found only after a "To:" label
}

var (
	expandedRe = regexp.MustCompile(`(?i)\(expanded from:? <?([^>\s)]+@[^>\s)]+)>?\)`)
	// sendmailRe is a transcript line "550 5.1.1 <bob@example.com>... User unknown".
	sendmailRe = regexp.MustCompile(`^([45]\d\d)[ -](?:([245]\.\d{1,3}\.\d{1,3}) )?<([^<>\s]+@[^<>\s]+)>\.\.\. ?(.*)$`)
	// prefixRe is a short lead-in before an address: "Recipient address:", "-- ", "* ",
	// "Delivery failed 20 attempts:", "RCPT TO:".
	prefixRe = regexp.MustCompile(`^[^@<>]{0,48}?(?::\s*(?:rfc822;\s*)?|^[-*•#>]+\s*)`)
	// notRecipientRe are lead-ins naming an address that is not a failed recipient.
	notRecipientRe = regexp.MustCompile(`(?i)^\s*(?:from|mail from|sender|envelope-from|return-path|reply-to|cc|bcc|subject|date|sent|message-id|x-[a-z-]+|reporting-mta|remote-mta|received|by|for|contact|please contact)\s*:`)
	toLabelRe      = regexp.MustCompile(`(?i)^\s*to\s*:`)
)

// textBlocks finds the recipients that a plain-text report lists at the start of a line
// ("<bob@example.com>:", "  bob@example.com", "Recipient: bob@example.com", a Sendmail
// transcript line) and the diagnostic lines that follow each, up to the next recipient or
// blank line. Addresses in ex are skipped unless the line is a bare listing ("<a>:" or "a").
func textBlocks(text string, ex map[string]bool) []block {
	lines := strings.Split(text, "\n")
	var out []block
	index := map[string]int{}
	if len(lines) > 20000 {
		lines = lines[:20000]
	}
	cur := -1
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			if cur >= 0 && out[cur].diag != "" && !strings.HasSuffix(out[cur].diag, ":") {
				cur = -1
			}
			continue
		}
		if cur >= 0 && notRecipientRe.MatchString(t) && !strings.HasSuffix(out[cur].diag, ":") {
			cur = -1 // a header-like line ends the diagnostic
		}
		addr, rest, strong, weak, ok := leadingAddress(t)
		if ok && (strong || !ex[strings.ToLower(addr)]) && !isDaemon(addr) {
			var alias string
			if m := expandedRe.FindStringSubmatch(rest); m != nil {
				alias = m[1]
				rest = strings.Replace(rest, m[0], "", 1)
			}
			diag := strings.TrimLeft(strings.TrimSpace(rest), ":.> ")
			if strings.HasPrefix(strings.ToLower(diag), "on ") && len(diag) < 60 {
				diag = "" // Exchange: "bob@example.com on <date>"
			}
			if i, seen := index[strings.ToLower(addr)]; seen {
				if diag != "" {
					out[i].diag = strings.TrimSpace(out[i].diag + " " + diag)
				}
				out[i].weak = out[i].weak && weak
				cur = i
				continue
			}
			out = append(out, block{addr: addr, alias: alias, diag: diag, weak: weak})
			cur = len(out) - 1
			index[strings.ToLower(addr)] = cur
			if sendmailRe.MatchString(t) {
				cur = -1 // a transcript line is complete in itself
			}
			continue
		}
		if cur >= 0 {
			if out[cur].diag != "" {
				out[cur].diag += " "
			}
			out[cur].diag += t
		}
	}
	strongFound := false
	for _, b := range out {
		strongFound = strongFound || !b.weak
	}
	if strongFound {
		keep := out[:0]
		for _, b := range out {
			if !b.weak {
				keep = append(keep, b)
			}
		}
		out = keep
	}
	return out
}

// leadingAddress reports whether line t lists an address at its start, possibly after a
// short lead-in, and returns it with the rest of the line. strong is a bare listing ("<a>",
// "<a>:", "a", "a:"); weak is a "To:" lead-in, used only when nothing better is found.
func leadingAddress(t string) (addr, rest string, strong, weak, ok bool) {
	if m := sendmailRe.FindStringSubmatch(t); m != nil {
		return m[3], m[1] + " " + m[2] + " " + m[4], false, false, true
	}
	if notRecipientRe.MatchString(t) {
		return "", "", false, false, false
	}
	weak = toLabelRe.MatchString(t)
	s := t
	if m := prefixRe.FindString(s); m != "" && !strings.Contains(m, "@") {
		s = s[len(m):]
	}
	s = strings.TrimLeft(s, `<"'([ `)
	loc := addrRe.FindStringIndex(s)
	if loc == nil || loc[0] != 0 {
		return "", "", false, false, false
	}
	addr = strings.Trim(s[:loc[1]], ".'")
	rest = strings.TrimLeft(s[loc[1]:], `>"')]`)
	low := strings.ToLower(strings.TrimSpace(rest))
	// A sentence that merely starts with an address ("bob@x wrote:") is not a listing.
	if strings.HasPrefix(low, "wrote") || strings.HasPrefix(low, "schrieb") {
		return "", "", false, false, false
	}
	bare := strings.TrimLeft(t, `<"'([ `) == s && (low == "" || low == ":" || strings.HasPrefix(low, ": ") || strings.HasPrefix(low, "..."))
	return addr, rest, bare, weak, true
}

func isDaemon(a string) bool {
	l := strings.ToLower(a)
	return strings.HasPrefix(l, "mailer-daemon@") || strings.HasPrefix(l, "mail-daemon@")
}

// textRecipients reads a non-standard report.
func (p *parser) textRecipients(text string, lastResort bool) []Recipient {
	ex := p.excluded()
	blocks := textBlocks(text, ex)
	// X-Failed-Recipients (Exim and others) is authoritative when present.
	var failed []string
	for _, v := range p.root.hdr.all("x-failed-recipients") {
		failed = append(failed, addrRe.FindAllString(v, -1)...)
	}
	var out []Recipient
	add := func(addr, alias, diag string) {
		r := Recipient{Address: addr, Action: "failed"}
		if alias != "" && !strings.EqualFold(alias, addr) {
			r.Original = alias
		}
		p.finish(&r, diag, text)
		r.Diagnostic = shorten(r.Diagnostic)
		out = append(out, r)
	}
	if len(failed) > 0 {
		for _, a := range failed {
			diag := ""
			for _, b := range blocks {
				if strings.EqualFold(b.addr, a) {
					diag = b.diag
					break
				}
			}
			if diag == "" {
				diag = text
			}
			add(a, "", diag)
		}
		return dedupe(out)
	}
	if len(blocks) == 1 {
		// One recipient: everything the report says after it is about it.
		blocks[0].diag = textAfter(text, blocks[0].addr, blocks[0].diag)
	}
	for _, b := range blocks {
		add(b.addr, b.alias, b.diag)
	}
	if len(out) == 0 {
		// An address in an SMTP transcript line: "RCPT TO:<bob@x>" or "550 5.1.1 <bob@x>...".
		for _, l := range strings.Split(text, "\n") {
			low := strings.ToLower(l)
			if !strings.Contains(low, "rcpt to") && findReplyCode(l) == 0 {
				continue
			}
			for _, a := range addrRe.FindAllString(l, -1) {
				if !ex[strings.ToLower(a)] && !isDaemon(a) {
					add(a, "", text)
					break
				}
			}
			if len(out) > 0 {
				break
			}
		}
	}
	if len(out) == 0 && lastResort {
		// Last resort: the recipient of the returned original message.
		for _, a := range addrRe.FindAllString(p.origHdr.get("to"), -1) {
			if !isDaemon(a) {
				add(a, "", text)
			}
		}
	}
	return dedupe(out)
}

// isComplaint recognises the pre-ARF complaint notices of some mailbox providers: a
// "complaint about message" subject with the message attached.
func (p *parser) isComplaint() bool {
	if p.original == nil || p.fromDaemon() {
		return false
	}
	subj := strings.ToLower(decodeWords(p.root.hdr.get("subject")))
	for _, s := range []string{"complaint about message", "abuse report", "spam report", "spam complaint"} {
		if strings.Contains(subj, s) {
			return true
		}
	}
	return false
}

// fromDaemon says whether the message comes from a mail system rather than a person.
func (p *parser) fromDaemon() bool {
	h := p.root.hdr
	if h.get("x-failed-recipients") != "" || p.root.mediaType == "multipart/report" {
		return true
	}
	from := strings.ToLower(h.get("from") + " " + h.get("sender"))
	for _, s := range []string{"mailer-daemon", "mail-daemon", "postmaster", "mail delivery", "mailer daemon"} {
		if strings.Contains(from, s) {
			return true
		}
	}
	subj := strings.ToLower(decodeWords(h.get("subject")))
	for _, s := range []string{"undeliver", "delivery status", "delivery failure", "delivery failed",
		"failure notice", "returned mail", "non-delivery", "could not be delivered", "mail delivery"} {
		if strings.Contains(subj, s) {
			return true
		}
	}
	return false
}

// isAutoReply applies RFC 3834 and the common vacation markers.
func (p *parser) isAutoReply() bool {
	h := p.root.hdr
	as := strings.ToLower(h.get("auto-submitted"))
	if strings.HasPrefix(as, "auto-replied") {
		return true
	}
	if h.get("x-autoreply") != "" || h.get("x-autorespond") != "" || h.get("x-autoresponder") != "" {
		return true
	}
	prec := strings.ToLower(h.get("precedence"))
	if prec == "auto_reply" {
		return true
	}
	subj := strings.ToLower(decodeWords(h.get("subject")))
	for _, s := range []string{"auto:", "automatic reply", "autoreply", "auto-reply", "auto reply",
		"out of office", "out of the office", "away from", "vacation", "abwesenheit", "absence",
		"réponse automatique", "respuesta automática", "自動応答", "away until", "on leave"} {
		if strings.Contains(subj, s) {
			return true
		}
	}
	return false
}

// String is a one-line summary of the report for logs and test failures.
func (r Report) String() string {
	var b strings.Builder
	b.WriteString(string(r.Kind))
	for _, x := range r.Recipients {
		b.WriteString(" " + x.Address + "=" + string(x.Reason) + "/" + string(x.Class) + "/" + x.Status + "/" + strconv.Itoa(x.ReplyCode))
	}
	return b.String()
}

// textAfter returns the text of a report from the line that lists addr to the end, or
// fallback when addr is not found.
func textAfter(text, addr, fallback string) string {
	i := indexFold(text, addr)
	if i < 0 {
		return fallback
	}
	if j := strings.LastIndexByte(text[:i], '\n'); j >= 0 {
		i = j + 1
	} else {
		i = 0
	}
	rest := text[i:]
	if k := strings.IndexByte(rest, '\n'); k >= 0 {
		// Drop the listing line's address itself; keep what follows it.
		line := strings.TrimLeft(strings.Replace(rest[:k], addr, "", 1), `<>:"' `)
		rest = line + rest[k:]
	}
	return rest
}

// indexFold is strings.Index ignoring ASCII and Unicode simple case, with byte offsets
// into s (lower-casing s first would shift them).
func indexFold(s, sub string) int {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return i
		}
	}
	return -1
}

// maxClassifyText bounds the text the phrase rules read per recipient: what a server says
// about a recipient is short, and a hostile report must not cost minutes.
const maxClassifyText = 32 << 10

func clip(s string) string {
	if len(s) > maxClassifyText {
		return s[:maxClassifyText]
	}
	return s
}

// commandNear names the SMTP command that a transcript shows right before the first line
// that mentions addr (Sendmail: ">>> RCPT To:<addr>" then "<<< 550 ..."), falling back to
// the first command the text mentions.
func commandNear(text, addr string) string {
	if addr != "" {
		if i := indexFold(text, addr); i >= 0 {
			// Skip a listing of the address before the transcript: look for it after the
			// first command mention.
			locs := commandRe.FindAllStringIndex(asciiLower(text), 64)
			if len(locs) > 0 && i < locs[0][0] {
				if j := indexFold(text[locs[0][0]:], addr); j >= 0 {
					i = locs[0][0] + j
				}
			}
			last := ""
			for _, l := range locs {
				if l[0] > i {
					break
				}
				last = text[l[0]:l[1]]
			}
			if last != "" {
				return smtpCommand(last)
			}
		}
	}
	return smtpCommand(text)
}

// maxDiagnostic bounds the diagnostic text kept for a recipient found in free text.
const maxDiagnostic = 1000

func shorten(s string) string {
	if len(s) <= maxDiagnostic {
		return s
	}
	cut := maxDiagnostic
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "..."
}
