package platform

import (
	"context"
	"time"

	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/relay"
)

// Workflows are the long-running work of the roles, built by New for the workflows listed in
// Deps.Run (nil otherwise). Each runs until its context ends, then drains.
type Workflows struct {
	// Delivery is the delivery worker (role worker). It is offered every message this process
	// accepts (OnAccepted).
	Delivery *delivery.Worker
	// HoldExpiry cancels holds older than 7 days (role worker, every Config.HoldExpiryEvery).
	HoldExpiry *Loop
	// Relay publishes the outbox (role relay); woken by every append of this process.
	Relay *relay.Relay
	// Intake stores and processes what the MX listener receives (role mx): it is the MX
	// listener's report receiver (AcceptsDomain, Receive, Process).
	Intake *inbound.Intake
	// PendingReports retries reports stored but left unprocessed (role mx, every
	// Config.ReportSweepEvery).
	PendingReports *Loop
}

// Loop is a periodic workflow.
type Loop struct {
	name string
	run  func(ctx context.Context)
}

// Run runs the loop until ctx ends; it returns nil then.
func (l *Loop) Run(ctx context.Context) error {
	l.run(ctx)
	return nil
}

// Name names the loop for logs.
func (l *Loop) Name() string { return l.name }

// pendingReports is the sweep of reports stored but left unprocessed (a crash or an event store
// failure between the 250 and the processing).
func pendingReports(in *inbound.Intake, d Deps) *Loop {
	every, minAge := d.Config.ReportSweepEvery, d.Config.ReportMinAge
	if every <= 0 {
		every = 30 * time.Second
	}
	if minAge <= 0 {
		minAge = time.Minute
	}
	return &Loop{name: "pending reports", run: func(ctx context.Context) {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			n, err := in.ProcessPending(ctx, minAge)
			switch {
			case err != nil && ctx.Err() == nil:
				d.Logger.Warn("mx: pending reports not processed", "processed", n, "err", err)
			case n > 0:
				d.Logger.Info("mx: pending reports processed", "processed", n)
			}
		}
	}}
}
