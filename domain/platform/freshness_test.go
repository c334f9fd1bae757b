package platform_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/tenancy"
)

// TestFreshness: a credential, a domain and a webhook created a moment ago are found with no
// projector running and with one running (and having applied older writes); a revoked
// credential stops working at once, whatever the read model says.
func TestFreshness(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := ctxT(t)
		q, c := e.app.Queries, e.app.Commands

		check := func(when string, ref tenancy.ServerRef, smtp, api, ip tenancy.NewCredential, dom string, hook string) {
			t.Helper()
			if p, err := q.AuthenticateSMTP(ctx, smtp.Username, smtp.Password); err != nil || p.CredentialID != smtp.ID || p.ServerID != ref.ID() {
				t.Errorf("%s: smtp credential: %+v, %v", when, p, err)
			}
			if k, err := q.AuthenticateAPIKey(ctx, api.Key); err != nil || k.ServerID() != ref.ID() {
				t.Errorf("%s: api key: %v, %v", when, k, err)
			}
			if p, ok, err := q.AuthenticateSMTPIP(ctx, netip.MustParseAddr("192.0.2.7")); err != nil || !ok || p.CredentialID != ip.ID {
				t.Errorf("%s: smtp-ip: %+v, %v, %v", when, p, ok, err)
			}
			ds, err := q.Domains(ctx, cli, ref.String())
			if err != nil || len(ds) != 1 || ds[0].Name != dom {
				t.Errorf("%s: domains %+v, %v", when, ds, err)
			}
			if _, _, err := q.Domain(ctx, cli, dom); err != nil {
				t.Errorf("%s: domain: %v", when, err)
			}
			ws, err := q.Webhooks(ctx, cli, ref.String())
			if err != nil || len(ws) != 1 || ws[0].ID != hook {
				t.Errorf("%s: webhooks %+v, %v", when, ws, err)
			}
		}
		create := func(server string, cidr string) (tenancy.ServerRef, tenancy.NewCredential, tenancy.NewCredential, tenancy.NewCredential, string, string) {
			ref := e.tenant(t, "acme", server, server+".example")
			smtp := e.credential(t, ref, tenancy.CredentialSMTP, "")
			api := e.credential(t, ref, tenancy.CredentialAPI, "")
			ip := e.credential(t, ref, tenancy.CredentialSMTPIP, cidr)
			s, _, err := c.CreateWebhook(ctx, cli, platform.CreateWebhook{Server: ref.String(), URL: "https://hooks.example/" + server})
			must(t, err)
			return ref, smtp, api, ip, server + ".example", s.ID
		}

		// No projector has ever run: the models are empty, their horizon 0.
		ref1, smtp1, api1, ip1, dom1, hook1 := create("one", "192.0.2.0/24")
		check("no projector", ref1, smtp1, api1, ip1, dom1, hook1)

		// The projector applies everything so far; what is created next is past its horizon.
		e.project(t)
		check("projected", ref1, smtp1, api1, ip1, dom1, hook1)
		ref2, smtp2, api2, ip2, dom2, hook2 := create("two", "192.0.2.0/28") // more specific: wins for .7
		check("created past the horizon", ref2, smtp2, api2, ip2, dom2, hook2)
		if p, err := q.AuthenticateSMTP(ctx, smtp1.Username, smtp1.Password); err != nil || p.CredentialID != smtp1.ID {
			t.Errorf("an older credential after newer ones: %+v, %v", p, err)
		}
		// User names are lower case: the one a client types in another case works too.
		if _, err := q.AuthenticateSMTP(ctx, upper(smtp2.Username), smtp2.Password); err != nil {
			t.Errorf("user name in upper case: %v", err)
		}

		// Revoked a moment ago, the read model still active: refused at once.
		e.project(t)
		for _, cr := range []tenancy.NewCredential{smtp2, api2, ip2} {
			_, err := c.RevokeCredential(ctx, cli, tenancy.RevokeCredential{ID: cr.ID, Reason: "test"})
			must(t, err)
		}
		if _, err := q.AuthenticateSMTP(ctx, smtp2.Username, smtp2.Password); !errors.Is(err, platform.ErrBadCredentials) {
			t.Errorf("revoked smtp credential: %v", err)
		}
		if _, err := q.AuthenticateAPIKey(ctx, api2.Key); !errors.Is(err, platform.ErrBadCredentials) {
			t.Errorf("revoked api key: %v", err)
		}
		if p, ok, err := q.AuthenticateSMTPIP(ctx, netip.MustParseAddr("192.0.2.7")); err != nil || !ok || p.CredentialID != ip1.ID {
			t.Errorf("after revoking the more specific range: %+v, %v, %v; want the /24", p, ok, err)
		}
		// A hold set a moment ago counts at once too.
		hold := true
		_, _, err := c.UpdateCredential(ctx, cli, tenancy.UpdateCredential{ID: smtp1.ID, Hold: &hold})
		must(t, err)
		if p, err := q.AuthenticateSMTP(ctx, smtp1.Username, smtp1.Password); err != nil || !p.Hold {
			t.Errorf("hold set a moment ago: %+v, %v", p, err)
		}
		if p, ok, err := q.AuthenticateSMTPIP(ctx, netip.MustParseAddr("198.51.100.1")); err != nil || ok {
			t.Errorf("an address of no range: %+v, %v, %v", p, ok, err)
		}
		e.project(t)
		if _, err := q.AuthenticateSMTP(ctx, smtp2.Username, smtp2.Password); !errors.Is(err, platform.ErrBadCredentials) {
			t.Errorf("revoked smtp credential once projected: %v", err)
		}
		if _, err := q.AuthenticateSMTP(ctx, smtp1.Username, "wrong"); !errors.Is(err, platform.ErrBadCredentials) {
			t.Errorf("wrong password: %v", err)
		}

		// A message queued a moment ago is found by its recipient (the view plus the tail).
		m, err := c.SendTest(ctx, cli, platform.SendTest{Server: ref1.String(), From: "ops@one.example", To: "Late@Remote.test"})
		must(t, err)
		ids, err := q.RecipientMessages(ctx, cli, "late@remote.test", "")
		if err != nil || len(ids) != 1 || ids[0] != m.MessageID {
			t.Errorf("recipient's messages before the view has them: %v, %v", ids, err)
		}
		show, err := q.MessageDetail(ctx, cli, m.MessageID, time.Time{})
		if err != nil || show.Source != platform.SourceLog || show.Summary.RcptTo != "late@remote.test" {
			t.Errorf("detail before the view has it: %+v, %v", show, err)
		}
		e.project(t)
		ids, err = q.RecipientMessages(ctx, cli, "late@remote.test", ref1.ID())
		if err != nil || len(ids) != 1 || ids[0] != m.MessageID {
			t.Errorf("recipient's messages once projected: %v, %v", ids, err)
		}
		show, err = q.MessageDetail(ctx, cli, m.MessageID, time.Time{})
		if err != nil || show.Source != platform.SourceView || show.Summary.ID != m.MessageID {
			t.Errorf("detail once projected: %+v, %v", show, err)
		}
		if _, err := q.MessageDetail(ctx, cli, m.MessageID, time.Now().Add(-time.Hour)); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("detail as of before it was queued: %v", err)
		}
	})
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
