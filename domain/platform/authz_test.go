package platform_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/webhook"
)

// tenants is two organizations: acme with servers a and b, other with server c, each with a
// verified domain, an API key, an SMTP credential, a queued message, a webhook and a suppression.
type tenants struct {
	refs map[string]tenancy.ServerRef     // a, b, c
	keys map[string]tenancy.NewCredential // api keys
	smtp map[string]tenancy.NewCredential // smtp credentials
	msgs map[string]platform.SendTestResult
	hook map[string]webhook.Subscription
}

func newTenants(t *testing.T, e *env) tenants {
	t.Helper()
	ctx := ctxT(t)
	ts := tenants{refs: map[string]tenancy.ServerRef{}, keys: map[string]tenancy.NewCredential{}, smtp: map[string]tenancy.NewCredential{},
		msgs: map[string]platform.SendTestResult{}, hook: map[string]webhook.Subscription{}}
	for _, x := range []struct{ org, name string }{{"acme", "a"}, {"acme", "b"}, {"other", "c"}} {
		ref := e.tenant(t, x.org, x.name, x.name+".example")
		ts.refs[x.name] = ref
		ts.keys[x.name] = e.credential(t, ref, tenancy.CredentialAPI, "")
		ts.smtp[x.name] = e.credential(t, ref, tenancy.CredentialSMTP, "")
		m, err := e.app.Commands.SendTest(ctx, cli, platform.SendTest{Server: ref.String(), From: "Ops <ops@" + x.name + ".example>", To: "rcpt@remote.test"})
		must(t, err)
		ts.msgs[x.name] = m
		s, _, err := e.app.Commands.CreateWebhook(ctx, cli, platform.CreateWebhook{Server: ref.String(), URL: "https://hooks.example/" + x.name})
		must(t, err)
		ts.hook[x.name] = s
		_, err = e.app.Commands.AddSuppression(ctx, cli, platform.AddSuppression{Server: ref.String(), Address: "gone@remote.test"})
		must(t, err)
	}
	return ts
}

// sameNotFound checks that err (something outside the caller's scope, named name) is exactly
// the answer missing gave for a thing that does not exist, named missingName.
func sameNotFound(t *testing.T, what string, err, missing error, name, missingName string) {
	t.Helper()
	var nf, mf *platform.NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, platform.ErrNotFound) {
		t.Errorf("%s: %v; want a NotFoundError", what, err)
		return
	}
	if !errors.As(missing, &mf) {
		t.Errorf("%s: the missing thing answered %v; want a NotFoundError", what, missing)
		return
	}
	if want := strings.ReplaceAll(missing.Error(), missingName, name); err.Error() != want || nf.Kind != mf.Kind {
		t.Errorf("%s: %q (kind %s); a missing one answers %q (kind %s)", what, err, nf.Kind, want, mf.Kind)
	}
}

const missingID = "01900000-0000-7000-8000-00000000dead"

// TestServerKeySeesOnlyItsServer: a server's API key never reaches another server's messages,
// domains, credentials, webhooks or suppressions; every such answer is the one a missing thing
// gives.
func TestServerKeySeesOnlyItsServer(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ts := newTenants(t, e)
		ctx := ctxT(t)
		q, c := e.app.Queries, e.app.Commands
		a, err := q.AuthenticateAPIKey(ctx, ts.keys["a"].Key)
		must(t, err)
		if a.ServerID() != "acme/a" || a.IsOperator() || a.Actor().String() != "api:"+ts.keys["a"].ID {
			t.Fatalf("caller of key a = %v on %q", a, a.ServerID())
		}
		bMsg, bDom, bCred, bHook, bSrv := ts.msgs["b"].MessageID, "b.example", ts.smtp["b"].ID, ts.hook["b"].ID, "acme/b"

		// Things by id or name.
		byID := []struct {
			what          string
			name, missing string
			call          func(name string) error
		}{
			{"message", bMsg, missingID, func(n string) error { _, err := q.Message(ctx, a, n); return err }},
			{"message detail", bMsg, missingID, func(n string) error { _, err := q.MessageDetail(ctx, a, n, time.Time{}); return err }},
			{"message detail as of", bMsg, missingID, func(n string) error { _, err := q.MessageDetail(ctx, a, n, time.Now()); return err }},
			{"message events", bMsg, missingID, func(n string) error { _, err := q.MessageEvents(ctx, a, n); return err }},
			{"message body", bMsg, missingID, func(n string) error { _, err := q.MessageBody(ctx, a, n); return err }},
			{"release", bMsg, missingID, func(n string) error { _, err := c.ReleaseHold(ctx, a, n); return err }},
			{"cancel hold", bMsg, missingID, func(n string) error { _, err := c.CancelHold(ctx, a, n); return err }},
			{"domain", bDom, "missing.example", func(n string) error { _, _, err := q.Domain(ctx, a, n); return err }},
			{"rotate dkim", bDom, "missing.example", func(n string) error {
				_, _, err := c.RotateDKIM(ctx, a, tenancy.RotateDKIM{Domain: n})
				return err
			}},
			{"credential", bCred, missingID, func(n string) error { _, err := q.Credential(ctx, a, n); return err }},
			{"revoke credential", bCred, missingID, func(n string) error {
				_, err := c.RevokeCredential(ctx, a, tenancy.RevokeCredential{ID: n})
				return err
			}},
			{"update credential", bCred, missingID, func(n string) error {
				hold := true
				_, _, err := c.UpdateCredential(ctx, a, tenancy.UpdateCredential{ID: n, Hold: &hold})
				return err
			}},
			{"webhook", bHook, missingID, func(n string) error { _, err := q.Webhook(ctx, a, n); return err }},
			{"webhook deliveries", bHook, missingID, func(n string) error { _, err := q.WebhookDeliveries(ctx, a, n, 10); return err }},
			{"disable webhook", bHook, missingID, func(n string) error { _, err := c.DisableWebhook(ctx, a, n, ""); return err }},
			{"update webhook", bHook, missingID, func(n string) error {
				off := false
				_, _, err := c.UpdateWebhook(ctx, a, n, webhook.Update{Enabled: &off})
				return err
			}},
			{"rotate webhook secret", bHook, missingID, func(n string) error { _, _, err := c.RotateWebhookSecret(ctx, a, n); return err }},
			{"replay webhook", bHook, missingID, func(n string) error { _, err := c.ReplayWebhook(ctx, a, n, time.Time{}, time.Time{}); return err }},
			{"test webhook", bHook, missingID, func(n string) error { _, err := c.TestWebhook(ctx, a, n); return err }},
			{"redeliver", bHook, missingID, func(n string) error { _, err := c.RedeliverWebhook(ctx, a, n, "msg_x"); return err }},
		}
		for _, x := range byID {
			sameNotFound(t, x.what, x.call(x.name), x.call(x.missing), x.name, x.missing)
		}

		// Things of a server.
		byServer := []struct {
			what string
			call func(server string) error
		}{
			{"server", func(s string) error { _, err := q.Server(ctx, a, s); return err }},
			{"domains", func(s string) error { _, err := q.Domains(ctx, a, s); return err }},
			{"credentials", func(s string) error { _, err := q.Credentials(ctx, a, s); return err }},
			{"webhooks", func(s string) error { _, err := q.Webhooks(ctx, a, s); return err }},
			{"suppressions", func(s string) error { _, err := q.Suppressions(ctx, a, s, true); return err }},
			{"suppression", func(s string) error { _, err := q.Suppression(ctx, a, s, "gone@remote.test"); return err }},
			{"messages", func(s string) error { _, err := q.Messages(ctx, a, s, platform.MessageQuery{}); return err }},
			{"stats", func(s string) error {
				_, err := q.Stats(ctx, a, s, platform.StatsRequest{From: time.Now().Add(-time.Hour), To: time.Now()})
				return err
			}},
			{"states as of", func(s string) error { _, err := q.StatesAsOf(ctx, a, s, time.Now()); return err }},
			{"audit trail", func(s string) error { _, err := q.AuditTrail(ctx, a, domain.EventFilter{ServerID: s}); return err }},
			{"recipient messages", func(s string) error { _, err := q.RecipientMessages(ctx, a, "rcpt@remote.test", s); return err }},
			{"update server", func(s string) error {
				ref, _ := tenancy.ParseServerRef(s)
				mode := tenancy.ModeDevelopment
				_, _, err := c.UpdateServer(ctx, a, tenancy.UpdateServer{Ref: ref, Mode: &mode})
				return err
			}},
			{"add domain", func(s string) error {
				ref, _ := tenancy.ParseServerRef(s)
				_, err := c.AddDomain(ctx, a, tenancy.AddDomain{Domain: "new.example", Server: ref, SkipVerification: true})
				return err
			}},
			{"create credential", func(s string) error {
				ref, _ := tenancy.ParseServerRef(s)
				_, err := c.CreateCredential(ctx, a, tenancy.CreateCredential{Server: ref, Type: tenancy.CredentialAPI})
				return err
			}},
			{"create webhook", func(s string) error {
				_, _, err := c.CreateWebhook(ctx, a, platform.CreateWebhook{Server: s, URL: "https://hooks.example/x"})
				return err
			}},
			{"add suppression", func(s string) error {
				_, err := c.AddSuppression(ctx, a, platform.AddSuppression{Server: s, Address: "x@remote.test"})
				return err
			}},
			{"remove suppression", func(s string) error { return c.RemoveSuppression(ctx, a, s, "gone@remote.test", "test") }},
			{"bulk hold", func(s string) error {
				_, err := c.BulkHold(ctx, a, platform.BulkHold{Server: s, Action: platform.BulkRelease})
				return err
			}},
			{"send test", func(s string) error {
				_, err := c.SendTest(ctx, a, platform.SendTest{Server: s, From: "ops@b.example", To: "x@remote.test"})
				return err
			}},
		}
		for _, x := range byServer {
			sameNotFound(t, x.what, x.call(bSrv), x.call("acme/missing"), bSrv, "acme/missing")
		}

		// Installation-wide commands are forbidden, not hidden.
		if _, err := c.CreateOrg(ctx, a, "evil"); !errors.Is(err, platform.ErrForbidden) {
			t.Errorf("create org with a key: %v", err)
		}
		if _, err := c.CreateServer(ctx, a, tenancy.CreateServer{Ref: tenancy.ServerRef{Org: "acme", Name: "z"}}); !errors.Is(err, platform.ErrForbidden) {
			t.Errorf("create server with a key: %v", err)
		}
		if _, err := q.Users(ctx, a); !errors.Is(err, platform.ErrForbidden) {
			t.Errorf("users with a key: %v", err)
		}
		if _, err := q.InboundReports(ctx, a, inbound.Filter{}); !errors.Is(err, platform.ErrForbidden) {
			t.Errorf("inbound reports with a key: %v", err)
		}

		// Its own server is all there.
		if m, err := q.Message(ctx, a, ts.msgs["a"].MessageID); err != nil || m.ServerID != "acme/a" {
			t.Errorf("own message: %v, %v", m, err)
		}
		if ds, err := q.Domains(ctx, a, "acme/a"); err != nil || len(ds) != 1 || ds[0].Name != "a.example" {
			t.Errorf("own domains: %+v, %v", ds, err)
		}
		if ws, err := q.Webhooks(ctx, a, "acme/a"); err != nil || len(ws) != 1 || ws[0].ID != ts.hook["a"].ID {
			t.Errorf("own webhooks: %+v, %v", ws, err)
		}
		if recs, err := q.AuditTrail(ctx, a, domain.EventFilter{}); err != nil || len(recs) == 0 {
			t.Errorf("own audit trail: %d events, %v", len(recs), err)
		} else {
			for _, r := range recs {
				if r.Envelope.Server() != "acme/a" {
					t.Errorf("audit trail of key a holds %s of %s", r.Envelope.Type, r.Envelope.Server())
				}
			}
		}
		page, err := q.EventFeed(ctx, a, 0, 10000)
		must(t, err)
		for _, r := range page.Records {
			if r.Envelope.Server() != "acme/a" {
				t.Errorf("event feed of key a holds %s of %q", r.Envelope.Type, r.Envelope.Server())
			}
		}
		// A key submits for its own server, whatever the submission names.
		res, err := c.Submit(ctx, a, submission.Submission{Principal: submission.Principal{ServerID: "acme/b"}, MailFrom: "ops@a.example",
			Recipients: []string{"x@remote.test"}, Body: []byte("From: ops@a.example\r\nSubject: s\r\n\r\nhi\r\n"), Source: "api"})
		must(t, err)
		if m, err := q.Message(ctx, cli, res.MessageIDs[0]); err != nil || m.ServerID != "acme/a" || m.Queued.CredentialID != ts.keys["a"].ID {
			t.Errorf("a key's submission landed on %+v, %v", m, err)
		}
		// A revoked key is refused at once.
		_, err = c.RevokeCredential(ctx, cli, tenancy.RevokeCredential{ID: ts.keys["a"].ID})
		must(t, err)
		if _, err := q.AuthenticateAPIKey(ctx, ts.keys["a"].Key); !errors.Is(err, platform.ErrBadCredentials) {
			t.Errorf("revoked key: %v", err)
		}
	})
}

// TestUserSeesItsOrganizations: a UI user reaches the servers of its organizations only.
func TestUserSeesItsOrganizations(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ts := newTenants(t, e)
		ctx := ctxT(t)
		q, c := e.app.Queries, e.app.Commands
		const pw = "tr0ub4dor&3-horse-staple"
		_, err := c.CreateUser(ctx, cli, tenancy.CreateUser{Email: "ann@acme.example", Password: pw, Org: "acme"})
		must(t, err)
		if _, err := q.AuthenticateUser(ctx, "ann@acme.example", "wrong password!!"); !errors.Is(err, platform.ErrBadCredentials) {
			t.Errorf("wrong password: %v", err)
		}
		if _, err := q.AuthenticateUser(ctx, "nobody@acme.example", pw); !errors.Is(err, platform.ErrBadCredentials) {
			t.Errorf("unknown user: %v", err)
		}
		u, err := q.AuthenticateUser(ctx, "ann@acme.example", pw)
		must(t, err)
		if u.Actor().String() != "user:ann@acme.example" || u.IsOperator() {
			t.Fatalf("user caller %v", u)
		}
		srvs, err := q.Servers(ctx, u)
		must(t, err)
		if len(srvs) != 2 || srvs[0].ID != "acme/a" || srvs[1].ID != "acme/b" {
			t.Errorf("user's servers = %+v; want acme/a and acme/b", srvs)
		}
		if all, _ := q.Servers(ctx, cli); len(all) != 3 {
			t.Errorf("operator sees %d servers; want 3", len(all))
		}
		for _, name := range []string{"a", "b"} {
			if _, err := q.Message(ctx, u, ts.msgs[name].MessageID); err != nil {
				t.Errorf("message of %s: %v", name, err)
			}
		}
		sameNotFound(t, "other's message", func() error { _, err := q.Message(ctx, u, ts.msgs["c"].MessageID); return err }(),
			func() error { _, err := q.Message(ctx, u, missingID); return err }(), ts.msgs["c"].MessageID, missingID)
		sameNotFound(t, "other's domain", func() error { _, _, err := q.Domain(ctx, u, "c.example"); return err }(),
			func() error { _, _, err := q.Domain(ctx, u, "missing.example"); return err }(), "c.example", "missing.example")
		sameNotFound(t, "other's server", func() error { _, err := q.Server(ctx, u, "other/c"); return err }(),
			func() error { _, err := q.Server(ctx, u, "other/missing"); return err }(), "other/c", "other/missing")
		sameNotFound(t, "other's organization", func() error { _, err := q.Org(ctx, u, "other"); return err }(),
			func() error { _, err := q.Org(ctx, u, "missing"); return err }(), "other", "missing")
		if _, err := q.AuditTrail(ctx, u, domain.EventFilter{}); !errors.Is(err, platform.ErrInvalid) {
			t.Errorf("a user's audit trail without a server: %v", err)
		}
		// A member, not an admin, of acme: no server creation there; other is not its own.
		if _, err := c.CreateServer(ctx, u, tenancy.CreateServer{Ref: tenancy.ServerRef{Org: "acme", Name: "z"}}); !errors.Is(err, platform.ErrForbidden) {
			t.Errorf("a member creating a server: %v", err)
		}
		sameNotFound(t, "a server in another organization",
			func() error {
				_, err := c.CreateServer(ctx, u, tenancy.CreateServer{Ref: tenancy.ServerRef{Org: "other", Name: "z"}})
				return err
			}(),
			func() error {
				_, err := c.CreateServer(ctx, u, tenancy.CreateServer{Ref: tenancy.ServerRef{Org: "missing", Name: "z"}})
				return err
			}(),
			"other", "missing")
		// An admin of acme creates servers there.
		_, err = c.CreateUser(ctx, cli, tenancy.CreateUser{Email: "boss@acme.example", Password: pw, Org: "acme", Role: tenancy.RoleAdmin})
		must(t, err)
		boss, err := q.AuthenticateUser(ctx, "boss@acme.example", pw)
		must(t, err)
		if s, err := c.CreateServer(ctx, boss, tenancy.CreateServer{Ref: tenancy.ServerRef{Org: "acme", Name: "z"}}); err != nil || s.ID != "acme/z" {
			t.Errorf("an org admin creating a server: %+v, %v", s, err)
		}
		if ev, err := q.AuditTrail(ctx, cli, domain.EventFilter{StreamType: "server", StreamID: "acme/z"}); err != nil || len(ev) != 1 ||
			ev[0].Envelope.Actor.String() != "user:boss@acme.example" {
			t.Errorf("server.created by the admin: %+v, %v", ev, err)
		}
		// Memberships are read at once: a caller made after a change sees it.
		if _, err := q.UserCaller(ctx, "ann@acme.example"); err != nil {
			t.Error(err)
		}
	})
}
