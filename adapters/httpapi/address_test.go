package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

type problemDoc struct {
	Type   string `json:"type"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (p problemDoc) field(name string) string {
	for _, f := range p.Errors {
		if f.Field == name {
			return f.Message
		}
	}
	return ""
}

// The v2 API checks every address field with domain/address and names each refused one with
// its diagnosis; nothing is queued.
func TestV2RefusesBadAddressesNamingTheField(t *testing.T) {
	e := newEnv(t, sqliteBackend, options{})
	code, _, out := e.do("POST", "/api/v2/send", map[string]any{
		"from":     ".app@example.org",
		"to":       []string{"ok@remote.test", "a..b@remote.test", "Ann <ann@remote.test>", "x@[1.2.3]", "jörg@remote.test"},
		"cc":       []string{"nobody"},
		"bcc":      []string{"Bob <bob@-remote.test>"},
		"reply_to": "reply@@example.org",
		"subject":  "s", "text": "t",
	}, "Authorization", "Bearer "+e.key)
	var p problemDoc
	json.Unmarshal(out, &p)
	if code != http.StatusUnprocessableEntity || p.Type == "" {
		t.Fatalf("status %d: %s", code, out)
	}
	for field, diag := range map[string]string{
		"from":     "ISEMAIL_ERR_DOT_START",
		"to[1]":    "ISEMAIL_ERR_CONSECUTIVEDOTS",
		"to[3]":    "ISEMAIL_RFC5322_DOMAINLITERAL",
		"to[4]":    "POSTHASTE_ERR_NONASCII",
		"cc[0]":    "ISEMAIL_ERR_NODOMAIN",
		"bcc[0]":   "ISEMAIL_ERR_DOMAINHYPHENSTART",
		"reply_to": "ISEMAIL_ERR_EXPECTING_ATEXT",
	} {
		if msg := p.field(field); !strings.Contains(msg, diag) || !strings.HasPrefix(msg, "not a valid email address: ") {
			t.Errorf("%s: %q, want the diagnosis %s", field, msg, diag)
		}
	}
	for _, ok := range []string{"to[0]", "to[2]"} {
		if msg := p.field(ok); msg != "" {
			t.Errorf("%s refused: %s", ok, msg)
		}
	}

	code, _, out = e.do("POST", "/api/v2/send/batch", map[string]any{"from": "app@example.org", "subject": "s", "text": "t",
		"recipients": []any{map[string]any{"to": "one@remote.test"}, map[string]any{"to": "two@remote.test."}}}, "Authorization", "Bearer "+e.key)
	p = problemDoc{}
	json.Unmarshal(out, &p)
	if code != http.StatusUnprocessableEntity || !strings.Contains(p.field("recipients[1].to"), "ISEMAIL_ERR_DOT_END") || p.field("recipients[0].to") != "" {
		t.Errorf("batch: %d %s", code, out)
	}

	code, _, out = e.do("POST", "/api/v2/suppressions", map[string]any{"address": "x@iana.org (unclosed"}, "Authorization", "Bearer "+e.key)
	p = problemDoc{}
	json.Unmarshal(out, &p)
	if code != http.StatusUnprocessableEntity || !strings.Contains(p.field("address"), "ISEMAIL_ERR_UNCLOSEDCOMMENT") {
		t.Errorf("suppression: %d %s", code, out)
	}
	if n := e.queuedCount(); n != 0 {
		t.Fatalf("refused sends queued %d messages", n)
	}

	// Display names, comments and quoted local parts are accepted; the envelope gets the
	// RFC 5321 form of the mailbox.
	var sent struct {
		Messages []struct{ Recipient string }
	}
	e.v2("POST", "/api/v2/send", map[string]any{"from": `"App, Inc." <app@EXAMPLE.org>`, "subject": "s", "text": "t",
		"to": []string{`"ann lee"@remote.test`, "bob@remote.test (Bob)", " carl@remote.test "}}, http.StatusAccepted, &sent)
	var got []string
	for _, m := range sent.Messages {
		got = append(got, m.Recipient)
	}
	if strings.Join(got, "|") != `"ann lee"@remote.test|bob@remote.test|carl@remote.test` {
		t.Fatalf("recipients %q", got)
	}
}

// The Postal v1 endpoints refuse a malformed address in Postal's error shape, naming it.
func TestV1RefusesBadAddresses(t *testing.T) {
	e := newEnv(t, sqliteBackend, options{})
	msg := func(kv ...any) map[string]any {
		m := map[string]any{"to": []string{"a@remote.test"}, "from": "app@example.org", "subject": "s", "plain_body": "b"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	raw := base64.StdEncoding.EncodeToString([]byte("From: app@example.org\r\nTo: a@remote.test\r\nSubject: s\r\n\r\nbody\r\n"))
	for _, c := range []struct {
		name, path string
		params     map[string]any
		field      string
		diagnosis  string
	}{
		{"bad to", "/api/v1/send/message", msg("to", []string{"a@remote.test", "b..c@remote.test"}), "to[1]", "ISEMAIL_ERR_CONSECUTIVEDOTS"},
		{"bad cc", "/api/v1/send/message", msg("cc", []string{"(comment"}), "cc[0]", "ISEMAIL_ERR_UNCLOSEDCOMMENT"},
		{"only bad recipients", "/api/v1/send/message", msg("to", []string{"nobody"}), "to[0]", "ISEMAIL_ERR_NODOMAIN"},
		{"bad from", "/api/v1/send/message", msg("from", "App <app@@example.org>"), "from", "ISEMAIL_ERR_EXPECTING_ATEXT"},
		{"bad rcpt_to", "/api/v1/send/raw", map[string]any{"mail_from": "app@example.org", "rcpt_to": []string{"x@[1.2.3.4"}, "data": raw}, "rcpt_to[0]", "ISEMAIL_ERR_UNCLOSEDDOMLIT"},
		{"bad mail_from", "/api/v1/send/raw", map[string]any{"mail_from": "app@example..org", "rcpt_to": []string{"a@remote.test"}, "data": raw}, "mail_from", "ISEMAIL_ERR_CONSECUTIVEDOTS"},
	} {
		r := e.postal(c.path, e.key, c.params)
		var d struct{ Code, Message, Field, Diagnosis string }
		json.Unmarshal(r.Data, &d)
		if r.Status != "error" || d.Code != "ValidationError" || d.Field != c.field || d.Diagnosis != c.diagnosis ||
			!strings.HasPrefix(d.Message, "The "+c.field+" address is not a valid email address: ") {
			t.Errorf("%s: %s", c.name, r.raw)
		}
	}
	if n := e.queuedCount(); n != 0 {
		t.Fatalf("refused sends queued %d messages", n)
	}
	// A foreign but well-formed From is still Postal's UnauthenticatedFromAddress.
	if r := e.postal("/api/v1/send/message", e.key, msg("from", "x@other.org")); r.code() != "UnauthenticatedFromAddress" {
		t.Errorf("foreign from: %s", r.raw)
	}
	if r := e.postal("/api/v1/send/message", e.key, msg("to", []string{"Ann <ann@remote.test>"})); r.Status != "success" {
		t.Errorf("display name: %s", r.raw)
	}
}
