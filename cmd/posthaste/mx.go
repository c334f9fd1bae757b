package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/posthaste/posthaste/adapters/smtpin"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/projections/messageview"
)

// Wiring of the mx role: the inbound MX listener of the return-path domain and the intake of
// the reports it receives (bounces, complaints, automatic replies).

// pendingSweep is how often the mx role retries reports stored but left unprocessed (a crash
// or an event store failure between the 250 and the processing), and how old they must be.
const (
	pendingSweep  = 30 * time.Second
	pendingMinAge = time.Minute
)

func buildMXRole(cfg Config, p *Platform, log *slog.Logger) (role, error) {
	if len(cfg.MXListen) == 0 {
		return role{}, errors.New("mx: POSTHASTE_MX_LISTEN is not set")
	}
	if p.Inbound == nil {
		return role{}, errors.New("mx: the store cannot keep inbound reports")
	}
	deps, err := p.lifecycle(cfg)
	if err != nil {
		return role{}, err
	}
	view, err := messageview.NewReader(p.DB.SQL)
	if err != nil {
		return role{}, fmt.Errorf("mx: message view: %w", err)
	}
	if err := cfg.ensureSecretKey(nil); err != nil {
		return role{}, fmt.Errorf("mx: %w", err)
	}
	in, err := inbound.New(inbound.Config{
		Store: p.Inbound, Events: p.Events, Suppressor: deps.suppressions,
		Policies: serverPolicies{deps.tenancy}, ReturnPathDomain: cfg.ReturnPathDomain,
		Recorder: deps.recorder, Logger: log,
		Messages: messageIndex{view}, RefKey: refKey(cfg.SecretKey),
	})
	if err != nil {
		return role{}, err
	}
	cert, err := smtpin.LoadCertificate(cfg.TLSCert, cfg.TLSKey, cfg.Hostname, cfg.DataDir, time.Now())
	if err != nil {
		return role{}, fmt.Errorf("mx: certificate: %w", err)
	}
	srv, err := smtpin.NewMX(smtpin.MXConfig{
		Hostname:        cfg.Hostname,
		Listen:          cfg.MXListen,
		TLS:             &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		MaxMessageBytes: cfg.MaxMessageSize,
		Receiver:        in,
		Logger:          log,
	})
	if err != nil {
		return role{}, err
	}
	return role{"mx", func(ctx context.Context) error {
		if err := srv.Start(); err != nil {
			return err
		}
		t := time.NewTicker(pendingSweep)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if n, err := in.ProcessPending(ctx, pendingMinAge); err != nil {
					log.Warn("mx: pending reports not processed", "processed", n, "err", err)
				} else if n > 0 {
					log.Info("mx: pending reports processed", "processed", n)
				}
				continue
			case <-ctx.Done():
			}
			break
		}
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	}}, nil
}

// messageIndex serves the intake's Message-ID lookups from the message view read model.
type messageIndex struct{ r *messageview.Reader }

func (m messageIndex) ByMessageID(ctx context.Context, msgID string, rcpts []string, since time.Time, limit int) ([]inbound.IndexedMessage, error) {
	refs, err := m.r.ByMessageID(ctx, msgID, rcpts, since, limit)
	if err != nil {
		return nil, err
	}
	out := make([]inbound.IndexedMessage, len(refs))
	for i, r := range refs {
		out[i] = inbound.IndexedMessage{ID: r.ID, ServerID: r.ServerID, RcptTo: r.RcptTo}
	}
	return out, nil
}

// refKey derives the key of the X-Posthaste-Ref tags (inbound.Ref) from the server secret, so
// the secret itself never signs anything else; nil without a secret (references ignored).
func refKey(secret []byte) []byte {
	if len(secret) == 0 {
		return nil
	}
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("posthaste inbound reference key v1"))
	return h.Sum(nil)
}

// refField returns the worker's X-Posthaste-Ref maker under the key derived from the server
// secret (nil without a secret): the mx role verifies the same tags (Config.RefKey).
func refField(secret []byte) func(string) string {
	k := refKey(secret)
	if k == nil {
		return nil
	}
	return func(id string) string { return inbound.Ref(k, id) }
}

// serverPolicies reads a server's suppression settings from its stream (read-your-writes).
type serverPolicies struct{ h *tenancy.Handlers }

func (s serverPolicies) SuppressionPolicy(ctx context.Context, serverID string) (bool, bool, error) {
	ref, err := tenancy.ParseServerRef(serverID)
	if err != nil {
		return false, false, err
	}
	srv, err := s.h.GetServer(ctx, ref)
	if errors.Is(err, tenancy.ErrNotFound) {
		return true, true, nil // the defaults of every server
	}
	if err != nil {
		return false, false, err
	}
	return srv.SuppressOnHard, srv.SuppressOnSpam, nil
}
