package httpapi

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain/address"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/events"
)

// Postal v1 ("legacy") API: every answer is HTTP 200 with
// {"status": "success"|"error"|"parameter-error", "time": seconds, "flags": {}, "data": {...}}.

// postalSendErrors are Postal's texts for send/message refusals.
var postalSendErrors = map[string]string{
	"NoRecipients":               "There are no recipients defined to receive this message",
	"NoContent":                  "There is no content defined for this e-mail",
	"TooManyToAddresses":         "The maximum number of To addresses has been reached (maximum 50)",
	"TooManyCCAddresses":         "The maximum number of CC addresses has been reached (maximum 50)",
	"TooManyBCCAddresses":        "The maximum number of BCC addresses has been reached (maximum 50)",
	"FromAddressMissing":         "The From address is missing and is required",
	"UnauthenticatedFromAddress": "The From address is not authorised to send mail from this server",
	"AttachmentMissingName":      "An attachment is missing a name",
	"AttachmentMissingData":      "An attachment is missing data",
}

const postalMaxAddresses = 50

func (a *API) routesV1() {
	// Postal routes these for any method; clients use POST.
	for _, m := range []string{"GET", "POST", "PUT", "PATCH"} {
		a.mux.HandleFunc(m+" /api/v1/send/message", a.v1(a.v1SendMessage))
		a.mux.HandleFunc(m+" /api/v1/send/raw", a.v1(a.v1SendRaw))
		a.mux.HandleFunc(m+" /api/v1/messages/message", a.v1(a.v1Message))
		a.mux.HandleFunc(m+" /api/v1/messages/deliveries", a.v1(a.v1Deliveries))
	}
}

// v1Call is one Postal request: its parameters, raw body and caller.
type v1Call struct {
	start  time.Time
	params map[string]any
	raw    []byte
	p      principal
	r      *http.Request
}

func (c *v1Call) elapsed(now time.Time) float64 {
	return math.Round(now.Sub(c.start).Seconds()*1000) / 1000
}

func (a *API) v1Body(c *v1Call, status string, data any) outcome {
	b, _ := json.Marshal(map[string]any{"status": status, "time": c.elapsed(a.cfg.Clock()), "flags": map[string]any{}, "data": data})
	return outcome{Status: http.StatusOK, Type: "application/json", Body: append(b, '\n')}
}

func (a *API) v1Success(c *v1Call, data any) outcome { return a.v1Body(c, "success", data) }

func (a *API) v1Error(c *v1Call, code string, data map[string]any) outcome {
	if data == nil {
		data = map[string]any{}
	}
	data["code"] = code
	return a.v1Body(c, "error", data)
}

// v1AddressError refuses an address parameter (domain/address) in Postal's error shape:
// {"status":"error","data":{"code":"ValidationError","message":…,"field":…,"diagnosis":…}}.
// Postal itself has no code for a malformed address; ValidationError is the one its clients
// already treat as a permanent refusal.
func (a *API) v1AddressError(c *v1Call, field string, err error) outcome {
	data := map[string]any{"message": "The " + field + " address is not a valid email address", "field": field}
	var ae *address.Error
	if errors.As(err, &ae) {
		data["message"] = "The " + field + " address is not a valid email address: " + ae.Diagnosis.Text()
		data["diagnosis"] = ae.Diagnosis.Name()
	}
	return a.v1Error(c, "ValidationError", data)
}

func (a *API) v1ParamError(c *v1Call, msg string) outcome {
	return a.v1Body(c, "parameter-error", map[string]any{"message": msg})
}

// v1 authenticates, reads the parameters (JSON body, or a form "params" field holding JSON)
// and runs h.
func (a *API) v1(h func(c *v1Call) outcome) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &v1Call{start: a.cfg.Clock(), r: r, params: map[string]any{}}
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeOutcome(w, a.v1Error(c, "RequestTooLarge", map[string]any{"message": "The request body is larger than " + strconv.FormatInt(mbe.Limit, 10) + " bytes"}))
				return
			}
			return
		}
		c.raw = raw
		key := r.Header.Get("X-Server-API-Key")
		if key == "" {
			writeOutcome(w, a.v1Error(c, "AccessDenied", map[string]any{"message": "Must be authenticated as a server."}))
			return
		}
		p, err := a.authKey(r.Context(), key)
		switch {
		case errors.Is(err, errBadKey):
			writeOutcome(w, a.v1Error(c, "InvalidServerAPIKey", map[string]any{"message": "The API token provided in X-Server-API-Key was not valid.", "token": key}))
			return
		case err != nil:
			a.log.Error("httpapi: v1 auth", "err", err)
			writeOutcome(w, a.v1Error(c, "InternalError", map[string]any{"message": "The API key could not be checked, try again later"}))
			return
		}
		c.p = p
		if ok, wait := a.allow(p.key); !ok {
			w.Header().Set("Retry-After", retryAfter(wait))
			writeOutcome(w, a.v1Error(c, "TooManyRequests", map[string]any{"message": "Rate limit reached for this API key, retry after " + retryAfter(wait) + "s"}))
			return
		}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			if len(bytes.TrimSpace(raw)) > 0 {
				if err := json.Unmarshal(raw, &c.params); err != nil {
					writeOutcome(w, a.v1ParamError(c, "The request body is not valid JSON: "+err.Error()))
					return
				}
			}
		} else if form, err := url.ParseQuery(string(raw)); err == nil && form.Get("params") != "" {
			if err := json.Unmarshal([]byte(form.Get("params")), &c.params); err != nil {
				writeOutcome(w, a.v1ParamError(c, "The params parameter is not valid JSON: "+err.Error()))
				return
			}
		} else if q := r.URL.Query().Get("params"); q != "" {
			if err := json.Unmarshal([]byte(q), &c.params); err != nil {
				writeOutcome(w, a.v1ParamError(c, "The params parameter is not valid JSON: "+err.Error()))
				return
			}
		}
		if strings.HasPrefix(r.URL.Path, "/api/v1/send/") {
			a.idempotent(w, r, p, raw, func() outcome { return h(c) }, func(k idemConflict) outcome {
				switch k {
				case idemReused:
					return a.v1Error(c, "IdempotencyKeyReused", map[string]any{"message": "The Idempotency-Key was already used for a different request"})
				case idemInFlight:
					return a.v1Error(c, "IdempotencyKeyInUse", map[string]any{"message": "A request with this Idempotency-Key is still being processed, retry later"})
				}
				return a.v1Error(c, "InternalError", map[string]any{"message": "The Idempotency-Key could not be checked, try again later"})
			})
			return
		}
		writeOutcome(w, h(c))
	}
}

// strList reads a parameter that is a string or an array of strings.
func strList(v any) []string {
	switch t := v.(type) {
	case string:
		if strings.TrimSpace(t) == "" {
			return nil
		}
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok && strings.TrimSpace(s) != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func str(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}

func truthy(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case string:
		return t != "" && t != "false" && t != "0"
	case float64:
		return t != 0
	}
	return false
}

// sendFailure maps a refused acceptance to Postal's answer.
func (a *API) v1SendFailure(c *v1Call, err error) outcome {
	if re, ok := replyError(err); ok {
		if re.Code == 550 && re.Enhanced == [3]int{5, 7, 1} {
			return a.v1Error(c, "UnauthenticatedFromAddress", map[string]any{"message": postalSendErrors["UnauthenticatedFromAddress"]})
		}
		if re.Code >= 500 {
			return a.v1Error(c, "ValidationError", map[string]any{"message": re.Text})
		}
		a.log.Warn("httpapi: v1 send refused temporarily", "err", err)
		o := a.v1Error(c, "InternalError", map[string]any{"message": re.Text})
		o.Temporary = true
		return o
	}
	a.log.Error("httpapi: v1 send", "err", err)
	o := a.v1Error(c, "InternalError", map[string]any{"message": "The message could not be stored, try again later"})
	o.Temporary = true
	return o
}

func v1Messages(s sent) map[string]any {
	msgs := map[string]any{}
	for _, r := range s.Recipients {
		msgs[r.Address] = map[string]any{"id": r.ID, "token": r.Token}
	}
	return map[string]any{"message_id": s.MessageID, "messages": msgs}
}

func (a *API) v1SendMessage(c *v1Call) outcome {
	p := c.params
	to, cc, bcc := strList(p["to"]), strList(p["cc"]), strList(p["bcc"])
	var rcpts []string
	var badAddr *outcome // the first refused address, reported after Postal's own checks
	for li, list := range [][]string{to, cc, bcc} {
		for i, s := range list {
			addr, err := parseAddress(s)
			if err != nil {
				if badAddr == nil && strings.TrimSpace(s) != "" {
					o := a.v1AddressError(c, []string{"to", "cc", "bcc"}[li]+"["+strconv.Itoa(i)+"]", err)
					badAddr = &o
				}
				continue
			}
			rcpts = append(rcpts, addr)
		}
	}
	m := composed{From: str(p["from"]), Sender: str(p["sender"]), ReplyTo: str(p["reply_to"]), To: to, Cc: cc,
		Subject: str(p["subject"]), Tag: str(p["tag"]), Plain: str(p["plain_body"]), HTML: str(p["html_body"]),
		Headers: map[string]string{}, Date: a.cfg.Clock().UTC()}
	fail := func(code string) outcome {
		return a.v1Error(c, code, map[string]any{"message": postalSendErrors[code]})
	}
	switch {
	case len(rcpts) == 0 && badAddr == nil:
		return fail("NoRecipients")
	case strings.TrimSpace(m.Plain) == "" && strings.TrimSpace(m.HTML) == "":
		return fail("NoContent")
	case len(to) > postalMaxAddresses:
		return fail("TooManyToAddresses")
	case len(cc) > postalMaxAddresses:
		return fail("TooManyCCAddresses")
	case len(bcc) > postalMaxAddresses:
		return fail("TooManyBCCAddresses")
	case strings.TrimSpace(m.From) == "":
		return fail("FromAddressMissing")
	}
	from, err := parseAddress(m.From)
	if err != nil {
		return a.v1AddressError(c, "from", err)
	}
	if badAddr != nil {
		return *badAddr
	}
	if hs, ok := p["headers"].(map[string]any); ok {
		for k, v := range hs {
			if !validHeaderName(k) {
				return a.v1ParamError(c, "Header name "+strconv.Quote(k)+" is not a valid header field name")
			}
			if reservedHeaders[strings.ToLower(k)] {
				continue
			}
			m.Headers[k] = str(v)
		}
	}
	if list, ok := p["attachments"].([]any); ok {
		for _, x := range list {
			at, ok := x.(map[string]any)
			if !ok {
				continue
			}
			name, data := str(at["name"]), str(at["data"])
			if name == "" {
				return fail("AttachmentMissingName")
			}
			if data == "" {
				return fail("AttachmentMissingData")
			}
			b, err := decodeBase64(data)
			if err != nil {
				return a.v1ParamError(c, "Attachment "+strconv.Quote(name)+" data is not valid base64")
			}
			m.Attachments = append(m.Attachments, attachment{Name: name, ContentType: str(at["content_type"]), Data: b})
		}
	}
	boundary, err := randomToken(a.cfg.Random, 24)
	if err != nil {
		return a.v1SendFailure(c, err)
	}
	mailFrom := from
	if truthy(p["bounce"]) {
		mailFrom = "" // a bounce goes out with the null reverse path
	}
	s, err := a.accept(c.r.Context(), c.p, mailFrom, rcpts, m.build(boundary), clientIP(c.r))
	if err != nil {
		return a.v1SendFailure(c, err)
	}
	return a.v1Success(c, v1Messages(s))
}

// decodeBase64 accepts standard base64 with or without padding and line breaks.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

func (a *API) v1SendRaw(c *v1Call) outcome {
	p := c.params
	rcptList, ok := p["rcpt_to"].([]any)
	if !ok {
		return a.v1ParamError(c, "`rcpt_to` parameter is required but is missing")
	}
	mailFrom := strings.TrimSpace(str(p["mail_from"]))
	if mailFrom == "" {
		return a.v1ParamError(c, "`mail_from` parameter is required but is missing")
	}
	data := str(p["data"])
	if strings.TrimSpace(data) == "" {
		return a.v1ParamError(c, "`data` parameter is required but is missing")
	}
	raw, err := decodeBase64(data)
	if err != nil {
		return a.v1ParamError(c, "`data` parameter is not valid base64")
	}
	var rcpts []string
	for i, x := range rcptList {
		if s, ok := x.(string); ok && strings.TrimSpace(s) != "" {
			addr, err := parseAddress(s)
			if err != nil {
				return a.v1AddressError(c, "rcpt_to["+strconv.Itoa(i)+"]", err)
			}
			rcpts = append(rcpts, addr)
		}
	}
	if len(rcpts) == 0 {
		return a.v1Error(c, "NoRecipients", map[string]any{"message": postalSendErrors["NoRecipients"]})
	}
	addr, err := parseAddress(mailFrom)
	if err != nil {
		return a.v1AddressError(c, "mail_from", err)
	}
	mailFrom = addr
	if truthy(p["bounce"]) {
		mailFrom = ""
	}
	s, err := a.accept(c.r.Context(), c.p, mailFrom, rcpts, toCRLF(raw), clientIP(c.r))
	if err != nil {
		return a.v1SendFailure(c, err)
	}
	return a.v1Success(c, v1Messages(s))
}

// v1Find resolves the "id" parameter to a message of the caller's server.
func (a *API) v1Find(c *v1Call) (*message.Message, int64, string, *outcome) {
	idv, present := c.params["id"]
	if !present || idv == nil || str(idv) == "" {
		o := a.v1ParamError(c, "`id` parameter is required but is missing")
		return nil, 0, "", &o
	}
	var id int64
	switch t := idv.(type) {
	case float64:
		id = int64(t)
	case string:
		id, _ = strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	default:
		o := a.v1ParamError(c, "`id` parameter must be a string or integer")
		return nil, 0, "", &o
	}
	notFound := func() *outcome {
		o := a.v1Error(c, "MessageNotFound", map[string]any{"message": "No message found matching provided ID", "id": idv})
		return &o
	}
	streamID, token, found, err := a.cfg.Store.MessageByID(c.r.Context(), c.p.ServerID, id)
	if err != nil {
		a.log.Error("httpapi: v1 message", "err", err)
		o := a.v1Error(c, "InternalError", map[string]any{"message": "The message could not be read, try again later"})
		return nil, 0, "", &o
	}
	if !found {
		return nil, 0, "", notFound()
	}
	m, err := a.app.Queries.Message(c.r.Context(), c.p.caller, streamID) // another server's answers as missing
	if errors.Is(err, platform.ErrNotFound) {
		return nil, 0, "", notFound()
	}
	if err != nil {
		a.log.Error("httpapi: v1 message", "err", err)
		o := a.v1Error(c, "InternalError", map[string]any{"message": "The message could not be read, try again later"})
		return nil, 0, "", &o
	}
	return m, id, token, nil
}

// postalStatus names a message state the way Postal does.
func postalStatus(s message.Status) string {
	switch s {
	case message.StatusQueued:
		return "Pending"
	case message.StatusHeld:
		return "Held"
	case message.StatusDeferred:
		return "SoftFail"
	case message.StatusDelivered:
		return "Sent"
	case message.StatusBounced:
		return "Bounced"
	default: // expired, cancelled
		return "HardFail"
	}
}

func unixFloat(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return float64(t.UnixMicro()) / 1e6
}

func (a *API) v1Message(c *v1Call) outcome {
	m, id, token, fail := a.v1Find(c)
	if fail != nil {
		return *fail
	}
	want := func(name string) bool {
		switch t := c.params["_expansions"].(type) {
		case bool:
			return t
		case []any:
			for _, x := range t {
				if x == name {
					return true
				}
			}
		}
		return false
	}
	out := map[string]any{"id": id, "token": token}
	if want("status") {
		var last time.Time
		if recs, err := a.app.Queries.MessageEvents(c.r.Context(), c.p.caller, m.ID); err == nil {
			for _, r := range recs {
				if r.Envelope.Type == "message.attempted" {
					last = r.Envelope.OccurredAt
				}
			}
		}
		var expiry any
		if m.Status == message.StatusHeld {
			expiry = unixFloat(m.HoldExpires)
		}
		out["status"] = map[string]any{"status": postalStatus(m.Status), "last_delivery_attempt": unixFloat(last),
			"held": m.Status == message.StatusHeld, "hold_expiry": expiry}
	}
	if want("details") {
		out["details"] = map[string]any{"rcpt_to": m.Queued.RcptTo, "mail_from": m.Queued.MailFrom, "subject": m.Queued.Subject,
			"message_id": strings.Trim(m.Queued.MessageID, "<>"), "timestamp": unixFloat(m.QueuedAt), "direction": "outgoing",
			"size": m.Queued.Size, "bounce": m.Queued.MailFrom == "", "bounce_for_id": 0, "tag": nilIfEmpty(m.Queued.Tag),
			"received_with_ssl": m.Queued.TLS}
	}
	if want("inspection") {
		out["inspection"] = map[string]any{"inspected": false, "spam": false, "spam_score": 0.0, "threat": false, "threat_details": nil}
	}
	needBody := want("plain_body") || want("html_body") || want("attachments") || want("headers") || want("raw_message")
	if needBody {
		raw, err := a.app.Queries.MessageBody(c.r.Context(), c.p.caller, m.ID)
		if err != nil {
			a.log.Error("httpapi: v1 message body", "err", err)
			return a.v1Error(c, "InternalError", map[string]any{"message": "The message body could not be read, try again later"})
		}
		parts := parseBody(raw)
		if want("plain_body") {
			out["plain_body"] = nilIfEmpty(parts.plain)
		}
		if want("html_body") {
			out["html_body"] = nilIfEmpty(parts.html)
		}
		if want("attachments") {
			list := []any{}
			for _, at := range parts.attachments {
				sum := sha1.Sum(at.Data)
				list = append(list, map[string]any{"filename": at.Name, "content_type": at.ContentType,
					"data": base64.StdEncoding.EncodeToString(at.Data), "size": len(at.Data), "hash": hex.EncodeToString(sum[:])})
			}
			out["attachments"] = list
		}
		if want("headers") {
			out["headers"] = parts.headers
		}
		if want("raw_message") {
			out["raw_message"] = base64.StdEncoding.EncodeToString(raw)
		}
	}
	if want("activity_entries") {
		out["activity_entries"] = map[string]any{"loads": []any{}, "clicks": []any{}}
	}
	return a.v1Success(c, out)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (a *API) v1Deliveries(c *v1Call) outcome {
	m, _, _, fail := a.v1Find(c)
	if fail != nil {
		return *fail
	}
	recs, err := a.app.Queries.MessageEvents(c.r.Context(), c.p.caller, m.ID)
	if err != nil {
		a.log.Error("httpapi: v1 deliveries", "err", err)
		return a.v1Error(c, "InternalError", map[string]any{"message": "The deliveries could not be read, try again later"})
	}
	list := []any{}
	for _, r := range recs {
		ev, err := events.Decode(r.Envelope)
		if err != nil {
			continue
		}
		ts := unixFloat(r.Envelope.OccurredAt)
		switch e := ev.(type) {
		case *events.MessageAttempted:
			status := "SoftFail"
			switch {
			case e.ReplyCode >= 200 && e.ReplyCode < 300:
				status = "Sent"
			case e.Result == "bounced" || e.ReplyCode >= 500:
				status = "HardFail"
			}
			details := strings.TrimSpace(strconv.Itoa(e.ReplyCode) + " " + e.ReplyText)
			if e.MXHost != "" {
				details = "Message for " + m.Queued.RcptTo + " accepted by " + e.MXHost + ": " + details
				if status != "Sent" {
					details = "Message for " + m.Queued.RcptTo + " refused by " + e.MXHost + ": " + strconv.Itoa(e.ReplyCode) + " " + e.ReplyText
				}
			}
			list = append(list, map[string]any{"id": r.Envelope.StreamVersion, "status": status, "details": details,
				"output": strings.TrimSpace(strconv.Itoa(e.ReplyCode) + " " + e.ReplyText), "sent_with_ssl": e.TLSVersion != "",
				"log_id": e.TranscriptID, "time": float64(e.DurationMS) / 1000, "timestamp": ts})
		case *events.MessageHeld:
			list = append(list, map[string]any{"id": r.Envelope.StreamVersion, "status": "Held", "details": "Held: " + e.Details,
				"output": nil, "sent_with_ssl": false, "log_id": nil, "time": nil, "timestamp": ts})
		case *events.MessageBounced:
			list = append(list, map[string]any{"id": r.Envelope.StreamVersion, "status": "Bounced", "details": e.Diagnostic,
				"output": nil, "sent_with_ssl": false, "log_id": nil, "time": nil, "timestamp": ts})
		}
	}
	return a.v1Success(c, list)
}

// bodyParts is what the message expansions show of a stored body.
type bodyParts struct {
	plain, html string
	attachments []attachment
	headers     map[string][]string
}

// parseBody walks a MIME message: the first text/plain and text/html parts, and every part
// with a file name or an attachment disposition. Malformed parts are skipped.
func parseBody(raw []byte) bodyParts {
	var out bodyParts
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return out
	}
	out.headers = map[string][]string{}
	for k, v := range msg.Header {
		out.headers[strings.ToLower(k)] = v
	}
	walkPart(&out, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body, 0)
	return out
}

func walkPart(out *bodyParts, ctype, cte, disposition string, body io.Reader, depth int) {
	if depth > 10 {
		return
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		mt, params = "text/plain", map[string]string{}
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			walkPart(out, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-Disposition"), p, depth+1)
		}
	}
	data, err := io.ReadAll(decodeTransfer(cte, body))
	if err != nil {
		return
	}
	dt, dparams, _ := mime.ParseMediaType(disposition)
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if dec, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
		name = dec
	}
	switch {
	case dt == "attachment" || name != "":
		out.attachments = append(out.attachments, attachment{Name: name, ContentType: mt, Data: data})
	case mt == "text/plain" && out.plain == "":
		out.plain = string(data)
	case mt == "text/html" && out.html == "":
		out.html = string(data)
	}
}

func decodeTransfer(cte string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &stripSpace{r: r})
	case "quoted-printable":
		return quotedPrintableReader(r)
	}
	return r
}

// stripSpace drops line breaks and blanks so base64 can be decoded across lines.
type stripSpace struct{ r io.Reader }

func (s *stripSpace) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
