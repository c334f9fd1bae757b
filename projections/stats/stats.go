// Package stats is the delivery analytics read model: per server and per UTC hour, counters of
// what happened to messages (queued, delivered, deferred, bounced hard/soft and by reason, held,
// expired), per recipient domain outcomes, and a histogram of delivery latency (queued →
// delivered) in fixed logarithmic buckets, so percentiles come from counts and a replay gives
// the same rows. Day buckets (in any time zone) are sums of hourly rows, made by Report.
//
// It owns tables stats_hourly and stats_messages (the queued time and recipient domain of each
// message, needed to attribute later events) and nothing else; it performs no side effects.
package stats

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// Name is the projection's stable name (queue, checkpoints, replay target).
const Name = "message_stats"

// Tables of the read model.
const (
	TableHourly   = "stats_hourly"
	TableMessages = "stats_messages"
)

// Metrics of stats_hourly. Metrics with a label: bounce_reason (the reason), latency (the
// bucket index), domain_* (the recipient domain).
const (
	MetricQueued        = "queued"
	MetricDelivered     = "delivered"
	MetricDeferred      = "deferred"
	MetricBounced       = "bounced"
	MetricBouncedHard   = "bounced_hard"
	MetricBouncedSoft   = "bounced_soft"
	MetricBounceReason  = "bounce_reason"
	MetricHeld          = "held"
	MetricExpired       = "expired"
	MetricLatency       = "latency"
	MetricDomainPrefix  = "domain_"
	maxLabel            = 255
	latencyBucketsPerX2 = 4 // buckets per doubling of the latency
)

// Projection maintains the stats tables. It coalesces its writes (projections.Buffered): a
// transaction's counter increments are summed in memory and written as a few multi-row upserts
// when it commits.
type Projection struct {
	mu   sync.Mutex
	bufs map[projections.Tx]*txBuf
	// hourly, messages are the tables written (the live ones, or a replay's new ones).
	hourly, messages string
}

// New returns the projection.
func New() *Projection {
	return &Projection{bufs: map[projections.Tx]*txBuf{}, hourly: TableHourly, messages: TableMessages}
}

// WithTables returns a projection that reads and writes the tables named by tables (keyed by
// the live names) instead of the live ones: a replay builds the new model in them
// (projections.Retargetable). Apply reads only by primary key.
func (p *Projection) WithTables(tables map[string]string) projections.Projection {
	q := New()
	for _, t := range []*string{&q.hourly, &q.messages} {
		if n, ok := tables[*t]; ok {
			*t = n
		}
	}
	return q
}

func (*Projection) Name() string     { return Name }
func (*Projection) Tables() []string { return []string{TableHourly, TableMessages} }

type counterKey struct {
	server        string
	hour          int64
	metric, label string
}

type msgInfo struct {
	server, domain string
	queuedUS       int64
}

// txBuf is one transaction's increments (in first-touched order) and the messages it knows
// (nil = looked up and absent; fresh = queued in this transaction, to insert).
type txBuf struct {
	counts map[counterKey]int64
	order  []counterKey
	msgs   map[string]*msgInfo
	fresh  []string
}

func (p *Projection) buf(tx projections.Tx) *txBuf {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.bufs[tx]
	if b == nil {
		b = &txBuf{counts: map[counterKey]int64{}, msgs: map[string]*msgInfo{}}
		p.bufs[tx] = b
	}
	return b
}

// Discard drops the buffer of a rolled-back transaction.
func (p *Projection) Discard(tx projections.Tx) {
	p.mu.Lock()
	delete(p.bufs, tx)
	p.mu.Unlock()
}

func (b *txBuf) add(k counterKey) {
	if len(k.label) > maxLabel {
		k.label = k.label[:maxLabel]
	}
	k.label = strings.ToValidUTF8(k.label, "")
	if _, ok := b.counts[k]; !ok {
		b.order = append(b.order, k)
	}
	b.counts[k]++
}

func (b *txBuf) message(ctx context.Context, tx projections.Tx, table, id string) (*msgInfo, error) {
	if m, ok := b.msgs[id]; ok {
		return m, nil
	}
	m := &msgInfo{}
	err := tx.QueryRowContext(ctx, `SELECT server_id, rcpt_domain, queued_us FROM `+table+` WHERE message_id = ?`, id).Scan(&m.server, &m.domain, &m.queuedUS)
	if err == sql.ErrNoRows {
		m = nil // a stream without queued (never written by this binary): counted without a domain
	} else if err != nil {
		return nil, fmt.Errorf("stats: read message %s: %w", id, err)
	}
	b.msgs[id] = m
	return m, nil
}

// LatencyBucket is the histogram bucket of a latency: 0 for up to 1 ms, else
// ceil(4·log2(ms)), so each bucket is 19% wider than the one before.
func LatencyBucket(d time.Duration) int {
	ms := d.Milliseconds()
	if ms <= 1 {
		return 0
	}
	return int(math.Ceil(latencyBucketsPerX2 * math.Log2(float64(ms))))
}

// LatencyUpper is the upper bound of a bucket.
func LatencyUpper(bucket int) time.Duration {
	return time.Duration(math.Round(math.Pow(2, float64(bucket)/latencyBucketsPerX2))) * time.Millisecond
}

func hourOf(t time.Time) int64 { return t.UTC().Truncate(time.Hour).UnixMicro() }

// Apply counts one message event in the hour it occurred (in the transaction's buffer).
func (p *Projection) Apply(ctx context.Context, tx projections.Tx, rec events.Record) error {
	env := rec.Envelope
	if env.StreamType != events.StreamMessage {
		return nil
	}
	ev, err := decode(env)
	if err != nil {
		return projections.Poison(fmt.Errorf("stats: decode %s: %w", env.ID, err))
	}
	b := p.buf(tx)
	server, hour := env.Server(), hourOf(env.OccurredAt)
	var m *msgInfo
	switch ev.(type) {
	case *events.MessageDeferred, *events.MessageExpired, *events.MessageBounced, *events.MessageDelivered:
		if m, err = b.message(ctx, tx, p.messages, env.StreamID); err != nil {
			return err // nothing buffered yet
		}
	}
	add := func(metric, label string) { b.add(counterKey{server, hour, metric, label}) }
	outcome := func(metric string) {
		add(metric, "")
		if m != nil && m.domain != "" {
			add(MetricDomainPrefix+metric, m.domain)
		}
	}
	switch e := ev.(type) {
	case *events.MessageQueued:
		d := ""
		if i := strings.LastIndexByte(e.RcptTo, '@'); i >= 0 {
			d = strings.ToLower(e.RcptTo[i+1:])
		}
		if len(d) > maxLabel {
			d = strings.ToValidUTF8(d[:maxLabel], "")
		}
		m = &msgInfo{server: server, domain: d, queuedUS: env.OccurredAt.UTC().UnixMicro()}
		if _, known := b.msgs[env.StreamID]; !known {
			b.fresh = append(b.fresh, env.StreamID)
		}
		b.msgs[env.StreamID] = m
		outcome(MetricQueued)
	case *events.MessageHeld:
		add(MetricHeld, "")
	case *events.MessageDeferred:
		outcome(MetricDeferred)
	case *events.MessageExpired:
		outcome(MetricExpired)
	case *events.MessageBounced:
		outcome(MetricBounced)
		if e.Class == "soft" {
			add(MetricBouncedSoft, "")
		} else {
			add(MetricBouncedHard, "")
		}
		reason := e.Reason
		if reason == "" {
			reason = "undefined"
		}
		add(MetricBounceReason, reason)
	case *events.MessageDelivered:
		outcome(MetricDelivered)
		if m != nil && m.queuedUS != 0 {
			lat := env.OccurredAt.Sub(time.UnixMicro(m.queuedUS))
			add(MetricLatency, fmt.Sprintf("%03d", LatencyBucket(max(lat, 0))))
		}
	}
	return nil
}

// Values of the types Apply needs only by type (never written to).
var (
	held      = &events.MessageHeld{}
	deferred  = &events.MessageDeferred{}
	expired   = &events.MessageExpired{}
	delivered = &events.MessageDelivered{}
)

// decode decodes the payload of the event types whose fields Apply reads (queued, bounced).
// Other known types are returned by type only, without reading their payload; an unknown type
// is the decoder's error.
func decode(env events.Envelope) (events.Event, error) {
	switch env.Type {
	case held.EventType():
		return held, nil
	case deferred.EventType():
		return deferred, nil
	case expired.EventType():
		return expired, nil
	case delivered.EventType():
		return delivered, nil
	case events.MessageQueued{}.EventType(), events.MessageBounced{}.EventType():
		return events.Decode(env)
	}
	if events.SchemaVersion(env.Type) > 0 {
		return nil, nil
	}
	return events.Decode(env)
}

// Columns of the rows Flush writes: counters add up, a message is written once.
var (
	hourlyColumns = []projections.Column{{Name: "server_id", On: projections.Key}, {Name: "hour_us", On: projections.Key},
		{Name: "metric", On: projections.Key}, {Name: "label", On: projections.Key}, {Name: "count", On: projections.Add}}
	messageColumns = []string{"message_id", "server_id", "rcpt_domain", "queued_us"}
)

// Flush writes the transaction's increments and new messages with multi-row statements.
func (p *Projection) Flush(ctx context.Context, tx projections.Tx) error {
	p.mu.Lock()
	b := p.bufs[tx]
	delete(p.bufs, tx)
	p.mu.Unlock()
	if b == nil {
		return nil
	}
	rows := make([][]any, 0, len(b.order))
	for _, k := range b.order {
		rows = append(rows, []any{k.server, k.hour, k.metric, k.label, b.counts[k]})
	}
	if err := tx.Upsert(ctx, p.hourly, hourlyColumns, rows); err != nil {
		return fmt.Errorf("stats: write counters: %w", err)
	}
	msgs := make([][]any, 0, len(b.fresh))
	for _, id := range b.fresh {
		m := b.msgs[id]
		msgs = append(msgs, []any{id, m.server, m.domain, m.queuedUS})
	}
	if err := tx.InsertIgnore(ctx, p.messages, messageColumns, msgs); err != nil {
		return fmt.Errorf("stats: write messages: %w", err)
	}
	return nil
}
