package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/suppression"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/projections/messageview"
)

// Limits of the native API.
const (
	maxBatch        = 1000
	maxSendAddrs    = 1000
	defaultPageSize = 50
	maxPageSize     = 1000
)

// fieldError names one invalid field of a request.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []fieldError `json:"errors,omitempty"`
}

func problemOutcome(status int, typ, title, detail string, errs ...fieldError) outcome {
	b, _ := json.Marshal(problem{Type: "https://posthaste.dev/problems/" + typ, Title: title, Status: status, Detail: detail, Errors: errs})
	return outcome{Status: status, Type: "application/problem+json", Body: append(b, '\n'), Temporary: status >= 500}
}

func writeProblem(w http.ResponseWriter, status int, typ, title, detail string, errs ...fieldError) {
	writeOutcome(w, problemOutcome(status, typ, title, detail, errs...))
}

func jsonOutcome(status int, v any) outcome {
	b, err := json.Marshal(v)
	if err != nil {
		return problemOutcome(http.StatusInternalServerError, "internal", "Internal error", "the response could not be encoded")
	}
	return outcome{Status: status, Type: "application/json", Body: append(b, '\n')}
}

// call is one authenticated /api/v2 request.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	p      principal
	server string // the server the call acts on ("" for an admin without ?server=)
}

// v2 authenticates (Authorization: Bearer KEY|ADMIN_TOKEN, or X-Server-API-Key), applies the
// rate limit and resolves the server in scope. needServer refuses an admin call without one.
func (a *API) v2(needServer bool, h func(c *call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := r.Header.Get("X-Server-API-Key")
		if auth := r.Header.Get("Authorization"); token == "" && auth != "" {
			scheme, v, _ := strings.Cut(auth, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				writeProblem(w, http.StatusUnauthorized, "unauthorized", "Unauthorized", "use Authorization: Bearer <API key or admin token>")
				return
			}
			token = strings.TrimSpace(v)
		}
		c := &call{w: w, r: r}
		switch {
		case token == "":
			w.Header().Set("WWW-Authenticate", `Bearer realm="posthaste"`)
			writeProblem(w, http.StatusUnauthorized, "unauthorized", "Unauthorized", "no API key: send Authorization: Bearer <key>")
			return
		case a.isAdmin(token):
			c.p = principal{caller: a.admin, Admin: true, key: "admin"}
			c.server = r.URL.Query().Get("server")
			if c.server != "" {
				if _, err := tenancy.ParseServerRef(c.server); err != nil {
					writeProblem(w, http.StatusBadRequest, "invalid-request", "Invalid request", "", fieldError{"server", "must be written ORG/NAME"})
					return
				}
			} else if needServer {
				writeProblem(w, http.StatusBadRequest, "invalid-request", "Invalid request", "admin calls name the server", fieldError{"server", "required with the admin token (?server=ORG/NAME)"})
				return
			}
			c.p.ServerID = c.server
		default:
			p, err := a.authKey(r.Context(), token)
			switch {
			case errors.Is(err, errBadKey):
				w.Header().Set("WWW-Authenticate", `Bearer realm="posthaste", error="invalid_token"`)
				writeProblem(w, http.StatusUnauthorized, "unauthorized", "Unauthorized", "the API key is not valid")
				return
			case err != nil:
				a.log.Error("httpapi: v2 auth", "err", err)
				writeProblem(w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the API key could not be checked, try again later")
				return
			}
			c.p, c.server = p, p.ServerID
			if q := r.URL.Query().Get("server"); q != "" && q != p.ServerID {
				writeProblem(w, http.StatusForbidden, "forbidden", "Forbidden", "an API key acts on its own server only")
				return
			}
		}
		if ok, wait := a.allow(c.p.key); !ok {
			w.Header().Set("Retry-After", retryAfter(wait))
			writeProblem(w, http.StatusTooManyRequests, "rate-limited", "Too many requests", "rate limit reached for this key")
			return
		}
		h(c)
	}
}

// caller is who the call runs the application's commands and queries as.
func (c *call) caller() platform.Caller { return c.p.caller }

// inScope reports whether a thing of serverID is on the server the call acts on: an API key's
// caller is scoped by the application already; the admin token's (an operator) is scoped to
// ?server= here.
func (c *call) inScope(serverID string) bool { return serverID == c.server }

func (c *call) serverRef() tenancy.ServerRef {
	ref, _ := tenancy.ParseServerRef(c.server)
	return ref
}

// readJSON decodes the body into v (unknown fields refused); it writes the problem itself.
func readJSON(w http.ResponseWriter, raw []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field := ""
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field = te.Field
		}
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			field = strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			writeProblem(w, http.StatusBadRequest, "invalid-request", "Invalid request", "", fieldError{field, "unknown field"})
			return false
		}
		writeProblem(w, http.StatusBadRequest, "invalid-request", "Invalid request", "the body is not valid JSON for this endpoint", fieldError{field, err.Error()})
		return false
	}
	return true
}

// readBody reads the whole body; 413 above the limit.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "too-large", "Request too large", "the body is larger than "+strconv.FormatInt(mbe.Limit, 10)+" bytes")
			return nil, false
		}
		return nil, false
	}
	return raw, true
}

// handleV2 registers one /api/v2 route (and remembers it for V2Routes).
func (a *API) handleV2(pattern string, h http.HandlerFunc) {
	a.routes = append(a.routes, pattern)
	a.mux.HandleFunc(pattern, h)
}

// V2Routes lists the method and path pattern of every /api/v2 route this API serves.
func (a *API) V2Routes() []string { return append([]string(nil), a.routes...) }

func (a *API) routesV2() {
	a.handleV2("GET /api/v2/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPIDoc)
	})
	a.handleV2("POST /api/v2/send", a.v2(true, a.v2Send))
	a.handleV2("POST /api/v2/send/batch", a.v2(true, a.v2SendBatch))
	a.handleV2("GET /api/v2/messages", a.v2(true, a.v2Messages))
	a.handleV2("GET /api/v2/messages/{id}", a.v2(true, a.v2Message))
	a.handleV2("GET /api/v2/messages/{id}/events", a.v2(true, a.v2MessageEvents))
	a.handleV2("POST /api/v2/messages/{id}/release", a.v2(true, a.v2Release))
	a.handleV2("POST /api/v2/messages/{id}/cancel-hold", a.v2(true, a.v2CancelHold))
	a.handleV2("POST /api/v2/messages/bulk", a.v2(true, a.v2Bulk))
	a.handleV2("GET /api/v2/suppressions", a.v2(true, a.v2Suppressions))
	a.handleV2("GET /api/v2/suppressions.csv", a.v2(true, a.v2SuppressionsCSV))
	a.handleV2("POST /api/v2/suppressions", a.v2(true, a.v2AddSuppression))
	a.handleV2("DELETE /api/v2/suppressions/{address}", a.v2(true, a.v2RemoveSuppression))
	a.handleV2("GET /api/v2/domains", a.v2(true, a.v2Domains))
	a.handleV2("GET /api/v2/domains/{name}/dns", a.v2(true, a.v2DomainDNS))
	a.handleV2("POST /api/v2/domains/{name}/verify", a.v2(true, a.v2VerifyDomain))
	a.handleV2("GET /api/v2/credentials", a.v2(true, a.v2Credentials))
	a.handleV2("POST /api/v2/credentials", a.v2(true, a.v2CreateCredential))
	a.handleV2("DELETE /api/v2/credentials/{id}", a.v2(true, a.v2RevokeCredential))
	a.handleV2("GET /api/v2/server", a.v2(true, a.v2Server))
	a.handleV2("GET /api/v2/stats", a.v2(true, a.v2Stats))
	a.mux.HandleFunc("/api/v2/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "not-found", "Not found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
}

// ---- send ----

type v2Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        string `json:"data"`
}

type v2SendRequest struct {
	From        string            `json:"from"`
	To          []string          `json:"to"`
	Cc          []string          `json:"cc"`
	Bcc         []string          `json:"bcc"`
	ReplyTo     string            `json:"reply_to"`
	Subject     string            `json:"subject"`
	Text        string            `json:"text"`
	HTML        string            `json:"html"`
	Tag         string            `json:"tag"`
	Headers     map[string]string `json:"headers"`
	Attachments []v2Attachment    `json:"attachments"`
}

type v2Sent struct {
	Recipient string `json:"recipient"`
	ID        string `json:"id"`
	PostalID  int64  `json:"postal_id"`
	Token     string `json:"token"`
}

type v2SendResponse struct {
	MessageID string   `json:"message_id"`
	Messages  []v2Sent `json:"messages"`
}

// validateContent checks the fields a single send and a batch share.
func validateContent(from, subject, text, html string, headers map[string]string, atts []v2Attachment) ([]attachment, []fieldError) {
	var errs []fieldError
	if strings.TrimSpace(from) == "" {
		errs = append(errs, fieldError{"from", "required"})
	} else if _, err := parseAddress(from); err != nil {
		errs = append(errs, fieldError{"from", addressProblem(err)})
	}
	if strings.TrimSpace(subject) == "" {
		errs = append(errs, fieldError{"subject", "required"})
	}
	if strings.TrimSpace(text) == "" && strings.TrimSpace(html) == "" {
		errs = append(errs, fieldError{"text", "text or html is required"})
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !validHeaderName(k) {
			errs = append(errs, fieldError{"headers." + k, "not a valid header field name"})
		} else if reservedHeaders[strings.ToLower(k)] {
			errs = append(errs, fieldError{"headers." + k, "set by its own field"})
		}
	}
	var out []attachment
	for i, at := range atts {
		f := "attachments[" + strconv.Itoa(i) + "]"
		if at.Name == "" {
			errs = append(errs, fieldError{f + ".name", "required"})
		}
		b, err := decodeBase64(at.Data)
		if at.Data == "" || err != nil {
			errs = append(errs, fieldError{f + ".data", "required, base64"})
		}
		out = append(out, attachment{Name: at.Name, ContentType: at.ContentType, Data: b})
	}
	return out, errs
}

// checkReplyTo: reply_to is optional, but when given it must be an address (domain/address).
func checkReplyTo(s string, errs []fieldError) []fieldError {
	if strings.TrimSpace(s) == "" {
		return errs
	}
	if _, err := parseAddress(s); err != nil {
		errs = append(errs, fieldError{"reply_to", addressProblem(err)})
	}
	return errs
}

func checkAddresses(field string, list []string, errs []fieldError) ([]string, []fieldError) {
	var out []string
	for i, s := range list {
		addr, err := parseAddress(s)
		if err != nil {
			errs = append(errs, fieldError{field + "[" + strconv.Itoa(i) + "]", addressProblem(err)})
			continue
		}
		out = append(out, addr)
	}
	return out, errs
}

// sendFailure maps a refused acceptance to a problem.
func (a *API) v2SendFailure(err error) outcome {
	if re, ok := replyError(err); ok {
		if re.Code == 550 && re.Enhanced == [3]int{5, 7, 1} {
			return problemOutcome(http.StatusUnprocessableEntity, "unauthenticated-from", "From address not authorised", re.Text, fieldError{"from", re.Text})
		}
		if re.Code >= 500 {
			return problemOutcome(http.StatusUnprocessableEntity, "message-refused", "Message refused", re.Text)
		}
		a.log.Warn("httpapi: v2 send refused temporarily", "err", err)
		return problemOutcome(http.StatusServiceUnavailable, "unavailable", "Service unavailable", re.Text)
	}
	a.log.Error("httpapi: v2 send", "err", err)
	return problemOutcome(http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the message could not be stored, try again later")
}

func (a *API) v2Send(c *call) {
	raw, ok := readBody(c.w, c.r)
	if !ok {
		return
	}
	var req v2SendRequest
	if !readJSON(c.w, raw, &req) {
		return
	}
	atts, errs := validateContent(req.From, req.Subject, req.Text, req.HTML, req.Headers, req.Attachments)
	errs = checkReplyTo(req.ReplyTo, errs)
	var rcpts []string
	var part []string
	part, errs = checkAddresses("to", req.To, errs)
	rcpts = append(rcpts, part...)
	part, errs = checkAddresses("cc", req.Cc, errs)
	rcpts = append(rcpts, part...)
	part, errs = checkAddresses("bcc", req.Bcc, errs)
	rcpts = append(rcpts, part...)
	if len(req.To)+len(req.Cc)+len(req.Bcc) == 0 {
		errs = append(errs, fieldError{"to", "at least one recipient (to, cc or bcc) is required"})
	}
	if len(rcpts) > maxSendAddrs {
		errs = append(errs, fieldError{"to", "at most " + strconv.Itoa(maxSendAddrs) + " recipients"})
	}
	if len(errs) > 0 {
		writeProblem(c.w, http.StatusUnprocessableEntity, "invalid-fields", "Invalid fields", "", errs...)
		return
	}
	a.idempotent(c.w, c.r, c.p, raw, func() outcome {
		from, _ := bareAddress(req.From)
		m := composed{From: req.From, To: req.To, Cc: req.Cc, ReplyTo: req.ReplyTo, Subject: req.Subject, Tag: req.Tag,
			Plain: req.Text, HTML: req.HTML, Attachments: atts, Headers: req.Headers, Date: a.cfg.Clock().UTC()}
		boundary, err := randomToken(a.cfg.Random, 24)
		if err != nil {
			return a.v2SendFailure(err)
		}
		s, err := a.accept(c.r.Context(), c.p, from, rcpts, m.build(boundary), clientIP(c.r))
		if err != nil {
			return a.v2SendFailure(err)
		}
		return jsonOutcome(http.StatusAccepted, toV2Sent(s))
	}, a.v2IdemConflict)
}

func toV2Sent(s sent) v2SendResponse {
	out := v2SendResponse{MessageID: s.MessageID, Messages: []v2Sent{}}
	for _, r := range s.Recipients {
		out.Messages = append(out.Messages, v2Sent{Recipient: r.Address, ID: r.StreamID, PostalID: r.ID, Token: r.Token})
	}
	return out
}

func (a *API) v2IdemConflict(k idemConflict) outcome {
	switch k {
	case idemReused:
		return problemOutcome(http.StatusUnprocessableEntity, "idempotency-key-reused", "Idempotency key reused",
			"this Idempotency-Key was used for a different request", fieldError{"Idempotency-Key", "used for a different request body"})
	case idemInFlight:
		o := problemOutcome(http.StatusConflict, "idempotency-key-in-use", "Idempotency key in use", "a request with this Idempotency-Key is still being processed; retry later")
		o.Temporary = true
		return o
	}
	return problemOutcome(http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the Idempotency-Key could not be checked, try again later")
}

type v2BatchRecipient struct {
	To        string            `json:"to"`
	Variables map[string]string `json:"variables"`
}

type v2BatchRequest struct {
	From        string             `json:"from"`
	ReplyTo     string             `json:"reply_to"`
	Subject     string             `json:"subject"`
	Text        string             `json:"text"`
	HTML        string             `json:"html"`
	Tag         string             `json:"tag"`
	Headers     map[string]string  `json:"headers"`
	Attachments []v2Attachment     `json:"attachments"`
	Recipients  []v2BatchRecipient `json:"recipients"`
}

type v2BatchResult struct {
	Recipient string        `json:"recipient"`
	Status    string        `json:"status"` // accepted, refused
	MessageID string        `json:"message_id,omitempty"`
	ID        string        `json:"id,omitempty"`
	PostalID  int64         `json:"postal_id,omitempty"`
	Token     string        `json:"token,omitempty"`
	Error     *problemBrief `json:"error,omitempty"`
}

type problemBrief struct {
	Type   string `json:"type"`
	Detail string `json:"detail"`
}

var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}`)

// substitute replaces {{name}} by vars[name] ("" when missing); escape applies to the value
// (HTML escaping for the html part).
func substitute(s string, vars map[string]string, escape func(string) string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		v := vars[placeholder.FindStringSubmatch(m)[1]]
		if escape != nil {
			return escape(v)
		}
		return v
	})
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

func (a *API) v2SendBatch(c *call) {
	raw, ok := readBody(c.w, c.r)
	if !ok {
		return
	}
	var req v2BatchRequest
	if !readJSON(c.w, raw, &req) {
		return
	}
	atts, errs := validateContent(req.From, req.Subject, req.Text, req.HTML, req.Headers, req.Attachments)
	errs = checkReplyTo(req.ReplyTo, errs)
	switch {
	case len(req.Recipients) == 0:
		errs = append(errs, fieldError{"recipients", "at least one recipient is required"})
	case len(req.Recipients) > maxBatch:
		errs = append(errs, fieldError{"recipients", "at most " + strconv.Itoa(maxBatch) + " recipients per batch"})
	}
	for i, r := range req.Recipients {
		if _, err := parseAddress(r.To); err != nil {
			errs = append(errs, fieldError{"recipients[" + strconv.Itoa(i) + "].to", addressProblem(err)})
		}
	}
	if len(errs) > 0 {
		writeProblem(c.w, http.StatusUnprocessableEntity, "invalid-fields", "Invalid fields", "", errs...)
		return
	}
	a.idempotent(c.w, c.r, c.p, raw, func() outcome {
		from, _ := bareAddress(req.From)
		results := make([]v2BatchResult, 0, len(req.Recipients))
		accepted := 0
		for _, r := range req.Recipients {
			addr, _ := bareAddress(r.To)
			m := composed{From: req.From, To: []string{r.To}, ReplyTo: req.ReplyTo, Tag: req.Tag, Attachments: atts, Headers: req.Headers,
				Subject: substitute(req.Subject, r.Variables, nil), Plain: substitute(req.Text, r.Variables, nil),
				HTML: substitute(req.HTML, r.Variables, htmlEscaper.Replace), Date: a.cfg.Clock().UTC()}
			boundary, err := randomToken(a.cfg.Random, 24)
			var s sent
			if err == nil {
				s, err = a.accept(c.r.Context(), c.p, from, []string{addr}, m.build(boundary), clientIP(c.r))
			}
			if err != nil {
				o := a.v2SendFailure(err)
				var p problem
				json.Unmarshal(o.Body, &p)
				results = append(results, v2BatchResult{Recipient: r.To, Status: "refused", Error: &problemBrief{Type: p.Type, Detail: p.Detail}})
				if o.Temporary && accepted == 0 {
					return o // nothing accepted yet: the whole batch may be retried
				}
				continue
			}
			accepted++
			results = append(results, v2BatchResult{Recipient: r.To, Status: "accepted", MessageID: s.MessageID,
				ID: s.Recipients[0].StreamID, PostalID: s.Recipients[0].ID, Token: s.Recipients[0].Token})
		}
		return jsonOutcome(http.StatusAccepted, map[string]any{"accepted": accepted, "refused": len(results) - accepted, "results": results})
	}, a.v2IdemConflict)
}

// ---- messages ----

// v2MessageSummary is one row of a listing (the message view's row, as it always was encoded).
type v2MessageSummary struct {
	ID            string    `json:"id"`
	Server        string    `json:"server"`
	Status        string    `json:"status"`
	RcptTo        string    `json:"rcpt_to"`
	MailFrom      string    `json:"mail_from"`
	HeaderFrom    string    `json:"header_from"`
	Subject       string    `json:"subject"`
	Tag           string    `json:"tag"`
	MessageID     string    `json:"message_id_header"`
	Size          int64     `json:"size"`
	SubmissionID  string    `json:"submission_id"`
	QueuedAt      time.Time `json:"queued_at"`
	LastEventAt   time.Time `json:"last_event_at"`
	Attempts      int       `json:"attempts"`
	LastReplyCode int       `json:"last_reply_code,omitempty"`
	LastReply     string    `json:"last_reply,omitempty"`
	BounceReason  string    `json:"bounce_reason,omitempty"`
	BounceClass   string    `json:"bounce_class,omitempty"`
	HoldReason    string    `json:"held_reason,omitempty"`
}

func toV2Summary(m message.Summary) v2MessageSummary {
	return v2MessageSummary{ID: m.ID, Server: m.ServerID, Status: string(m.Status), RcptTo: m.RcptTo, MailFrom: m.MailFrom,
		HeaderFrom: m.HeaderFrom, Subject: m.Subject, Tag: m.Tag, MessageID: m.MessageIDHeader, Size: m.Size,
		SubmissionID: m.SubmissionID, QueuedAt: m.QueuedAt, LastEventAt: m.LastEventAt, Attempts: m.Attempts,
		LastReplyCode: m.LastReplyCode, LastReply: m.LastReply, BounceReason: m.BounceReason, BounceClass: m.BounceClass,
		HoldReason: m.HoldReason}
}

// checkMessageQuery names what is wrong with q (the operators' search syntax) as the field
// name: the application refuses the same, but the API names every bad field of a request at once.
func checkMessageQuery(name, q string, errs []fieldError) []fieldError {
	if _, err := messageview.ParseQuery(q); err != nil {
		errs = append(errs, fieldError{name, err.Error()})
	}
	return errs
}

func (a *API) v2Messages(c *call) {
	q := c.r.URL.Query()
	errs := checkMessageQuery("q", q.Get("q"), nil)
	limit, lerr := pageLimit(q.Get("limit"))
	if lerr != nil {
		errs = append(errs, *lerr)
	}
	req := platform.MessageQuery{Query: q.Get("q"), Limit: limit, Cursor: q.Get("cursor"), Oldest: q.Get("order") == "oldest"}
	if o := q.Get("order"); o != "" && o != "oldest" && o != "newest" {
		errs = append(errs, fieldError{"order", "oldest or newest"})
	}
	if req.Cursor != "" {
		if _, err := messageview.DecodeCursor(req.Cursor); err != nil {
			errs = append(errs, fieldError{"cursor", "not a cursor returned by this endpoint"})
		}
	}
	if len(errs) > 0 {
		writeProblem(c.w, http.StatusBadRequest, "invalid-query", "Invalid query", "", errs...)
		return
	}
	page, err := a.app.Queries.Messages(c.r.Context(), c.caller(), c.server, req)
	switch {
	case errors.Is(err, platform.ErrNotConfigured):
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "message search is not configured")
		return
	case errors.Is(err, platform.ErrNotFound):
		a.tenancyFailure(c, err, "server")
		return
	case err != nil:
		a.log.Error("httpapi: search", "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "search failed, try again later")
		return
	}
	msgs := make([]v2MessageSummary, 0, len(page.Messages))
	for _, m := range page.Messages {
		msgs = append(msgs, toV2Summary(m))
	}
	out := map[string]any{"messages": msgs, "next_cursor": nil}
	if page.Next != "" {
		out["next_cursor"] = page.Next
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, out))
}

func pageLimit(v string) (int, *fieldError) {
	if v == "" {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPageSize {
		return 0, &fieldError{"limit", "an integer 1.." + strconv.Itoa(maxPageSize)}
	}
	return n, nil
}

// loadMessage reads a message of the server in scope; it writes 404 for any other.
func (a *API) loadMessage(c *call) (*message.Message, bool) {
	id := c.r.PathValue("id")
	m, err := a.app.Queries.Message(c.r.Context(), c.caller(), id)
	if err == nil && !c.inScope(m.ServerID) {
		err = &platform.NotFoundError{Kind: "message", Name: id}
	}
	return m, a.messageFailure(c, id, err)
}

// messageFailure writes the answer of a failed message read (nothing when err is nil) and
// reports whether there was none.
func (a *API) messageFailure(c *call, id string, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, platform.ErrNotFound):
		writeProblem(c.w, http.StatusNotFound, "not-found", "Message not found", "no message "+id+" on this server")
	default:
		a.log.Error("httpapi: message", "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the message could not be read")
	}
	return false
}

type v2MessageView struct {
	ID            string     `json:"id"`
	PostalID      *int64     `json:"postal_id"`
	Server        string     `json:"server"`
	Status        string     `json:"status"`
	RcptTo        string     `json:"rcpt_to"`
	MailFrom      string     `json:"mail_from"`
	HeaderFrom    string     `json:"header_from"`
	Subject       string     `json:"subject"`
	Tag           string     `json:"tag"`
	MessageID     string     `json:"message_id_header"`
	Size          int64      `json:"size"`
	SubmissionID  string     `json:"submission_id"`
	QueuedAt      time.Time  `json:"queued_at"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	HoldReason    string     `json:"hold_reason,omitempty"`
	HoldExpires   *time.Time `json:"hold_expires,omitempty"`
	LastReplyCode int        `json:"last_reply_code,omitempty"`
	LastReply     string     `json:"last_reply,omitempty"`
	BounceReason  string     `json:"bounce_reason,omitempty"`
	BounceClass   string     `json:"bounce_class,omitempty"`
}

func (a *API) viewOf(ctx context.Context, m *message.Message) v2MessageView {
	v := v2MessageView{ID: m.ID, Server: m.ServerID, Status: string(m.Status), RcptTo: m.Queued.RcptTo, MailFrom: m.Queued.MailFrom,
		HeaderFrom: m.Queued.HeaderFrom, Subject: m.Queued.Subject, Tag: m.Queued.Tag, MessageID: m.Queued.MessageID,
		Size: m.Queued.Size, SubmissionID: m.Queued.SubmissionID, QueuedAt: m.QueuedAt, Attempts: m.Attempts, HoldReason: m.HoldReason}
	if id, _, found, err := a.cfg.Store.IDOf(ctx, m.ID); err == nil && found {
		v.PostalID = &id
	}
	if !m.NextAttemptAt.IsZero() {
		t := m.NextAttemptAt
		v.NextAttemptAt = &t
	}
	if m.Status == message.StatusHeld && !m.HoldExpires.IsZero() {
		t := m.HoldExpires
		v.HoldExpires = &t
	}
	if m.LastAttempt != nil {
		v.LastReplyCode, v.LastReply = m.LastAttempt.ReplyCode, m.LastAttempt.ReplyText
	}
	if m.Bounce != nil {
		v.BounceReason, v.BounceClass = m.Bounce.Reason, m.Bounce.Class
	}
	return v
}

func (a *API) v2Message(c *call) {
	m, ok := a.loadMessage(c)
	if !ok {
		return
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, a.viewOf(c.r.Context(), m)))
}

type v2Event struct {
	Version    int64           `json:"version"`
	ID         string          `json:"event_id"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"`
	Actor      string          `json:"actor"`
	Payload    json.RawMessage `json:"payload"`
}

func (a *API) v2MessageEvents(c *call) {
	m, ok := a.loadMessage(c)
	if !ok {
		return
	}
	recs, err := a.app.Queries.MessageEvents(c.r.Context(), c.caller(), m.ID)
	if err != nil {
		a.log.Error("httpapi: message events", "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the events could not be read")
		return
	}
	out := make([]v2Event, 0, len(recs))
	for _, r := range recs {
		e := r.Envelope
		out = append(out, v2Event{Version: e.StreamVersion, ID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt, Actor: e.Actor.String(), Payload: e.Payload})
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, map[string]any{"id": m.ID, "events": out}))
}

// holdCommand runs a hold command (Commands.ReleaseHold or CancelHold: a release wakes the
// delivery workers) on a message of the server in scope and answers the message after it.
func (a *API) holdCommand(c *call, run func(ctx context.Context, caller platform.Caller, id string) (*message.Message, error)) {
	m, ok := a.loadMessage(c)
	if !ok {
		return
	}
	m, err := run(c.r.Context(), c.caller(), m.ID)
	switch {
	case errors.Is(err, message.ErrNotHeld):
		writeProblem(c.w, http.StatusConflict, "not-held", "Message is not held", err.Error())
		return
	case err != nil:
		a.log.Error("httpapi: hold command", "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the command could not be stored, try again")
		return
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, a.viewOf(c.r.Context(), m)))
}

func (a *API) v2Release(c *call)    { a.holdCommand(c, a.app.Commands.ReleaseHold) }
func (a *API) v2CancelHold(c *call) { a.holdCommand(c, a.app.Commands.CancelHold) }

// ---- suppressions ----

type v2Suppression struct {
	Address   string     `json:"address"`
	Reason    string     `json:"reason"`
	CausedBy  string     `json:"caused_by,omitempty"`
	AddedAt   time.Time  `json:"added_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func toV2Suppression(e suppression.Entry) v2Suppression {
	return v2Suppression{Address: e.Address, Reason: e.Reason, CausedBy: e.CausedBy, AddedAt: e.AddedAt, ExpiresAt: e.ExpiresAt}
}

func (a *API) v2Suppressions(c *call) {
	q := c.r.URL.Query()
	limit, ferr := pageLimit(q.Get("limit"))
	var after string
	if cur := q.Get("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil {
			ferr = &fieldError{"cursor", "not a cursor returned by this endpoint"}
		}
		after = string(b)
	}
	if ferr != nil {
		writeProblem(c.w, http.StatusBadRequest, "invalid-query", "Invalid query", "", *ferr)
		return
	}
	list, err := a.app.Queries.Suppressions(c.r.Context(), c.caller(), c.server, false)
	if errors.Is(err, platform.ErrNotFound) {
		a.tenancyFailure(c, err, "server")
		return
	}
	if err != nil {
		a.log.Error("httpapi: suppressions", "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the suppression list could not be read")
		return
	}
	out := []v2Suppression{}
	var next any
	for _, e := range list { // sorted by address
		if after != "" && e.Address <= after {
			continue
		}
		if len(out) == limit {
			next = base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].Address))
			break
		}
		out = append(out, toV2Suppression(e))
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, map[string]any{"suppressions": out, "next_cursor": next}))
}

func (a *API) v2SuppressionsCSV(c *call) {
	list, err := a.app.Queries.Suppressions(c.r.Context(), c.caller(), c.server, false)
	if errors.Is(err, platform.ErrNotFound) {
		a.tenancyFailure(c, err, "server")
		return
	}
	if err != nil {
		a.log.Error("httpapi: suppressions csv", "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the suppression list could not be read")
		return
	}
	c.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	c.w.Header().Set("Content-Disposition", `attachment; filename="suppressions.csv"`)
	cw := csv.NewWriter(c.w)
	cw.Write([]string{"address", "reason", "caused_by", "added_at", "expires_at"})
	for _, e := range list {
		exp := ""
		if e.ExpiresAt != nil {
			exp = e.ExpiresAt.UTC().Format(time.RFC3339)
		}
		cw.Write([]string{csvSafe(e.Address), csvSafe(e.Reason), csvSafe(e.CausedBy), e.AddedAt.UTC().Format(time.RFC3339), exp})
	}
	cw.Flush()
}

// csvSafe keeps spreadsheet programs from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

type v2AddSuppressionRequest struct {
	Address string `json:"address"`
	Reason  string `json:"reason"`
	TTL     string `json:"ttl"` // Go duration ("720h"); "" = permanent
}

func (a *API) v2AddSuppression(c *call) {
	raw, ok := readBody(c.w, c.r)
	if !ok {
		return
	}
	var req v2AddSuppressionRequest
	if !readJSON(c.w, raw, &req) {
		return
	}
	var errs []fieldError
	addr, err := parseAddress(req.Address)
	if err != nil {
		errs = append(errs, fieldError{"address", addressProblem(err)})
	}
	var ttl time.Duration
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			errs = append(errs, fieldError{"ttl", "a positive duration like 720h"})
		}
		ttl = d
	}
	if req.Reason == "" {
		req.Reason = "manual"
	}
	if len(errs) > 0 {
		writeProblem(c.w, http.StatusUnprocessableEntity, "invalid-fields", "Invalid fields", "", errs...)
		return
	}
	e, err := a.app.Commands.AddSuppression(c.r.Context(), c.caller(),
		platform.AddSuppression{Server: c.server, Address: addr, Reason: req.Reason, CausedBy: "api", TTL: ttl})
	switch {
	case errors.Is(err, suppression.ErrBadAddress):
		writeProblem(c.w, http.StatusUnprocessableEntity, "invalid-fields", "Invalid fields", "", fieldError{"address", err.Error()})
		return
	case errors.Is(err, platform.ErrNotFound):
		a.tenancyFailure(c, err, "server")
		return
	case err != nil:
		a.log.Error("httpapi: add suppression", "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the suppression could not be stored")
		return
	}
	writeOutcome(c.w, jsonOutcome(http.StatusCreated, toV2Suppression(e)))
}

func (a *API) v2RemoveSuppression(c *call) {
	addr := c.r.PathValue("address")
	err := a.app.Commands.RemoveSuppression(c.r.Context(), c.caller(), c.server, addr, "removed through the API")
	switch {
	case errors.Is(err, platform.ErrNotFound):
		a.tenancyFailure(c, err, "server")
	case errors.Is(err, suppression.ErrNotSuppressed) || errors.Is(err, suppression.ErrBadAddress):
		writeProblem(c.w, http.StatusNotFound, "not-found", "Not suppressed", addr+" is not on this server's suppression list")
	case err != nil:
		a.log.Error("httpapi: remove suppression", "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the removal could not be stored")
	default:
		c.w.WriteHeader(http.StatusNoContent)
	}
}

// ---- domains, credentials, server, stats ----

type v2Domain struct {
	Name          string     `json:"name"`
	Verified      bool       `json:"verified"`
	VerifiedAt    *time.Time `json:"verified_at"`
	DKIMSelectors []string   `json:"dkim_selectors"`
	CreatedAt     time.Time  `json:"created_at"`
}

func toV2Domain(d tenancy.SendingDomain) v2Domain {
	out := v2Domain{Name: d.Name, Verified: d.Verified, CreatedAt: d.CreatedAt, DKIMSelectors: []string{}}
	if !d.VerifiedAt.IsZero() {
		t := d.VerifiedAt
		out.VerifiedAt = &t
	}
	for _, k := range d.Keys {
		out.DKIMSelectors = append(out.DKIMSelectors, k.Selector)
	}
	return out
}

// tenancyFailure answers a failed tenancy command or query (servers, domains, credentials).
func (a *API) tenancyFailure(c *call, err error, what string) {
	switch {
	case errors.Is(err, platform.ErrNotFound) || errors.Is(err, tenancy.ErrNotFound):
		writeProblem(c.w, http.StatusNotFound, "not-found", "Not found", what+" not found")
	case errors.Is(err, platform.ErrInvalid) || errors.Is(err, tenancy.ErrInvalid):
		writeProblem(c.w, http.StatusUnprocessableEntity, "invalid-fields", "Invalid request", err.Error())
	case errors.Is(err, platform.ErrForbidden):
		writeProblem(c.w, http.StatusForbidden, "forbidden", "Forbidden", err.Error())
	default:
		a.log.Error("httpapi: "+what, "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", what+" could not be read or stored")
	}
}

func (a *API) v2Domains(c *call) {
	ds, err := a.app.Queries.Domains(c.r.Context(), c.caller(), c.server)
	if err != nil {
		a.tenancyFailure(c, err, "server")
		return
	}
	out := make([]v2Domain, 0, len(ds))
	for _, d := range ds {
		out = append(out, toV2Domain(d))
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, map[string]any{"domains": out}))
}

// domainOfServer loads a domain and checks it belongs to the server in scope.
func (a *API) domainOfServer(c *call) (tenancy.SendingDomain, []tenancy.DNSRecord, bool) {
	d, recs, err := a.app.Queries.Domain(c.r.Context(), c.caller(), c.r.PathValue("name"))
	if err == nil && !c.inScope(d.ServerID) {
		err = tenancy.ErrNotFound
	}
	if err != nil {
		a.tenancyFailure(c, err, "domain")
		return d, nil, false
	}
	return d, recs, true
}

func (a *API) v2DomainDNS(c *call) {
	d, recs, ok := a.domainOfServer(c)
	if !ok {
		return
	}
	if recs == nil {
		recs = []tenancy.DNSRecord{}
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, map[string]any{"domain": toV2Domain(d), "records": recs}))
}

func (a *API) v2VerifyDomain(c *call) {
	d, _, ok := a.domainOfServer(c)
	if !ok {
		return
	}
	res, err := a.app.Commands.VerifyDomain(c.r.Context(), c.caller(), d.Name)
	if err != nil {
		a.tenancyFailure(c, err, "domain")
		return
	}
	checks := make([]map[string]any, 0, len(res.Checks))
	for _, ch := range res.Checks {
		b, _ := json.Marshal(ch)
		var m map[string]any
		json.Unmarshal(b, &m)
		checks = append(checks, m)
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, map[string]any{"domain": toV2Domain(res.Domain), "verified": res.Verified, "all_ok": res.AllOK, "checks": checks}))
}

type v2Credential struct {
	ID        string     `json:"id"`
	Type      string     `json:"type"`
	Name      string     `json:"name"`
	Username  string     `json:"username,omitempty"`
	KeyPrefix string     `json:"key_prefix,omitempty"`
	CIDR      string     `json:"cidr,omitempty"`
	Hold      bool       `json:"hold"`
	Revoked   bool       `json:"revoked"`
	RevokedAt *time.Time `json:"revoked_at"`
	CreatedAt time.Time  `json:"created_at"`
	Password  string     `json:"password,omitempty"` // shown once, at creation
	Key       string     `json:"key,omitempty"`      // shown once, at creation
}

func toV2Credential(cr tenancy.Credential) v2Credential {
	out := v2Credential{ID: cr.ID, Type: cr.Type, Name: cr.Name, Username: cr.Username, KeyPrefix: cr.KeyPrefix, CIDR: cr.CIDR,
		Hold: cr.Hold, Revoked: cr.Revoked, CreatedAt: cr.CreatedAt}
	if cr.Revoked {
		t := cr.RevokedAt
		out.RevokedAt = &t
	}
	return out
}

func (a *API) v2Credentials(c *call) {
	cs, err := a.app.Queries.Credentials(c.r.Context(), c.caller(), c.server)
	if err != nil {
		a.tenancyFailure(c, err, "server")
		return
	}
	out := make([]v2Credential, 0, len(cs))
	for _, cr := range cs {
		out = append(out, toV2Credential(cr))
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, map[string]any{"credentials": out}))
}

type v2CreateCredentialRequest struct {
	Type string `json:"type"`
	Name string `json:"name"`
	CIDR string `json:"cidr"`
	Hold bool   `json:"hold"`
}

func (a *API) v2CreateCredential(c *call) {
	raw, ok := readBody(c.w, c.r)
	if !ok {
		return
	}
	var req v2CreateCredentialRequest
	if !readJSON(c.w, raw, &req) {
		return
	}
	var errs []fieldError
	switch req.Type {
	case tenancy.CredentialSMTP, tenancy.CredentialAPI:
		if req.CIDR != "" {
			errs = append(errs, fieldError{"cidr", "applies to smtp-ip credentials only"})
		}
	case tenancy.CredentialSMTPIP:
		if req.CIDR == "" {
			errs = append(errs, fieldError{"cidr", "required for smtp-ip credentials"})
		}
	default:
		errs = append(errs, fieldError{"type", "one of smtp, api, smtp-ip"})
	}
	if len(errs) > 0 {
		writeProblem(c.w, http.StatusUnprocessableEntity, "invalid-fields", "Invalid fields", "", errs...)
		return
	}
	nc, err := a.app.Commands.CreateCredential(c.r.Context(), c.caller(), tenancy.CreateCredential{Server: c.serverRef(), Type: req.Type,
		Name: req.Name, CIDR: req.CIDR, Hold: req.Hold})
	if err != nil {
		if errors.Is(err, tenancy.ErrInvalid) && req.Type == tenancy.CredentialSMTPIP {
			writeProblem(c.w, http.StatusUnprocessableEntity, "invalid-fields", "Invalid fields", "", fieldError{"cidr", err.Error()})
			return
		}
		a.tenancyFailure(c, err, "credential")
		return
	}
	out := toV2Credential(nc.Credential)
	out.Password, out.Key = nc.Password, nc.Key
	writeOutcome(c.w, jsonOutcome(http.StatusCreated, out))
}

func (a *API) v2RevokeCredential(c *call) {
	id := c.r.PathValue("id")
	cr, err := a.app.Queries.Credential(c.r.Context(), c.caller(), id)
	if err == nil && !c.inScope(cr.ServerID) {
		err = tenancy.ErrNotFound
	}
	if err != nil {
		a.tenancyFailure(c, err, "credential")
		return
	}
	if cr.Revoked {
		writeProblem(c.w, http.StatusConflict, "already-revoked", "Already revoked", "credential "+id+" is already revoked")
		return
	}
	cr, err = a.app.Commands.RevokeCredential(c.r.Context(), c.caller(), tenancy.RevokeCredential{ID: id, Reason: "revoked through the API"})
	if err != nil {
		a.tenancyFailure(c, err, "credential")
		return
	}
	a.forgetCredential(id)
	writeOutcome(c.w, jsonOutcome(http.StatusOK, toV2Credential(cr)))
}

func (a *API) v2Server(c *call) {
	s, err := a.app.Queries.Server(c.r.Context(), c.caller(), c.server)
	if err != nil {
		a.tenancyFailure(c, err, "server")
		return
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, map[string]any{"id": s.ID, "org": s.OrgName, "name": s.Name, "mode": s.Mode,
		"send_limit_per_hour": s.SendLimitPerHour, "retention_days": s.RetentionDays, "created_at": s.CreatedAt}))
}

func (a *API) v2Stats(c *call) {
	q := c.r.URL.Query()
	now := a.cfg.Clock().UTC()
	req := platform.StatsRequest{From: now.Add(-24 * time.Hour).Truncate(time.Hour), To: now.Truncate(time.Hour).Add(time.Hour), Zone: time.UTC, ByHour: q.Get("by") != "day"}
	var errs []fieldError
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &req.From}, {"to", &req.To}} {
		if v := q.Get(f.name); v != "" {
			t, err := messageview.ParseTime(v)
			if err != nil {
				errs = append(errs, fieldError{f.name, "RFC 3339 time or a date (2006-01-02)"})
			}
			*f.dst = t
		}
	}
	if b := q.Get("by"); b != "" && b != "hour" && b != "day" {
		errs = append(errs, fieldError{"by", "hour or day"})
	}
	if !req.To.After(req.From) {
		errs = append(errs, fieldError{"to", "must be after from"})
	}
	if len(errs) > 0 {
		writeProblem(c.w, http.StatusBadRequest, "invalid-query", "Invalid query", "", errs...)
		return
	}
	rep, err := a.app.Queries.Stats(c.r.Context(), c.caller(), c.server, req)
	switch {
	case errors.Is(err, platform.ErrNotConfigured):
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "statistics are not configured")
		return
	case errors.Is(err, platform.ErrNotFound):
		a.tenancyFailure(c, err, "server")
		return
	case err != nil:
		a.log.Error("httpapi: stats", "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the report could not be built")
		return
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, rep))
}

// ---- bulk actions ----

type v2BulkRequest struct {
	Action string `json:"action"` // release, cancel-hold
	Query  string `json:"q"`      // the operators' query syntax; status:held is implied
	Limit  int    `json:"limit"`  // at most this many messages (default and maximum 10000)
}

// v2Bulk applies release or cancel-hold to every held message of the server matching a query
// (Commands.BulkHold: read from the message view, each command checked on the message's own
// stream).
func (a *API) v2Bulk(c *call) {
	raw, ok := readBody(c.w, c.r)
	if !ok {
		return
	}
	var req v2BulkRequest
	if !readJSON(c.w, raw, &req) {
		return
	}
	var errs []fieldError
	if req.Action != platform.BulkRelease && req.Action != platform.BulkCancelHold {
		errs = append(errs, fieldError{"action", "release or cancel-hold"})
	}
	errs = checkMessageQuery("q", req.Query, errs)
	if req.Limit == 0 {
		req.Limit = platform.MaxBulk
	}
	if req.Limit < 0 || req.Limit > platform.MaxBulk {
		errs = append(errs, fieldError{"limit", "1.." + strconv.Itoa(platform.MaxBulk)})
	}
	if len(errs) > 0 {
		writeProblem(c.w, http.StatusUnprocessableEntity, "invalid-fields", "Invalid fields", "", errs...)
		return
	}
	res, err := a.app.Commands.BulkHold(c.r.Context(), c.caller(), platform.BulkHold{Server: c.server, Action: req.Action, Query: req.Query, Limit: req.Limit})
	switch {
	case errors.Is(err, platform.ErrNotConfigured):
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "message search is not configured")
		return
	case errors.Is(err, platform.ErrNotFound):
		a.tenancyFailure(c, err, "server")
		return
	case err != nil:
		a.log.Error("httpapi: bulk search", "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "search failed after "+strconv.Itoa(res.Applied)+" messages; repeat the call")
		return
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, map[string]any{"action": req.Action, "applied": res.Applied, "skipped": res.Skipped, "failed": res.Failed}))
}
