package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/webhooksender"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// Wiring of webhooks: the "webhooks" role (the HTTP sender).

// webhookDeliveries lists webhook deliveries from the read model and makes them due again
// through the sender's queue (the CLI's webhook commands, the API's deliveries endpoints).
type webhookDeliveries struct {
	*webhookqueue.Reader
	*sqlstore.WebhookQueue
}

func newWebhookDeliveries(db sqlDatabase) (webhookDeliveries, error) {
	r, err := webhookqueue.NewReader(db.SQL)
	if err != nil {
		return webhookDeliveries{}, err
	}
	q, err := sqlstore.NewWebhookQueue(db.SQL, db.Dialect)
	if err != nil {
		return webhookDeliveries{}, err
	}
	return webhookDeliveries{Reader: r, WebhookQueue: q}, nil
}

// webhookSchedule is the retry schedule with POSTHASTE_WEBHOOK_RETRY_INITIAL as its first wait.
func webhookSchedule(cfg Config) webhook.Schedule {
	s := webhook.DefaultSchedule
	if cfg.WebhookRetryInitial > 0 {
		s.Initial = cfg.WebhookRetryInitial
		if s.MaxWait < s.Initial {
			s.MaxWait = s.Initial
		}
	}
	return s
}

// webhookHandlers are the subscription commands on the platform's store and secrets.
func webhookHandlers(p *Platform, deps *lifecycleDeps) (*webhook.Handlers, error) {
	return webhook.NewHandlers(webhook.Deps{Store: p.Events, Secrets: deps.secrets, Clock: time.Now, Rand: rand.Reader})
}

func buildWebhooksRole(cfg Config, p *Platform, log *slog.Logger) (role, error) {
	deps, err := p.lifecycle(cfg)
	if err != nil {
		return role{}, err
	}
	h, err := webhookHandlers(p, deps)
	if err != nil {
		return role{}, err
	}
	q, err := sqlstore.NewWebhookQueue(p.DB.SQL, p.DB.Dialect)
	if err != nil {
		return role{}, err
	}
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), events.NewID(time.Now(), nil)[24:])
	s, err := webhooksender.New(webhooksender.Config{
		Owner: owner, Schedule: webhookSchedule(cfg), Timeout: cfg.WebhookTimeout, AllowPrivate: cfg.WebhookAllowPrivate,
	}, webhooksender.Deps{
		Queue: q, Secrets: deps.secrets, Disabler: h,
		PostalKey: func(ctx context.Context) (webhook.PostalKey, error) {
			return webhook.LoadPostalKey(ctx, deps.secrets, rand.Reader)
		},
		Clock: time.Now, Rand: webhooksender.DefaultRand, Logger: log, Observer: webhookSenderMetrics,
	})
	if err != nil {
		return role{}, err
	}
	return role{"webhooks", s.Run}, nil
}
