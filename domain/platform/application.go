package platform

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/relay"
	"github.com/posthaste/posthaste/domain/sendpolicy"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/suppression"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/webhook"
)

// Application is the platform as every edge sees it: the commands (state changes), the queries
// (reads) and the workflows the roles run, composed once by New.
type Application struct {
	Commands  *Commands
	Queries   *Queries
	Workflows Workflows

	c *core
}

// Commands change state. Every method takes the Caller it acts for (see Caller) and records the
// caller's actor. One file per command or small group: commands_*.go.
type Commands struct{ c *core }

// Queries read state. Every method that touches a server or an organization takes the Caller
// and answers only within its scope. One file per query or small group: queries_*.go.
type Queries struct{ c *core }

// core holds what New composed: one of each domain handler, on the application's own event store
// (which tells the hub about every append).
type core struct {
	d   Deps
	rec domain.Recorder
	hub *hub

	events      domain.EventStore   // Deps.Events, telling the hub
	acceptor    submission.Acceptor // Deps.Acceptor, telling the hub
	transcripts Transcripts         // Deps.Transcripts, telling the hub when it records attempts

	tenancy      *tenancy.Handlers
	suppressions *suppression.Handler
	messages     *message.Handler
	webhooks     *webhook.Handlers
	policy       *sendpolicy.Policy
	submit       *submission.Handler
	dkim         *tenancy.DKIMSigner // nil without Deps.DKIM
	creds        credentials
	refKey       []byte

	dummyOnce sync.Once // equaliseTiming
	dummyHash string
}

// New composes the application from d. It refuses missing required ports, and the ports of every
// workflow listed in d.Run, listing every problem at once.
func New(d Deps) (*Application, error) {
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("platform: new: %w", err)
	}
	if d.Config.Retry == (delivery.RetryPolicy{}) {
		d.Config.Retry = delivery.DefaultRetryPolicy()
	}
	if d.Config.WebhookSchedule == (webhook.Schedule{}) {
		d.Config.WebhookSchedule = webhook.DefaultSchedule
	}
	c := &core{d: d, rec: domain.Recorder{Clock: d.Clock, Rand: d.Rand}, hub: &hub{}, refKey: inbound.RefKey(d.Config.ServerSecret)}
	c.events = notifyingStore{EventStore: d.Events, hub: c.hub}
	c.acceptor = notifyingAcceptor{Acceptor: d.Acceptor, hub: c.hub}
	c.transcripts = wrapTranscripts(d.Transcripts, c.hub)

	var err error
	td := tenancy.Deps{Store: c.events, Clock: d.Clock, Rand: d.Rand, Secrets: d.Secrets, Hasher: d.Hasher, Resolver: d.Resolver,
		DNS: tenancy.DNSConfig{SPFInclude: d.Config.SPFInclude, ReturnPathDomain: d.Config.ReturnPathDomain, Hostname: d.Config.Hostname}}
	if c.tenancy, err = tenancy.NewHandlers(td); err != nil {
		return nil, fmt.Errorf("platform: new: %w", err)
	}
	if c.suppressions, err = suppression.NewHandler(c.events, c.rec); err != nil {
		return nil, fmt.Errorf("platform: new: %w", err)
	}
	if c.messages, err = message.NewHandler(c.events, c.rec); err != nil {
		return nil, fmt.Errorf("platform: new: %w", err)
	}
	if c.webhooks, err = webhook.NewHandlers(webhook.Deps{Store: c.events, Secrets: d.Secrets, Clock: d.Clock, Rand: d.Rand}); err != nil {
		return nil, fmt.Errorf("platform: new: %w", err)
	}
	// The policy's own credential lookups are not used: authentication is credentials (keyed).
	if c.policy, err = sendpolicy.New(c.tenancy, c.suppressions, d.SendCounter, c.events, c.rec); err != nil {
		return nil, fmt.Errorf("platform: new: %w", err)
	}
	c.submit, err = submission.NewHandler(submission.Config{
		Hostname: d.Config.Hostname,
		Domains:  sendpolicy.NewVerifiedDomains(c.policy, sendpolicy.VerifiedDomainTTL, d.Clock),
		Acceptor: c.acceptor,
		Holds:    c.policy,
		Clock:    d.Clock,
		Random:   d.Rand,
	})
	if err != nil {
		return nil, fmt.Errorf("platform: new: %w", err)
	}
	if d.DKIM != nil {
		if c.dkim, err = tenancy.NewDKIMSigner(c.tenancy, d.DKIM); err != nil {
			return nil, fmt.Errorf("platform: new: %w", err)
		}
	}
	c.creds = credentials{store: c.events, index: d.Credentials, tenancy: c.tenancy}

	app := &Application{Commands: &Commands{c}, Queries: &Queries{c}, c: c}
	if app.Workflows, err = c.workflows(); err != nil {
		return nil, fmt.Errorf("platform: new: %w", err)
	}
	return app, nil
}

// OnAccepted subscribes fn to the application's one wake path: it is called, in the goroutine of
// the command, with the ids of the messages that became due for delivery (accepted without a hold
// by any edge, or released from a hold). fn must not block. The application's own delivery worker
// is subscribed already.
func (a *Application) OnAccepted(fn func(messageIDs []string)) { a.c.hub.onAccepted(fn) }

// Config returns the settings the application runs with (defaults filled in).
func (a *Application) Config() Config { return a.c.d.Config }

// workflows builds the workflows listed in Deps.Run.
func (c *core) workflows() (Workflows, error) {
	var w Workflows
	d := c.d
	if d.wants(RunDelivery) {
		decider, err := delivery.NewDecider(d.Config.Retry)
		if err != nil {
			return w, err
		}
		worker, err := delivery.NewWorker(delivery.WorkerConfig{
			Owner:       d.Config.WorkerOwner,
			Store:       c.events,
			Queue:       d.DeliveryQueue,
			Bodies:      d.Bodies,
			Signer:      c.dkim, // validate made sure DKIM is set: c.dkim is not nil
			Sender:      d.Sender,
			Transcripts: c.transcripts,
			Suppressor:  c.suppressions,
			Decider:     decider,
			Recorder:    c.rec,
			Concurrency: d.Config.WorkerConcurrency,
			Logger:      d.Logger,
			Observer:    d.AttemptObserver,
			Ref:         inbound.RefMaker(c.refKey),
		})
		if err != nil {
			return w, err
		}
		c.hub.onAccepted(func(ids []string) { worker.Offer(ids...) })
		w.Delivery = worker
	}
	if d.wants(RunHoldExpiry) {
		every := d.Config.HoldExpiryEvery
		if every <= 0 {
			every = time.Minute
		}
		w.HoldExpiry = &Loop{name: "hold expiry", run: func(ctx context.Context) {
			message.RunHoldExpiry(ctx, d.DeliveryQueue, c.messages, every, d.Logger)
		}}
	}
	if d.wants(RunRelay) {
		cfg := d.Config.Relay
		cfg.Notify = c.hub.wakeChannel()
		if cfg.Observer == nil && d.RelayObserver != nil {
			cfg.Observer = d.RelayObserver
		}
		r, err := relay.New(cfg, d.Outbox, d.Publisher, d.Locker, d.Logger, d.Clock)
		if err != nil {
			return w, err
		}
		w.Relay = r
	}
	if d.wants(RunMXIntake) {
		cfg := inbound.Config{Store: d.Inbound, Events: c.events, Suppressor: c.suppressions, Policies: c.tenancy,
			ReturnPathDomain: d.Config.ReturnPathDomain, Recorder: c.rec, Rand: d.Rand, Logger: d.Logger, RefKey: c.refKey}
		if d.Messages != nil {
			cfg.Messages = d.Messages
		}
		in, err := inbound.New(cfg)
		if err != nil {
			return w, err
		}
		w.Intake = in
		w.PendingReports = pendingReports(in, d)
	}
	return w, nil
}
