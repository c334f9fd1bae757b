package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func TestPostalErrorsHaveTheirCodesAndShape(t *testing.T) {
	e := newEnv(t, sqliteBackend, options{})
	good := map[string]any{"to": []string{"a@remote.test"}, "from": "app@example.org", "subject": "s", "plain_body": "b"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range good {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	many := make([]string, 51)
	for i := range many {
		many[i] = "r" + strings.Repeat("x", i%3) + "@remote.test"
	}
	cases := []struct {
		name, path, key string
		params          any
		status, code    string
	}{
		{"no key", "/api/v1/send/message", "", good, "error", "AccessDenied"},
		{"wrong key", "/api/v1/send/message", "nope", good, "error", "InvalidServerAPIKey"},
		{"no recipients", "/api/v1/send/message", e.key, with("to", nil), "error", "NoRecipients"},
		{"no content", "/api/v1/send/message", e.key, with("plain_body", nil), "error", "NoContent"},
		{"51 to", "/api/v1/send/message", e.key, with("to", many), "error", "TooManyToAddresses"},
		{"no from", "/api/v1/send/message", e.key, with("from", nil), "error", "FromAddressMissing"},
		{"foreign from", "/api/v1/send/message", e.key, with("from", "x@other.org"), "error", "UnauthenticatedFromAddress"},
		{"attachment without name", "/api/v1/send/message", e.key, with("attachments", []any{map[string]any{"data": "eA=="}}), "error", "AttachmentMissingName"},
		{"raw without rcpt_to", "/api/v1/send/raw", e.key, map[string]any{"mail_from": "a@example.org", "data": "eA=="}, "parameter-error", ""},
		{"message without id", "/api/v1/messages/message", e.key, map[string]any{}, "parameter-error", ""},
		{"unknown message", "/api/v1/messages/message", e.key, map[string]any{"id": 999999}, "error", "MessageNotFound"},
		{"unknown deliveries", "/api/v1/messages/deliveries", e.key, map[string]any{"id": "999999"}, "error", "MessageNotFound"},
	}
	for _, c := range cases {
		r := e.postal(c.path, c.key, c.params)
		if r.Status != c.status || r.code() != c.code || r.Time == nil || r.Flags == nil {
			t.Errorf("%s: got %s", c.name, r.raw)
		}
		var d struct{ Message string }
		json.Unmarshal(r.Data, &d)
		if d.Message == "" {
			t.Errorf("%s: no message text: %s", c.name, r.raw)
		}
	}
	r := e.postal("/api/v1/send/message", e.key, with("to", nil))
	if !strings.Contains(string(r.Data), "There are no recipients defined to receive this message") {
		t.Errorf("NoRecipients text differs from Postal's: %s", r.raw)
	}
	if n := e.queuedCount(); n != 0 {
		t.Fatalf("refused sends wrote %d messages", n)
	}
}

func TestPostalSendThenReadOnBothBackends(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) (backend, string){"sqlite": sqliteBackend, "mariadb": mariadbBackend} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, mk, options{})
			r := e.postal("/api/v1/send/message", e.key, map[string]any{
				"to": []string{"Ann <ann@remote.test>"}, "cc": []string{"cc@remote.test"}, "bcc": []string{"secret@remote.test"},
				"from": "App <app@example.org>", "subject": "Grüße", "tag": "welcome", "plain_body": "plain ünïcode",
				"html_body": "<b>html</b>", "headers": map[string]any{"X-Custom": "1"},
				"attachments": []any{map[string]any{"name": "a.bin", "content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255})}},
			})
			var sent struct {
				MessageID string `json:"message_id"`
				Messages  map[string]struct {
					ID    int64
					Token string
				}
			}
			json.Unmarshal(r.Data, &sent)
			if r.Status != "success" || len(sent.Messages) != 3 || sent.MessageID == "" {
				t.Fatalf("send: %s", r.raw)
			}
			ann := sent.Messages["ann@remote.test"]
			if ann.ID == 0 || ann.Token == "" || sent.Messages["secret@remote.test"].ID == ann.ID {
				t.Fatalf("ids: %s", r.raw)
			}
			m := e.postal("/api/v1/messages/message", e.key, map[string]any{"id": ann.ID, "_expansions": []string{"status", "details", "plain_body", "html_body", "attachments", "headers", "raw_message"}})
			var got struct {
				ID     int64
				Token  string
				Status struct {
					Status string
					Held   bool
				}
				Details struct {
					RcptTo    string `json:"rcpt_to"`
					Subject   string
					Tag       string
					MessageID string `json:"message_id"`
				}
				PlainBody   string `json:"plain_body"`
				HTMLBody    string `json:"html_body"`
				Attachments []struct {
					Filename string
					Data     string
					Size     int
					Hash     string
				}
				Headers    map[string][]string
				RawMessage string `json:"raw_message"`
			}
			if err := json.Unmarshal(m.Data, &got); err != nil || m.Status != "success" {
				t.Fatalf("message: %v %s", err, m.raw)
			}
			raw, _ := base64.StdEncoding.DecodeString(got.RawMessage)
			if got.ID != ann.ID || got.Token != ann.Token || got.Status.Status != "Pending" || got.Details.RcptTo != "ann@remote.test" ||
				got.Details.Subject != "Grüße" || got.Details.Tag != "welcome" || got.Details.MessageID != sent.MessageID ||
				got.PlainBody != "plain ünïcode" || got.HTMLBody != "<b>html</b>" || len(got.Attachments) != 1 ||
				got.Attachments[0].Data != base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255}) || got.Attachments[0].Size != 4 ||
				got.Headers["x-custom"][0] != "1" || strings.Contains(string(raw), "secret@remote.test") {
				t.Fatalf("message expansions: %s", m.raw)
			}
			// Another server's key does not see it.
			if o := e.postal("/api/v1/messages/message", e.other, map[string]any{"id": ann.ID}); o.code() != "MessageNotFound" {
				t.Fatalf("other server read the message: %s", o.raw)
			}
			d := e.postal("/api/v1/messages/deliveries", e.key, map[string]any{"id": ann.ID})
			if d.Status != "success" || string(d.Data) != "[]" {
				t.Fatalf("deliveries before any attempt: %s", d.raw)
			}
			// send/raw: LF line endings are accepted and stored as CRLF.
			rr := e.postal("/api/v1/send/raw", e.key, map[string]any{"mail_from": "app@example.org", "rcpt_to": []string{"raw@remote.test"},
				"data": base64.StdEncoding.EncodeToString([]byte("From: app@example.org\nTo: raw@remote.test\nSubject: raw\n\nbody\n"))})
			if rr.Status != "success" || !strings.Contains(string(rr.Data), "raw@remote.test") {
				t.Fatalf("raw: %s", rr.raw)
			}
			if rf := e.postal("/api/v1/send/raw", e.key, map[string]any{"mail_from": "x@other.org", "rcpt_to": []string{"raw@remote.test"},
				"data": base64.StdEncoding.EncodeToString([]byte("From: x@other.org\r\n\r\nbody\r\n"))}); rf.code() != "UnauthenticatedFromAddress" {
				t.Fatalf("raw with a foreign From: %s", rf.raw)
			}
			// Form-encoded params (Moonrope style) work too.
			code, _, out := e.do("POST", "/api/v1/messages/message", "params="+`{"id":`+jsonInt(ann.ID)+`}`, "X-Server-API-Key", e.key, "Content-Type", "application/x-www-form-urlencoded")
			if code != 200 || !strings.Contains(string(out), `"status":"success"`) {
				t.Fatalf("form params: %d %s", code, out)
			}
		})
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
