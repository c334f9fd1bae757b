package platform

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/relay"
	"github.com/posthaste/posthaste/domain/sendpolicy"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/webhook"
)

// Workflow names a long-running workflow a process runs; Deps.Run lists those New must build
// (and whose ports it then requires).
type Workflow string

const (
	// RunDelivery: the delivery worker (role worker). Needs DeliveryQueue, Sender, DKIM and
	// Config.WorkerOwner.
	RunDelivery Workflow = "delivery"
	// RunHoldExpiry: cancels holds older than 7 days (role worker). Needs DeliveryQueue.
	RunHoldExpiry Workflow = "hold expiry"
	// RunRelay: the outbox relay (role relay). Needs Outbox, Publisher and Locker.
	RunRelay Workflow = "relay"
	// RunMXIntake: the intake of reports received by the MX listener and the sweep of those left
	// pending (role mx). Needs Inbound.
	RunMXIntake Workflow = "mx intake"
	// RunSMTPSubmission: the ports of the SMTP submission listener (role smtp). Needs AuthFailures.
	RunSMTPSubmission Workflow = "smtp submission"
)

// Deps are the ports and settings the application is composed from. Required: Events, Acceptor,
// Bodies, Transcripts, Secrets, Clock, Rand, Logger and the Config names; the others are needed
// only by the commands, queries or workflows that use them (a command without its port fails with
// ErrNotConfigured; a workflow listed in Run without its ports makes New fail).
type Deps struct {
	Events      domain.EventStore   // the log (every command appends through it)
	Acceptor    submission.Acceptor // durable acceptance: body + message.queued in one transaction
	Bodies      delivery.Bodies     // stored message bodies
	Transcripts Transcripts         // SMTP transcripts of delivery attempts
	Secrets     tenancy.SecretStore // DKIM private keys, webhook secrets, the Postal signing key

	Hasher       tenancy.PasswordHasher // user passwords; without it user create and UI sign-in fail
	Resolver     tenancy.Resolver       // DNS; without it domain verify fails
	SendCounter  sendpolicy.Counter     // send limits; without it they are not enforced
	AuthFailures submission.RateLimiter // failed SMTP AUTH per client; RunSMTPSubmission needs it

	// Read models. Without Credentials, credential lookups read the whole credential log (a
	// model with no rows and horizon 0: right, but a scan: never in serve). Without Messages,
	// message listings fail and message detail and recipient lookups read the log.
	Credentials       CredentialIndex
	Messages          MessageView
	Stats             StatsReports
	WebhookDeliveries WebhookDeliveries
	Inbound           inbound.Store // reports received by the MX listener

	// Workflow ports.
	DeliveryQueue DeliveryQueue
	Sender        delivery.Sender    // one SMTP delivery attempt
	DKIM          tenancy.DKIMCrypto // DKIM key parsing and signing
	Outbox        domain.Outbox
	Publisher     domain.Publisher
	Locker        domain.Locker

	Config Config
	Clock  domain.Clock
	Rand   io.Reader // crypto/rand.Reader in production
	Logger *slog.Logger

	// Operations (operations.go): the read side's engine, the backends to probe and the bus's
	// dead-letter counts; Backend names the stack ("embedded" or "production") for status.
	ReadSide       ReadSide
	DKIMVerifier   DKIMVerifier // `dkim verify`; nil = not available
	Probes         []Probe
	BusDeadLetters BusDeadLetters
	Backend        string

	AttemptObserver delivery.Observer // delivery attempt metrics (nil = none)
	RelayObserver   relay.Observer    // relay metrics (nil = none)

	Run []Workflow // the workflows to build
}

// Config are the settings of the platform the application needs.
type Config struct {
	Hostname         string // POSTHASTE_HOSTNAME: EHLO name, Message-ID right-hand side, bounce MX
	ReturnPathDomain string // POSTHASTE_RETURN_PATH_DOMAIN: VERP return paths, the MX intake's domain
	SPFInclude       string // POSTHASTE_SPF_INCLUDE

	Retry           delivery.RetryPolicy // zero = delivery.DefaultRetryPolicy()
	WebhookSchedule webhook.Schedule     // zero = webhook.DefaultSchedule (the webhooks role's)
	// ServerSecret is POSTHASTE_SECRET_KEY: the X-Posthaste-Ref key is derived from it
	// (inbound.RefKey). Empty: no references are added or verified.
	ServerSecret []byte

	WorkerOwner       string        // unique per process (host:pid:random); RunDelivery needs it
	WorkerConcurrency int           // attempts in flight; 0 = the worker's default
	Relay             relay.Config  // the relay's settings (Notify is set by the application)
	HoldExpiryEvery   time.Duration // 0 = one minute
	ReportSweepEvery  time.Duration // retry of reports left pending; 0 = 30s
	ReportMinAge      time.Duration // how old a pending report must be to be retried; 0 = one minute
}

func (d Deps) wants(w Workflow) bool {
	for _, r := range d.Run {
		if r == w {
			return true
		}
	}
	return false
}

// validate lists every missing port and bad setting.
func (d Deps) validate() error {
	var errs []error
	need := func(ok bool, what string) {
		if !ok {
			errs = append(errs, errors.New(what))
		}
	}
	need(d.Events != nil, "event store is nil")
	need(d.Acceptor != nil, "acceptor is nil")
	need(d.Bodies != nil, "bodies are nil")
	need(d.Transcripts != nil, "transcripts are nil")
	need(d.Secrets != nil, "secret store is nil")
	need(d.Clock != nil, "clock is nil")
	need(d.Rand != nil, "rand is nil")
	need(d.Logger != nil, "logger is nil")
	if err := (tenancy.DNSConfig{SPFInclude: d.Config.SPFInclude, ReturnPathDomain: d.Config.ReturnPathDomain,
		Hostname: d.Config.Hostname}).Validate(); err != nil {
		errs = append(errs, err)
	}
	if d.Config.Retry != (delivery.RetryPolicy{}) {
		if err := d.Config.Retry.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("retry policy: %w", err))
		}
	}
	if d.Config.WebhookSchedule != (webhook.Schedule{}) {
		if err := d.Config.WebhookSchedule.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("webhook schedule: %w", err))
		}
	}
	known := map[Workflow]bool{RunDelivery: true, RunHoldExpiry: true, RunRelay: true, RunMXIntake: true, RunSMTPSubmission: true}
	for _, w := range d.Run {
		if !known[w] {
			errs = append(errs, fmt.Errorf("unknown workflow %q", w))
		}
	}
	for _, w := range []Workflow{RunDelivery, RunHoldExpiry} {
		if d.wants(w) {
			need(d.DeliveryQueue != nil, string(w)+": delivery queue is nil")
		}
	}
	if d.wants(RunDelivery) {
		need(d.Sender != nil, "delivery: sender is nil")
		need(d.DKIM != nil, "delivery: dkim crypto is nil")
		need(strings.TrimSpace(d.Config.WorkerOwner) != "", "delivery: worker owner is empty")
	}
	if d.wants(RunRelay) {
		need(d.Outbox != nil, "relay: outbox is nil")
		need(d.Publisher != nil, "relay: publisher is nil")
		need(d.Locker != nil, "relay: locker is nil")
	}
	if d.wants(RunMXIntake) {
		need(d.Inbound != nil, "mx intake: inbound report store is nil")
	}
	if d.wants(RunSMTPSubmission) {
		need(d.AuthFailures != nil, "smtp submission: auth failure limiter is nil")
	}
	return errors.Join(errs...)
}
