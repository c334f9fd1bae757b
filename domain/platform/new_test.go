package platform_test

import (
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/platform"
)

// TestNewRefusesMissingPorts: every missing required port and bad setting is listed at once.
func TestNewRefusesMissingPorts(t *testing.T) {
	_, err := platform.New(platform.Deps{})
	if err == nil {
		t.Fatal("New(Deps{}) succeeded")
	}
	for _, want := range []string{"event store is nil", "acceptor is nil", "bodies are nil", "transcripts are nil", "secret store is nil",
		"clock is nil", "rand is nil", "logger is nil", "spf include", "return-path domain", "hostname"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not list %q:\n%v", want, err)
		}
	}
}

// TestNewRefusesMissingWorkflowPorts: a workflow asked for needs its ports; all are listed.
func TestNewRefusesMissingWorkflowPorts(t *testing.T) {
	d := newDeps(t, backend{sqlstoretest.SQLite(t), sqlstore.SQLite})
	d.DeliveryQueue, d.Inbound = nil, nil
	d.Config.Retry = delivery.RetryPolicy{Initial: -1, Factor: 1.3, MaxAttempts: 18}
	d.Run = []platform.Workflow{platform.RunDelivery, platform.RunHoldExpiry, platform.RunRelay, platform.RunMXIntake,
		platform.RunSMTPSubmission, "coffee"}
	_, err := platform.New(d)
	if err == nil {
		t.Fatal("New succeeded without the workflows' ports")
	}
	for _, want := range []string{"delivery: delivery queue is nil", "hold expiry: delivery queue is nil", "delivery: sender is nil",
		"delivery: dkim crypto is nil", "delivery: worker owner is empty", "relay: outbox is nil", "relay: publisher is nil",
		"relay: locker is nil", "mx intake: inbound report store is nil", "smtp submission: auth failure limiter is nil",
		`unknown workflow "coffee"`, "retry policy"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not list %q:\n%v", want, err)
		}
	}
}

// TestNewWithoutWorkflows builds the application a CLI command uses: no workflow.
func TestNewWithoutWorkflows(t *testing.T) {
	e := newEnv(t, backend{sqlstoretest.SQLite(t), sqlstore.SQLite})
	w := e.app.Workflows
	if w.Delivery != nil || w.Relay != nil || w.Intake != nil || w.HoldExpiry != nil || w.PendingReports != nil {
		t.Errorf("workflows built without being asked for: %+v", w)
	}
	if got := e.app.Config().Retry; got != delivery.DefaultRetryPolicy() {
		t.Errorf("retry policy %+v; want the default", got)
	}
}
