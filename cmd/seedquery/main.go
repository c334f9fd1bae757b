// Command seedquery is the read side's scale script (outside CI): it seeds message events
// through the event store's append path, builds the message view and the stats through the
// projection runner's catch-up (never by writing read models directly), then runs a fixed mix
// of operator queries (to:, status:, after:, timelines) and prints p50/p99 per kind.
//
//	go run ./cmd/seedquery --backend sqlite --events 1000000
//	go run ./cmd/seedquery --backend mariadb --dsn 'root@tcp(127.0.0.1:3306)/seed?parseTime=true' --events 1000000
//
// The database must be empty (a new SQLite file, a new MariaDB database): it is migrated here.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/messageview"
	"github.com/posthaste/posthaste/projections/stats"
)

type store interface {
	domain.EventStore
	domain.Outbox
	DB() *sql.DB
	Migrate(ctx context.Context) error
	Close() error
}

// noBus satisfies the runner's Subscriber; only its catch-up from the store is used here.
type noBus struct{}

func (noBus) Subscribe(ctx context.Context, _ string) (<-chan projections.Delivery, <-chan struct{}, error) {
	return make(chan projections.Delivery), make(chan struct{}), nil
}

func main() {
	if p := os.Getenv("SEEDQUERY_CPUPROFILE"); p != "" {
		f, _ := os.Create(p)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	backend := flag.String("backend", "sqlite", "sqlite or mariadb")
	dsn := flag.String("dsn", "", "MariaDB DSN (go-sql-driver form) of an empty database")
	dataDir := flag.String("data-dir", "", "directory of the SQLite file (default: a new temporary one)")
	target := flag.Int("events", 1_000_000, "events to seed (about 3.3 per message)")
	queries := flag.Int("queries", 10_000, "queries to run")
	appenders := flag.Int("appenders", 4, "concurrent appenders (the store groups their commits)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(context.Background(), *backend, *dsn, *dataDir, *target, *queries, *appenders, logger); err != nil {
		fmt.Fprintln(os.Stderr, "seedquery:", err)
		os.Exit(1)
	}
}

// database is the store's SQL database and its dialect.
type database struct {
	SQL     *sql.DB
	Dialect sqlstore.Dialect
}

func open(ctx context.Context, backend, dsn, dataDir string, logger *slog.Logger) (store, database, error) {
	switch backend {
	case "sqlite":
		if dataDir == "" {
			d, err := os.MkdirTemp("", "seedquery-")
			if err != nil {
				return nil, database{}, err
			}
			dataDir = d
		}
		s, err := sqlstore.OpenSQLite(ctx, filepath.Join(dataDir, "posthaste.db"), sqlstore.WithLogger(logger))
		if err != nil {
			return nil, database{}, err
		}
		return s, database{SQL: s.DB(), Dialect: sqlstore.SQLite}, nil
	case "mariadb":
		if dsn == "" {
			return nil, database{}, errors.New("--dsn is required for mariadb")
		}
		s, err := sqlstore.OpenMariaDB(ctx, dsn, sqlstore.WithLogger(logger))
		if err != nil {
			return nil, database{}, err
		}
		return s, database{SQL: s.DB(), Dialect: sqlstore.MariaDB}, nil
	}
	return nil, database{}, fmt.Errorf("unknown backend %q", backend)
}

var (
	start    = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	statuses = []string{"delivered", "deferred", "bounced", "queued", "held"}
)

const (
	servers = 10
	domains = 500
)

func rcptOf(i int) string { return fmt.Sprintf("user%d@domain%d.test", i%200_000, i%domains) }

// streamOf returns the events of message i: queued, then an outcome mix (70% delivered, 10%
// deferred then delivered, 10% bounced, 5% deferred, 5% held). Messages are a few seconds apart
// across about two months.
func streamOf(i int) (string, string, time.Time, []events.Event) {
	at := start.Add(time.Duration(i) * 5 * time.Second)
	q := &events.MessageQueued{SubmissionID: "s" + strconv.Itoa(i), BodyID: "b" + strconv.Itoa(i), MailFrom: "app@sender.test",
		RcptTo: rcptOf(i), HeaderFrom: "App <app@sender.test>", Subject: "Invoice " + strconv.Itoa(i), MessageID: "<" + strconv.Itoa(i) + "@sender.test>",
		Size: 4000 + int64(i%3000), Tag: "t" + strconv.Itoa(i%7), Source: "smtp"}
	att := func(n, code int, res string) *events.MessageAttempted {
		return &events.MessageAttempted{Attempt: n, MXHost: "mx.domain.test", IP: "192.0.2.1", ReplyCode: code, ReplyText: res, DurationMS: 80, Result: res}
	}
	evs := []events.Event{q}
	switch r := i % 20; {
	case r < 14:
		evs = append(evs, att(1, 250, "delivered"), &events.MessageDelivered{ReplyCode: 250, Attempt: 1})
	case r < 16:
		evs = append(evs, att(1, 451, "deferred"), &events.MessageDeferred{Attempt: 1, NextAttemptAt: at.Add(5 * time.Minute)},
			att(2, 250, "delivered"), &events.MessageDelivered{ReplyCode: 250, Attempt: 2})
	case r < 18:
		evs = append(evs, att(1, 550, "bounced"), &events.MessageBounced{Reason: "userunknown", Class: "hard", Status: "5.1.1"})
	case r < 19:
		evs = append(evs, att(1, 451, "deferred"), &events.MessageDeferred{Attempt: 1, NextAttemptAt: at.Add(5 * time.Minute)})
	default:
		evs = append(evs, &events.MessageHeld{Reason: events.HoldDevelopmentMode, Expires: at.Add(7 * 24 * time.Hour)})
	}
	return fmt.Sprintf("seed-%09d", i), fmt.Sprintf("org/s%d", i%servers), at, evs
}

func run(ctx context.Context, backend, dsn, dataDir string, target, nQueries, appenders int, logger *slog.Logger) error {
	st, db, err := open(ctx, backend, dsn, dataDir, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}

	// Seed through Append, batches of ~500 envelopes from several appenders.
	t0 := time.Now()
	type batch []events.Envelope
	work := make(chan batch, appenders*2)
	var wg sync.WaitGroup
	var appendErr error
	var once sync.Once
	for range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				if err := st.Append(ctx, b...); err != nil {
					once.Do(func() { appendErr = err })
				}
			}
		}()
	}
	seeded, msgs := 0, 0
	var cur batch
	for seeded < target {
		id, server, at, evs := streamOf(msgs)
		k := 0
		rec := domain.Recorder{Clock: func() time.Time { k++; return at.Add(time.Duration(k) * 700 * time.Millisecond) }}
		envs, err := rec.Envelopes(events.StreamMessage, id, server, 0, domain.Cause{Actor: events.Actor{Type: events.ActorSMTP, ID: "seed"}}, evs...)
		if err != nil {
			return err
		}
		cur = append(cur, envs...)
		seeded += len(envs)
		msgs++
		if len(cur) >= 500 {
			work <- cur
			cur = nil
		}
	}
	if len(cur) > 0 {
		work <- cur
	}
	close(work)
	wg.Wait()
	if appendErr != nil {
		return appendErr
	}
	for { // stamp positions and drain the outbox as the relay would
		p, err := st.Pending(ctx, 20000)
		if err != nil {
			return err
		}
		if len(p) == 0 {
			break
		}
		pos := make([]int64, len(p))
		for i, r := range p {
			pos[i] = r.Position
		}
		if err := st.Ack(ctx, pos); err != nil {
			return err
		}
	}
	seedDur := time.Since(t0)
	fmt.Printf("backend %s: seeded %d events (%d messages) through Append in %s (%.0f events/s)\n", backend, seeded, msgs, seedDur.Round(time.Millisecond), float64(seeded)/seedDur.Seconds())

	// Project through the runner's catch-up.
	projs := []projections.Projection{messageview.New(), stats.New()}
	for _, p := range projs {
		rn, err := sqlstore.NewRunner(db.SQL, db.Dialect, st, noBus{}, []projections.Projection{p}, logger, sqlstore.ProjectionOptions{BatchSize: 2000})
		if err != nil {
			return err
		}
		t1 := time.Now()
		if err := rn.Reconcile(ctx); err != nil {
			return err
		}
		d := time.Since(t1)
		fmt.Printf("projection %s: %d events in %s (%.0f events/s)\n", p.Name(), seeded, d.Round(time.Millisecond), float64(seeded)/d.Seconds())
	}

	// The fixed query mix.
	r, err := messageview.NewReader(db.SQL)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(42, 42))
	lat := map[string][]time.Duration{}
	span := time.Duration(msgs) * 5 * time.Second
	for n := range nQueries {
		i := rng.IntN(msgs)
		_, server, _, _ := streamOf(i)
		var kind string
		var q messageview.Query
		switch n % 5 {
		case 0, 1:
			kind, q.To = "to:", []string{rcptOf(i)}
		case 2:
			kind, q.Status = "status:", []string{statuses[rng.IntN(len(statuses))]}
		case 3:
			kind, q.After = "after:", start.Add(time.Duration(rng.Int64N(int64(span))))
		case 4:
			kind = "timeline"
		}
		t := time.Now()
		if kind == "timeline" {
			id, _, _, _ := streamOf(i)
			if _, err := r.Get(ctx, id); err != nil {
				return err
			}
		} else if _, err := r.List(ctx, messageview.ListRequest{Server: server, Query: q, Limit: 50, Oldest: kind == "after:"}); err != nil {
			return err
		}
		d := time.Since(t)
		lat[kind] = append(lat[kind], d)
		lat["all"] = append(lat["all"], d)
	}
	fmt.Printf("%-10s %8s %10s %10s\n", "query", "count", "p50", "p99")
	for _, k := range []string{"to:", "status:", "after:", "timeline", "all"} {
		ds := lat[k]
		sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
		fmt.Printf("%-10s %8d %10s %10s\n", k, len(ds), pct(ds, 0.50), pct(ds, 0.99))
	}
	return nil
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(p*float64(len(ds))+0.999999) - 1
	return ds[max(0, min(i, len(ds)-1))].Round(10 * time.Microsecond)
}
