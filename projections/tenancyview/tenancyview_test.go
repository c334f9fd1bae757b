package tenancyview_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/tenancyview"
)

type memSecrets map[string][]byte

func (m memSecrets) PutSecret(_ context.Context, id, _ string, v []byte) error { m[id] = v; return nil }
func (m memSecrets) GetSecret(_ context.Context, id string) ([]byte, error)    { return m[id], nil }
func (m memSecrets) DeleteSecret(_ context.Context, id string) error           { delete(m, id); return nil }

// TestViewAgreesWithStreams produces configuration events with the real handlers on each
// backend, applies them to the projection, and checks that its lookups answer what the
// credentials' own streams (domain/tenancy) say.
func TestViewAgreesWithStreams(t *testing.T) {
	for _, name := range pt.Backends {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			b := pt.Open(t, name)
			h, err := tenancy.NewHandlers(tenancy.Deps{Store: b.Store, Clock: time.Now, Rand: rand.Reader, Secrets: memSecrets{},
				DNS: tenancy.DNSConfig{SPFInclude: "spf.example.net", ReturnPathDomain: "rp.example.net", Hostname: "mx.example.net"}})
			if err != nil {
				t.Fatal(err)
			}
			actor := events.Actor{Type: events.ActorCLI, ID: "test"}
			ref := tenancy.ServerRef{Org: "acme", Name: "billing"}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			_, err = h.CreateOrg(ctx, tenancy.CreateOrg{Name: "acme", Actor: actor})
			must(err)
			_, err = h.CreateServer(ctx, tenancy.CreateServer{Ref: ref, Actor: actor})
			must(err)
			dev := "development"
			_, _, err = h.UpdateServer(ctx, tenancy.UpdateServer{Ref: ref, Mode: &dev, Actor: actor})
			must(err)
			_, err = h.AddDomain(ctx, tenancy.AddDomain{Domain: "example.com", Server: ref, SkipVerification: true, Actor: actor})
			must(err)
			_, err = h.AddDomain(ctx, tenancy.AddDomain{Domain: "pending.example.com", Server: ref, Actor: actor})
			must(err)
			smtp, err := h.CreateCredential(ctx, tenancy.CreateCredential{Server: ref, Type: "smtp", Actor: actor})
			must(err)
			api, err := h.CreateCredential(ctx, tenancy.CreateCredential{Server: ref, Type: "api", Actor: actor})
			must(err)
			ip, err := h.CreateCredential(ctx, tenancy.CreateCredential{Server: ref, Type: "smtp-ip", CIDR: "192.0.2.0/24", Actor: actor})
			must(err)
			_, err = h.CreateCredential(ctx, tenancy.CreateCredential{Server: ref, Type: "smtp-ip", CIDR: "198.51.100.0/24", Actor: actor})
			must(err)
			hold := true
			_, _, err = h.UpdateCredential(ctx, tenancy.UpdateCredential{ID: smtp.ID, Hold: &hold, Actor: actor})
			must(err)
			_, err = h.RevokeCredential(ctx, tenancy.RevokeCredential{ID: api.ID, Actor: actor})
			must(err)

			recs, err := b.Store.Query(ctx, domain.EventFilter{Limit: 10000})
			must(err)
			b.Apply(t, tenancyview.New(), recs...)

			got, ok, err := tenancyview.CredentialByUsername(ctx, b.DB, smtp.Username)
			want, _ := h.GetCredential(ctx, smtp.ID)
			if err != nil || !ok || got.ID != want.ID || got.Hash != want.Hash || !got.Hold || got.Revoked || got.ServerID != "acme/billing" {
				t.Errorf("by username = %+v, %v, %v; streams say %+v", got, ok, err, want)
			}
			if got, ok, err := tenancyview.CredentialByHash(ctx, b.DB, tenancy.HashSecret(api.Key)); err != nil || !ok || got.ID != api.ID || !got.Revoked {
				t.Errorf("by key hash = %+v, %v, %v", got, ok, err)
			}
			viewIPs, err := tenancyview.ActiveCredentials(ctx, b.DB, "smtp-ip")
			must(err)
			var streamIPs []tenancy.Credential
			all, err := h.ListCredentials(ctx, ref)
			must(err)
			for _, c := range all {
				if c.Type == "smtp-ip" && !c.Revoked {
					streamIPs = append(streamIPs, c)
				}
			}
			if len(viewIPs) != 2 || len(streamIPs) != 2 || viewIPs[0].CIDR != ip.CIDR && viewIPs[1].CIDR != ip.CIDR {
				t.Errorf("active smtp-ip: view %+v, streams %+v", viewIPs, streamIPs)
			}
			ds, err := tenancyview.DomainsOfServer(ctx, b.DB, "acme/billing")
			if err != nil || len(ds) != 2 || ds[0].Name != "example.com" || !ds[0].Verified || ds[1].Verified {
				t.Errorf("domains = %+v, %v", ds, err)
			}
			var mode string
			must(b.DB.QueryRowContext(ctx, `SELECT mode FROM tenancy_servers WHERE id = ?`, "acme/billing").Scan(&mode))
			if mode != "development" {
				t.Errorf("server mode = %q", mode)
			}
		})
	}
}
