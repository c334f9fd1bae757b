package delivery

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/posthaste/posthaste/domain"
)

// The worker is split by concern: worker_ports.go (the ports it needs), this file (its
// configuration and constructor), worker_run.go (the run loop: Wake, Offer, Due),
// worker_claims.go (claims and their renewal and release), worker_attempt.go (one attempt:
// load, sign once per body, send, record), worker_ref.go (the X-Posthaste-Ref field) and
// worker_observer.go (metrics).

// WorkerConfig wires a Worker.
type WorkerConfig struct {
	Owner        string // unique per process, e.g. hostname:pid
	Store        domain.EventStore
	Queue        Queue
	Bodies       Bodies
	Signer       Signer // nil = no signing
	Sender       Sender
	Transcripts  Transcripts // nil = transcripts are not kept; an AttemptRecorder writes them with the events
	Suppressor   Suppressor  // nil = no suppression on hard bounce
	Decider      *Decider
	Recorder     domain.Recorder
	Concurrency  int           // attempts in flight (default 32)
	ClaimTTL     time.Duration // default 1m, renewed every third of it while the attempt runs
	PollInterval time.Duration // default 200ms when idle
	Logger       *slog.Logger
	Observer     Observer // nil = none
	// Ref returns the value of the X-Posthaste-Ref field added to each message sent (one per
	// recipient, outside the DKIM signature): an HMAC reference that links a bounce whose
	// envelope was lost to the message (domain/inbound.Ref). Nil adds nothing.
	Ref func(messageID string) string
}

// Worker runs delivery attempts.
type Worker struct {
	cfg  WorkerConfig
	wake chan struct{}

	doneMu   sync.Mutex
	done     map[string]int64 // attempted ids whose claims are not released yet → version recorded
	inflight map[string]bool  // claimed ids whose attempt runs: their claims are renewed

	offerMu sync.Mutex
	offered []string  // ids of messages just accepted in this process, not yet claimed
	lastDue time.Time // when poll last asked the queue

	mu     sync.Mutex
	signed map[string]*signedBody // body id → signed bytes: a body is signed once, not per recipient
	order  []string
}

// NewWorker refuses incomplete wiring.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	var errs []error
	if cfg.Owner == "" {
		errs = append(errs, errors.New("owner is empty"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if cfg.Queue == nil {
		errs = append(errs, errors.New("queue is nil"))
	}
	if cfg.Bodies == nil {
		errs = append(errs, errors.New("bodies is nil"))
	}
	if cfg.Sender == nil {
		errs = append(errs, errors.New("sender is nil"))
	}
	if cfg.Decider == nil {
		errs = append(errs, errors.New("decider is nil"))
	}
	if cfg.Logger == nil {
		errs = append(errs, errors.New("logger is nil"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("delivery: new worker: %w", errors.Join(errs...))
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.ClaimTTL <= 0 {
		cfg.ClaimTTL = time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	return &Worker{cfg: cfg, wake: make(chan struct{}, 1), signed: map[string]*signedBody{}, inflight: map[string]bool{}, done: map[string]int64{}}, nil
}
