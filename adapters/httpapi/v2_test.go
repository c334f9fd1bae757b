package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestV2ContractOnBothBackends drives every /api/v2 route, then checks that every route is in
// the OpenAPI document and every response recorded validates against the documented schema
// of its status and content type.
func TestV2ContractOnBothBackends(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) (backend, string){"sqlite": sqliteBackend, "mariadb": mariadbBackend} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, mk, options{})
			exerciseV2(t, e)
			checkContract(t, e)
		})
	}
}

func exerciseV2(t *testing.T, e *env) {
	// openapi.json needs no key.
	if code, _, _ := e.do("GET", "/api/v2/openapi.json", nil); code != 200 {
		t.Fatalf("openapi.json: %d", code)
	}
	// Auth and scope.
	if code, _, _ := e.do("GET", "/api/v2/domains", nil); code != http.StatusUnauthorized {
		t.Fatalf("no key: %d", code)
	}
	if code, _, _ := e.do("GET", "/api/v2/domains", nil, "Authorization", "Bearer wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d", code)
	}
	if code, _, _ := e.do("GET", "/api/v2/domains?server=acme/other", nil, "Authorization", "Bearer "+e.key); code != http.StatusForbidden {
		t.Fatalf("key reaching another server: %d", code)
	}
	code, _, out := e.do("GET", "/api/v2/domains", nil, "Authorization", "Bearer "+e.admin)
	if code != http.StatusBadRequest || !strings.Contains(string(out), `"field":"server"`) {
		t.Fatalf("admin without server: %d %s", code, out)
	}
	code, _, out = e.do("GET", "/api/v2/domains?server=acme/other", nil, "Authorization", "Bearer "+e.admin)
	if code != 200 || !strings.Contains(string(out), "other.org") || strings.Contains(string(out), "example.org") {
		t.Fatalf("admin on acme/other: %d %s", code, out)
	}

	// Send: every invalid field named at once.
	code, _, out = e.do("POST", "/api/v2/send", map[string]any{"from": "nope", "to": []string{"bad", "ok@remote.test"}, "headers": map[string]string{"Bad Name": "x"}}, "Authorization", "Bearer "+e.key)
	var p struct {
		Errors []struct{ Field string }
	}
	json.Unmarshal(out, &p)
	fields := map[string]bool{}
	for _, f := range p.Errors {
		fields[f.Field] = true
	}
	if code != http.StatusUnprocessableEntity || !fields["from"] || !fields["subject"] || !fields["text"] || !fields["to[0]"] || !fields["headers.Bad Name"] {
		t.Fatalf("invalid send: %d %s", code, out)
	}
	if code, _, out := e.do("POST", "/api/v2/send", `{"from": "a@example.org", "oops": 1}`, "Authorization", "Bearer "+e.key); code != 400 || !strings.Contains(string(out), `"field":"oops"`) {
		t.Fatalf("unknown field: %d %s", code, out)
	}
	if code, _, out := e.do("POST", "/api/v2/send", map[string]any{"from": "a@other.org", "to": []string{"x@remote.test"}, "subject": "s", "text": "t"}, "Authorization", "Bearer "+e.key); code != 422 || !strings.Contains(string(out), "unauthenticated-from") {
		t.Fatalf("foreign From: %d %s", code, out)
	}
	var sent struct {
		MessageID string `json:"message_id"`
		Messages  []struct {
			Recipient, ID string
			PostalID      int64 `json:"postal_id"`
		}
	}
	e.v2("POST", "/api/v2/send", map[string]any{"from": "App <app@example.org>", "to": []string{"one@remote.test"}, "bcc": []string{"two@remote.test"},
		"subject": "Hi", "text": "plain", "html": "<p>x</p>", "tag": "t1", "attachments": []any{map[string]any{"name": "f.txt", "data": "aGk="}}}, http.StatusAccepted, &sent)
	if len(sent.Messages) != 2 || sent.Messages[0].PostalID == 0 {
		t.Fatalf("send: %+v", sent)
	}
	// Recipients map to their own messages: repeats (domain in any case) are one message,
	// local parts that differ in case are two.
	var dup struct {
		Messages []struct{ Recipient, ID string }
	}
	e.v2("POST", "/api/v2/send", map[string]any{"from": "app@example.org", "to": []string{"Kim@remote.test", "kim@remote.test", "Kim@REMOTE.test"},
		"subject": "dup", "text": "t"}, http.StatusAccepted, &dup)
	if len(dup.Messages) != 2 {
		t.Fatalf("dedupe: %+v", dup)
	}
	for _, m := range dup.Messages {
		var got struct {
			RcptTo string `json:"rcpt_to"`
		}
		e.v2("GET", "/api/v2/messages/"+m.ID, nil, 200, &got)
		if got.RcptTo != m.Recipient {
			t.Fatalf("recipient %s mapped to the message of %s", m.Recipient, got.RcptTo)
		}
	}
	id := sent.Messages[0].ID

	// Batch with variables.
	var batch struct {
		Accepted int
		Results  []struct{ Recipient, Status, ID string }
	}
	e.v2("POST", "/api/v2/send/batch", map[string]any{"from": "app@example.org", "subject": "Hello {{name}}", "text": "Dear {{ name }}, code {{code}}",
		"html": "<p>{{name}}</p>", "recipients": []any{
			map[string]any{"to": "ann@remote.test", "variables": map[string]string{"name": "Ann", "code": "1"}},
			map[string]any{"to": "bob@remote.test", "variables": map[string]string{"name": "<Bob>"}},
		}}, http.StatusAccepted, &batch)
	if batch.Accepted != 2 || len(batch.Results) != 2 {
		t.Fatalf("batch: %+v", batch)
	}
	var bm struct {
		Subject string
	}
	e.v2("GET", "/api/v2/messages/"+batch.Results[1].ID, nil, 200, &bm)
	if bm.Subject != "Hello <Bob>" {
		t.Fatalf("batch subject: %q", bm.Subject)
	}
	raw, err := e.store.Body(t.Context(), batchBodyID(t, e, batch.Results[1].ID))
	if err != nil || !strings.Contains(string(raw), "&lt;Bob&gt;") || !strings.Contains(string(raw), "Dear <Bob>, code=20") {
		t.Fatalf("batch body for bob (html escaped in html only): %v\n%s", err, raw)
	}
	tooMany := make([]any, 1001)
	for i := range tooMany {
		tooMany[i] = map[string]any{"to": fmt.Sprintf("r%d@remote.test", i)}
	}
	if code, _, out := e.do("POST", "/api/v2/send/batch", map[string]any{"from": "app@example.org", "subject": "s", "text": "t", "recipients": tooMany}, "Authorization", "Bearer "+e.key); code != 422 || !strings.Contains(string(out), `"field":"recipients"`) {
		t.Fatalf("1001 recipients: %d %s", code, out)
	}

	// Messages: detail, events, search (read model), hold commands.
	var m struct {
		Status string
		RcptTo string `json:"rcpt_to"`
	}
	e.v2("GET", "/api/v2/messages/"+id, nil, 200, &m)
	if m.Status != "queued" || m.RcptTo != "one@remote.test" {
		t.Fatalf("detail: %+v", m)
	}
	var evs struct{ Events []struct{ Type string } }
	e.v2("GET", "/api/v2/messages/"+id+"/events", nil, 200, &evs)
	if len(evs.Events) != 1 || evs.Events[0].Type != "message.queued" {
		t.Fatalf("events: %+v", evs)
	}
	if code, _, _ := e.do("GET", "/api/v2/messages/"+id, nil, "Authorization", "Bearer "+e.other); code != 404 {
		t.Fatalf("other server's key saw the message: %d", code)
	}
	e.v2("POST", "/api/v2/messages/"+id+"/release", nil, http.StatusConflict, nil)
	e.project()
	var page struct {
		Messages []struct {
			RcptTo string `json:"rcpt_to"`
		}
		NextCursor *string `json:"next_cursor"`
	}
	e.v2("GET", "/api/v2/messages?q="+url.QueryEscape("to:@remote.test")+"&limit=2", nil, 200, &page)
	if len(page.Messages) != 2 || page.NextCursor == nil {
		t.Fatalf("search page 1: %+v", page)
	}
	seen := len(page.Messages)
	for page.NextCursor != nil {
		c := *page.NextCursor
		page.NextCursor = nil
		e.v2("GET", "/api/v2/messages?q="+url.QueryEscape("to:@remote.test")+"&limit=2&cursor="+url.QueryEscape(c), nil, 200, &page)
		seen += len(page.Messages)
	}
	if seen != 6 {
		t.Fatalf("search saw %d messages over its pages, want 6", seen)
	}
	e.v2("GET", "/api/v2/messages?q="+url.QueryEscape("to:ann@remote.test"), nil, 200, &page)
	if len(page.Messages) != 1 || page.Messages[0].RcptTo != "ann@remote.test" {
		t.Fatalf("search to:ann: %+v", page)
	}
	if code, _, out := e.do("GET", "/api/v2/messages?q=status:nope&limit=0", nil, "Authorization", "Bearer "+e.key); code != 400 || !strings.Contains(string(out), `"field":"q"`) || !strings.Contains(string(out), `"field":"limit"`) {
		t.Fatalf("bad query: %d %s", code, out)
	}

	// Suppressions: add, list, a held send, release, CSV, remove.
	e.v2("POST", "/api/v2/suppressions", map[string]any{"address": "held@remote.test", "reason": "complaint"}, 201, nil)
	e.v2("POST", "/api/v2/suppressions", map[string]any{"address": "=cmd@remote.test", "ttl": "720h"}, 201, nil)
	if code, _, out := e.do("POST", "/api/v2/suppressions", map[string]any{"address": "nope", "ttl": "soon"}, "Authorization", "Bearer "+e.key); code != 422 || !strings.Contains(string(out), `"field":"ttl"`) || !strings.Contains(string(out), `"field":"address"`) {
		t.Fatalf("bad suppression: %d %s", code, out)
	}
	var sp struct {
		Suppressions []struct{ Address string }
		NextCursor   *string `json:"next_cursor"`
	}
	e.v2("GET", "/api/v2/suppressions?limit=1", nil, 200, &sp)
	if len(sp.Suppressions) != 1 || sp.NextCursor == nil {
		t.Fatalf("suppressions page: %+v", sp)
	}
	e.v2("GET", "/api/v2/suppressions?limit=1&cursor="+*sp.NextCursor, nil, 200, &sp)
	if len(sp.Suppressions) != 1 || sp.Suppressions[0].Address != "held@remote.test" {
		t.Fatalf("suppressions page 2: %+v", sp)
	}
	var hs struct{ Messages []struct{ ID string } }
	e.v2("POST", "/api/v2/send", map[string]any{"from": "app@example.org", "to": []string{"held@remote.test"}, "subject": "s", "text": "t"}, 202, &hs)
	var held struct {
		Status     string
		HoldReason string `json:"hold_reason"`
	}
	e.v2("GET", "/api/v2/messages/"+hs.Messages[0].ID, nil, 200, &held)
	if held.Status != "held" || held.HoldReason != "suppressed" {
		t.Fatalf("send to a suppressed address: %+v", held)
	}
	e.v2("POST", "/api/v2/messages/"+hs.Messages[0].ID+"/release", nil, 200, &held)
	if held.Status != "queued" {
		t.Fatalf("released: %+v", held)
	}
	e.v2("POST", "/api/v2/send", map[string]any{"from": "app@example.org", "to": []string{"held@remote.test"}, "subject": "s2", "text": "t"}, 202, &hs)
	e.v2("POST", "/api/v2/messages/"+hs.Messages[0].ID+"/cancel-hold", nil, 200, &held)
	if held.Status != "cancelled" {
		t.Fatalf("cancelled: %+v", held)
	}
	// Bulk: two held messages to a suppressed address, released by a query; bad input named.
	for i := 0; i < 2; i++ {
		e.v2("POST", "/api/v2/send", map[string]any{"from": "app@example.org", "to": []string{"held@remote.test"}, "subject": "bulk", "text": "t"}, 202, nil)
	}
	e.project()
	var bulk struct{ Applied, Skipped, Failed int }
	e.v2("POST", "/api/v2/messages/bulk", map[string]any{"action": "release", "q": "subject:bulk"}, 200, &bulk)
	if bulk.Applied != 2 || bulk.Failed != 0 {
		t.Fatalf("bulk release: %+v", bulk)
	}
	if code, _, out := e.do("POST", "/api/v2/messages/bulk", map[string]any{"action": "delete", "q": "status:nope"}, "Authorization", "Bearer "+e.key); code != 422 ||
		!strings.Contains(string(out), `"field":"action"`) || !strings.Contains(string(out), `"field":"q"`) {
		t.Fatalf("bad bulk: %d %s", code, out)
	}
	csvOut := string(e.v2("GET", "/api/v2/suppressions.csv", nil, 200, nil))
	if !strings.HasPrefix(csvOut, "address,reason,caused_by,added_at,expires_at\n") || !strings.Contains(csvOut, "'=cmd@remote.test") || !strings.Contains(csvOut, "held@remote.test,complaint,api,") {
		t.Fatalf("csv:\n%s", csvOut)
	}
	e.v2("DELETE", "/api/v2/suppressions/held@remote.test", nil, 204, nil)
	e.v2("DELETE", "/api/v2/suppressions/held@remote.test", nil, 404, nil)

	// Domains.
	var ds struct{ Domains []struct{ Name string } }
	e.v2("GET", "/api/v2/domains", nil, 200, &ds)
	if len(ds.Domains) != 1 || ds.Domains[0].Name != "example.org" {
		t.Fatalf("domains: %+v", ds)
	}
	var dns struct{ Records []struct{ Purpose string } }
	e.v2("GET", "/api/v2/domains/example.org/dns", nil, 200, &dns)
	if len(dns.Records) < 3 {
		t.Fatalf("dns: %+v", dns)
	}
	e.v2("GET", "/api/v2/domains/other.org/dns", nil, 404, nil)
	e.v2("POST", "/api/v2/domains/example.org/verify", nil, 200, nil)

	// Credentials: create an api key, use it, revoke it, it stops working.
	var nc struct{ ID, Key, Type string }
	e.v2("POST", "/api/v2/credentials", map[string]any{"type": "api", "name": "ci"}, 201, &nc)
	if nc.Key == "" || nc.Type != "api" {
		t.Fatalf("created: %+v", nc)
	}
	if code, _, _ := e.do("GET", "/api/v2/server", nil, "Authorization", "Bearer "+nc.Key); code != 200 {
		t.Fatalf("new key: %d", code)
	}
	if code, _, out := e.do("POST", "/api/v2/credentials", map[string]any{"type": "smtp-ip"}, "Authorization", "Bearer "+e.key); code != 422 || !strings.Contains(string(out), `"field":"cidr"`) {
		t.Fatalf("smtp-ip without cidr: %d %s", code, out)
	}
	var cl struct {
		Credentials []struct {
			ID  string
			Key string
		}
	}
	e.v2("GET", "/api/v2/credentials", nil, 200, &cl)
	if len(cl.Credentials) != 2 || cl.Credentials[1].Key != "" {
		t.Fatalf("credentials (no secrets): %+v", cl)
	}
	e.v2("DELETE", "/api/v2/credentials/"+nc.ID, nil, 200, nil)
	e.v2("DELETE", "/api/v2/credentials/"+nc.ID, nil, 409, nil)
	if code, _, _ := e.do("GET", "/api/v2/server", nil, "Authorization", "Bearer "+nc.Key); code != 401 {
		t.Fatalf("revoked key still works: %d", code)
	}
	if code, _, _ := e.do("DELETE", "/api/v2/credentials/"+nc.ID, nil, "Authorization", "Bearer "+e.other); code != 404 {
		t.Fatalf("other server revoking: %d", code)
	}

	// Server and stats.
	var srv struct{ ID string }
	e.v2("GET", "/api/v2/server", nil, 200, &srv)
	if srv.ID != "acme/main" {
		t.Fatalf("server: %+v", srv)
	}
	e.v2("GET", "/api/v2/stats?by=day", nil, 200, nil)
	if code, _, out := e.do("GET", "/api/v2/stats?by=week&from=yesterday", nil, "Authorization", "Bearer "+e.key); code != 400 || !strings.Contains(string(out), `"field":"by"`) || !strings.Contains(string(out), `"field":"from"`) {
		t.Fatalf("bad stats query: %d %s", code, out)
	}
	e.v2("GET", "/api/v2/nothing-here", nil, 404, nil)

	// Webhooks (webhook.Handlers and the webhooks read model).
	if code, _, out := e.do("POST", "/api/v2/webhooks", map[string]any{"url": "ftp://x", "events": []string{"message.nope"}, "format": "xml"}, "Authorization", "Bearer "+e.key); code != 422 ||
		!strings.Contains(string(out), `"field":"url"`) || !strings.Contains(string(out), `"field":"events"`) || !strings.Contains(string(out), `"field":"format"`) {
		t.Fatalf("bad webhook: %d %s", code, out)
	}
	var wh struct {
		ID, Secret string
		Events     []string
	}
	e.v2("POST", "/api/v2/webhooks", map[string]any{"url": "https://hooks.example.com/in", "events": []string{"message.delivered", "message.bounced"}}, 201, &wh)
	if wh.Secret == "" || len(wh.Events) != 2 {
		t.Fatalf("webhook created: %+v", wh)
	}
	var whl struct{ Webhooks []struct{ ID, Secret string } }
	e.v2("GET", "/api/v2/webhooks", nil, 200, &whl)
	if len(whl.Webhooks) != 1 || whl.Webhooks[0].Secret != "" {
		t.Fatalf("webhook list (no secrets): %+v", whl)
	}
	e.v2("GET", "/api/v2/webhooks/"+wh.ID, nil, 200, nil)
	if code, _, _ := e.do("GET", "/api/v2/webhooks/"+wh.ID, nil, "Authorization", "Bearer "+e.other); code != 404 {
		t.Fatalf("other server's webhook: %d", code)
	}
	// PATCH changes what differs (webhook.updated); enabling again clears the disabled reason.
	if code, _, out := e.do("PATCH", "/api/v2/webhooks/"+wh.ID, map[string]any{"url": "gopher://x", "events": []string{"message.nope"}, "format": "xml"}, "Authorization", "Bearer "+e.key); code != 422 ||
		!strings.Contains(string(out), `"field":"url"`) || !strings.Contains(string(out), `"field":"events"`) || !strings.Contains(string(out), `"field":"format"`) {
		t.Fatalf("bad webhook update: %d %s", code, out)
	}
	if code, _, _ := e.do("PATCH", "/api/v2/webhooks/"+wh.ID, map[string]any{"enabled": false}, "Authorization", "Bearer "+e.other); code != 404 {
		t.Fatalf("other server's webhook update: %d", code)
	}
	type patched struct {
		URL, Format    string
		DisabledReason string `json:"disabled_reason"`
		Events         []string
		Enabled        bool
	}
	var up patched
	e.v2("PATCH", "/api/v2/webhooks/"+wh.ID, map[string]any{"url": "https://hooks.example.com/v2", "events": []string{"all"}, "format": "postal"}, 200, &up)
	if up.URL != "https://hooks.example.com/v2" || up.Format != "postal" || len(up.Events) != 1 || up.Events[0] != "all" || !up.Enabled {
		t.Fatalf("webhook updated: %+v", up)
	}
	e.v2("PATCH", "/api/v2/webhooks/"+wh.ID, map[string]any{"enabled": false}, 200, &up)
	if up.Enabled || up.DisabledReason != "operator" {
		t.Fatalf("webhook disabled by update: %+v", up)
	}
	up = patched{}
	e.v2("PATCH", "/api/v2/webhooks/"+wh.ID, map[string]any{"enabled": true, "format": "standard"}, 200, &up)
	if !up.Enabled || up.DisabledReason != "" || up.Format != "standard" || up.URL != "https://hooks.example.com/v2" {
		t.Fatalf("webhook enabled again: %+v", up)
	}
	var got patched
	e.v2("GET", "/api/v2/webhooks/"+wh.ID, nil, 200, &got)
	if got.URL != up.URL || got.Format != up.Format || !got.Enabled || len(got.Events) != 1 || got.Events[0] != "all" {
		t.Fatalf("webhook read after updates: %+v", got)
	}
	var rot struct{ Secret string }
	e.v2("POST", "/api/v2/webhooks/"+wh.ID+"/rotate-secret", nil, 200, &rot)
	if rot.Secret == "" || rot.Secret == wh.Secret {
		t.Fatalf("rotated secret: %+v", rot)
	}
	var dl struct{ Deliveries []any }
	e.v2("GET", "/api/v2/webhooks/"+wh.ID+"/deliveries?limit=10", nil, 200, &dl)
	e.v2("POST", "/api/v2/webhooks/"+wh.ID+"/deliveries/nope/redeliver", nil, 404, nil)
	e.v2("POST", "/api/v2/webhooks/"+wh.ID+"/disable", nil, 200, nil)
	e.v2("POST", "/api/v2/webhooks/"+wh.ID+"/disable", nil, 409, nil)

	// The event feed (the admin token's; TestEventFeed pages it).
	e.stamp()
	if code, hdr, out := e.do("GET", "/api/v2/events?limit=2", nil, "Authorization", "Bearer "+e.admin); code != 200 ||
		strings.Count(string(out), "\n") != 2 || hdr.Get("X-Posthaste-Next-After") == "" {
		t.Fatalf("event feed: %d %s", code, out)
	}
	if code, _, out := e.do("GET", "/api/v2/events?limit=1001", nil, "Authorization", "Bearer "+e.admin); code != 400 {
		t.Fatalf("event feed limit 1001: %d %s", code, out)
	}
}

// batchBodyID reads the body id of a message from its detail.
func batchBodyID(t *testing.T, e *env, id string) string {
	var m struct {
		SubmissionID string `json:"submission_id"`
	}
	e.v2("GET", "/api/v2/messages/"+id, nil, 200, &m)
	return m.SubmissionID
}
