package tenancy_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

var ctx = context.Background()

func TestNewHandlersRefusesMissingDeps(t *testing.T) {
	if _, err := tenancy.NewHandlers(tenancy.Deps{}); err == nil || !strings.Contains(err.Error(), "store is nil") {
		t.Fatalf("err = %v", err)
	}
}

func TestCreateOrgUniqueCaseInsensitive(t *testing.T) {
	f := newFixture(t)
	o, err := f.h.CreateOrg(ctx, tenancy.CreateOrg{Name: "Acme", Actor: cli})
	if err != nil || o.ID != "acme" || o.Name != "Acme" || o.CreatedBy != cli {
		t.Fatalf("create = %+v, %v", o, err)
	}
	_, err = f.h.CreateOrg(ctx, tenancy.CreateOrg{Name: "ACME", Actor: cli})
	if !errors.Is(err, tenancy.ErrAlreadyExists) || err.Error() != `organization "ACME" already exists` {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := f.h.CreateOrg(ctx, tenancy.CreateOrg{Name: "a/b", Actor: cli}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Fatalf("slash in name: %v", err)
	}
	if got := f.store.types(); !reflect.DeepEqual(got, []string{"org.created"}) {
		t.Fatalf("events = %v", got)
	}
	if _, err := f.h.CreateOrg(ctx, tenancy.CreateOrg{Name: "other"}); err == nil {
		t.Fatal("create without actor accepted")
	}
}

func TestCreateServer(t *testing.T) {
	f := newFixture(t)
	ref := tenancy.ServerRef{Org: "acme", Name: "billing"}
	if _, err := f.h.CreateServer(ctx, tenancy.CreateServer{Ref: ref, Actor: cli}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("server of unknown org: %v", err)
	}
	f.h.CreateOrg(ctx, tenancy.CreateOrg{Name: "Acme", Actor: cli})
	if _, err := f.h.CreateServer(ctx, tenancy.CreateServer{Ref: ref, Mode: "test", Actor: cli}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Fatalf("bad mode: %v", err)
	}
	s, err := f.h.CreateServer(ctx, tenancy.CreateServer{Ref: tenancy.ServerRef{Org: "ACME", Name: "Billing"}, SendLimitPerHour: 500, Actor: cli})
	if err != nil {
		t.Fatal(err)
	}
	want := tenancy.Server{ID: "acme/billing", OrgID: "acme", OrgName: "Acme", Name: "Billing", Mode: "live", SendLimitPerHour: 500,
		RetentionDays: 30, SuppressOnHard: true, SuppressOnSpam: true, CreatedAt: pinned}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("server = %+v\nwant %+v", s, want)
	}
	if _, err := f.h.CreateServer(ctx, tenancy.CreateServer{Ref: ref, Actor: cli}); !errors.Is(err, tenancy.ErrAlreadyExists) {
		t.Fatalf("duplicate server: %v", err)
	}
	recs, _ := f.store.ReadStream(ctx, events.StreamServer, "acme/billing", 1)
	if len(recs) != 1 || recs[0].Envelope.Server() != "acme/billing" {
		t.Fatalf("server stream = %+v", recs)
	}
}

func TestCreateUser(t *testing.T) {
	f := newFixture(t)
	f.withServer(t)
	for _, c := range []struct{ pw, want string }{
		{"", "password is missing"},
		{"short", "5 characters, at least 12 required"},
		{"aaaaaaaaaaaaaaaa", "only 1 distinct characters"},
		{"password1234", "well-known password"},
		{"xx-operator-xx", "contains the email's user name"},
	} {
		_, err := f.h.CreateUser(ctx, tenancy.CreateUser{Email: "operator@example.com", Password: c.pw, Actor: cli})
		if !errors.Is(err, tenancy.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("password %q: err = %v, want %q", c.pw, err, c.want)
		}
	}
	if _, err := f.h.CreateUser(ctx, tenancy.CreateUser{Email: "Ops <ops@example.com>", Password: "long enough passphrase", Actor: cli}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Errorf("display-name email accepted: %v", err)
	}
	if _, err := f.h.CreateUser(ctx, tenancy.CreateUser{Email: "ops@example.com", Password: "long enough passphrase", Org: "nope", Actor: cli}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("unknown org: %v", err)
	}
	if n := len(f.store.types()); n != 2 {
		t.Fatalf("failed creates wrote events: %v", f.store.types())
	}
	u, err := f.h.CreateUser(ctx, tenancy.CreateUser{Email: "Ops@Example.com", Password: "long enough passphrase", Admin: true, Org: "acme", Actor: cli})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "ops@example.com" || !u.Admin || u.PasswordHash != "fake$22" || !reflect.DeepEqual(u.Orgs, map[string]string{"acme": "member"}) {
		t.Fatalf("user = %+v", u)
	}
	if strings.Contains(f.store.raw(), "long enough passphrase") {
		t.Fatal("password in the event log")
	}
	if _, err := f.h.CreateUser(ctx, tenancy.CreateUser{Email: "ops@example.com", Password: "another long passphrase", Actor: cli}); !errors.Is(err, tenancy.ErrAlreadyExists) {
		t.Fatalf("duplicate user: %v", err)
	}
	us, err := f.h.ListUsers(ctx)
	if err != nil || len(us) != 1 || us[0].Email != "ops@example.com" {
		t.Fatalf("list = %+v, %v", us, err)
	}
}

func TestAddDomainKeysSecretsAndEvents(t *testing.T) {
	f := newFixture(t)
	ref := f.withServer(t)
	d, err := f.h.AddDomain(ctx, tenancy.AddDomain{Domain: "Mail.Example.COM.", Server: ref, Ed25519: true, Actor: cli})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "mail.example.com" || d.ServerID != "acme/billing" || d.Verified || len(d.VerificationToken) != 32 {
		t.Fatalf("domain = %+v", d)
	}
	if len(d.Keys) != 2 || d.Keys[0].Algorithm != tenancy.AlgRSASHA256 || d.Keys[0].Selector != "ph20261124r" ||
		d.Keys[1].Algorithm != tenancy.AlgEd25519SHA256 || d.Keys[1].Selector != "ph20261124e" {
		t.Fatalf("keys = %+v", d.Keys)
	}
	// The private keys are secrets matching the published public keys, and never in an event.
	raw := f.store.raw()
	for _, k := range d.Keys {
		der, err := f.secrets.GetSecret(ctx, k.SecretID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, base64.StdEncoding.EncodeToString(der)) {
			t.Fatal("private key in the event log")
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := base64.StdEncoding.DecodeString(k.PublicKey)
		switch p := priv.(type) {
		case *rsa.PrivateKey:
			want, _ := x509.MarshalPKIXPublicKey(&p.PublicKey)
			if !reflect.DeepEqual(pub, want) || p.N.BitLen() != 2048 || k.Bits != 2048 {
				t.Error("rsa public key does not match its private key or is not 2048 bits")
			}
		case ed25519.PrivateKey:
			if !reflect.DeepEqual(pub, []byte(p.Public().(ed25519.PublicKey))) {
				t.Error("ed25519 public key does not match its private key")
			}
		default:
			t.Errorf("unexpected key type %T", priv)
		}
	}
	if got := f.store.types(); got[len(got)-1] != "domain.added" {
		t.Fatalf("events = %v", got)
	}
	// Duplicate (any case): refused, no new event, no new secret.
	_, err = f.h.AddDomain(ctx, tenancy.AddDomain{Domain: "MAIL.example.com", Server: ref, Actor: cli})
	if !errors.Is(err, tenancy.ErrAlreadyExists) || len(f.secrets.m) != 2 {
		t.Fatalf("duplicate: %v, %d secrets", err, len(f.secrets.m))
	}
	for _, bad := range []string{"localhost", "exa mple.com", "-x.example.com", "example.123", "bücher.de", "a..b"} {
		if _, err := f.h.AddDomain(ctx, tenancy.AddDomain{Domain: bad, Server: ref, Actor: cli}); !errors.Is(err, tenancy.ErrInvalid) {
			t.Errorf("malformed %q: %v", bad, err)
		}
	}
	if _, err := f.h.AddDomain(ctx, tenancy.AddDomain{Domain: "other.com", Server: tenancy.ServerRef{Org: "acme", Name: "nope"}, Actor: cli}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("unknown server: %v", err)
	}
	ds, err := f.h.DomainsOfServer(ctx, ref)
	if err != nil || len(ds) != 1 || ds[0].Name != "mail.example.com" {
		t.Fatalf("domains of server = %+v, %v", ds, err)
	}
}

func TestAddDomainRaceLeavesNoSecret(t *testing.T) {
	f := newFixture(t)
	ref := f.withServer(t)
	// Another writer adds the domain between our read and our append.
	f.store.beforeAppend = func() {
		env, _ := events.New(events.DomainAdded{Name: "example.com", VerificationToken: "x"}, events.Meta{ID: "other",
			StreamType: events.StreamDomain, StreamID: "example.com", StreamVersion: 1, OccurredAt: pinned, Actor: cli})
		if err := f.store.Append(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.h.AddDomain(ctx, tenancy.AddDomain{Domain: "example.com", Server: ref, Actor: cli})
	if !errors.Is(err, tenancy.ErrAlreadyExists) {
		t.Fatalf("err = %v", err)
	}
	if len(f.secrets.m) != 0 {
		t.Fatalf("%d DKIM secrets left behind", len(f.secrets.m))
	}
}

func TestSkipVerification(t *testing.T) {
	f := newFixture(t)
	ref := f.withServer(t)
	d, err := f.h.AddDomain(ctx, tenancy.AddDomain{Domain: "dev.example.com", Server: ref, SkipVerification: true, Actor: cli})
	if err != nil || !d.Verified || d.VerifiedMethod != "skipped" || !d.CanSend() {
		t.Fatalf("domain = %+v, %v", d, err)
	}
	recs, _ := f.store.ReadStream(ctx, events.StreamDomain, "dev.example.com", 1)
	if len(recs) != 2 || recs[1].Envelope.Type != "domain.verified" || recs[1].Envelope.Actor != cli {
		t.Fatalf("audit trail = %+v", recs)
	}
}

func TestCredentials(t *testing.T) {
	f := newFixture(t)
	ref := f.withServer(t)
	smtp, err := f.h.CreateCredential(ctx, tenancy.CreateCredential{Server: ref, Type: "smtp", Actor: cli})
	if err != nil {
		t.Fatal(err)
	}
	if len(smtp.Password) != 32 || !strings.HasPrefix(smtp.Username, "acme-billing-") || smtp.Hash != tenancy.HashSecret(smtp.Password) {
		t.Fatalf("smtp = %+v", smtp)
	}
	api, err := f.h.CreateCredential(ctx, tenancy.CreateCredential{Server: ref, Type: "api", Name: "app", Hold: true, Actor: cli})
	if err != nil || len(api.Key) != 32 || api.KeyPrefix != api.Key[:8] || api.Name != "app" || !api.Hold {
		t.Fatalf("api = %+v, %v", api, err)
	}
	raw := f.store.raw()
	if strings.Contains(raw, smtp.Password) || strings.Contains(raw, api.Key) {
		t.Fatal("secret in the event log")
	}
	ip, err := f.h.CreateCredential(ctx, tenancy.CreateCredential{Server: ref, Type: "smtp-ip", CIDR: "2001:db8::/32", Actor: cli})
	if err != nil || ip.CIDR != "2001:db8::/32" {
		t.Fatalf("smtp-ip = %+v, %v", ip, err)
	}
	for _, c := range []tenancy.CreateCredential{
		{Server: ref, Type: "smtp-ip", Actor: cli},
		{Server: ref, Type: "smtp-ip", CIDR: "192.0.2.1/24", Actor: cli},
		{Server: ref, Type: "smtp-ip", CIDR: "nonsense", Actor: cli},
		{Server: ref, Type: "smtp", CIDR: "192.0.2.0/24", Actor: cli},
		{Server: ref, Type: "pop3", Actor: cli},
	} {
		if _, err := f.h.CreateCredential(ctx, c); !errors.Is(err, tenancy.ErrInvalid) {
			t.Errorf("%+v: err = %v", c, err)
		}
	}
	if _, err := f.h.CreateCredential(ctx, tenancy.CreateCredential{Server: tenancy.ServerRef{Org: "x", Name: "y"}, Type: "api", Actor: cli}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("unknown server: %v", err)
	}
	// Finding a credential by its user name, whatever its case, is domain/platform's keyed
	// lookup now (TestSMTPSubmissionPorts).
	if _, err := f.h.RevokeCredential(ctx, tenancy.RevokeCredential{ID: api.ID, Reason: "leaked", Actor: cli}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.RevokeCredential(ctx, tenancy.RevokeCredential{ID: api.ID, Actor: cli}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := f.h.RevokeCredential(ctx, tenancy.RevokeCredential{ID: "nope", Actor: cli}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("unknown revoke: %v", err)
	}
	list, err := f.h.ListCredentials(ctx, ref)
	if err != nil || len(list) != 3 || list[0].ID != smtp.ID || !list[1].Revoked || list[2].Type != "smtp-ip" {
		t.Fatalf("list = %+v, %v", list, err)
	}
}
