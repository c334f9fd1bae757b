package stats

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Counts are the outcomes of one bucket (or a total).
type Counts struct {
	Queued        int64            `json:"queued"`
	Delivered     int64            `json:"delivered"`
	Deferred      int64            `json:"deferred"`
	Bounced       int64            `json:"bounced"`
	BouncedHard   int64            `json:"bounced_hard"`
	BouncedSoft   int64            `json:"bounced_soft"`
	Held          int64            `json:"held"`
	Expired       int64            `json:"expired"`
	BounceReasons map[string]int64 `json:"bounce_reasons,omitempty"`
	// BounceRate is bounced / (delivered + bounced), 0 when neither happened.
	BounceRate float64 `json:"bounce_rate"`
	// Latency percentiles (queued → delivered) in milliseconds: the upper bound of the histogram
	// bucket holding the percentile (buckets are 19% wide).
	LatencyMS map[string]int64 `json:"latency_ms,omitempty"`

	latency map[int]int64
}

// Bucket is one hour or one day.
type Bucket struct {
	Start time.Time `json:"start"`
	Counts
}

// DomainOutcome is one recipient domain's outcomes over the report's range.
type DomainOutcome struct {
	Domain    string `json:"domain"`
	Queued    int64  `json:"queued"`
	Delivered int64  `json:"delivered"`
	Deferred  int64  `json:"deferred"`
	Bounced   int64  `json:"bounced"`
	Expired   int64  `json:"expired"`
}

// Report is a server's analytics over a time range.
type Report struct {
	Server     string          `json:"server"`
	From       time.Time       `json:"from"`
	To         time.Time       `json:"to"`
	Zone       string          `json:"time_zone"`
	By         string          `json:"by"` // hour or day
	Total      Counts          `json:"total"`
	Buckets    []Bucket        `json:"buckets"`
	TopDomains []DomainOutcome `json:"top_domains"`
}

// ReportRequest selects a report. Hours are counted in UTC; day buckets start at midnight in
// Zone (hourly rows are summed into the day that holds their start in Zone).
type ReportRequest struct {
	Server     string
	From, To   time.Time // [From, To): hours starting in the range
	Zone       *time.Location
	ByHour     bool
	TopDomains int // default 10
}

// BuildReport reads the hourly rows of req and sums them.
func BuildReport(ctx context.Context, db *sql.DB, req ReportRequest) (Report, error) {
	if db == nil || req.Server == "" {
		return Report{}, errors.New("stats: report: nil database or no server")
	}
	if req.Zone == nil {
		req.Zone = time.UTC
	}
	if req.TopDomains <= 0 {
		req.TopDomains = 10
	}
	rep := Report{Server: req.Server, From: req.From.UTC(), To: req.To.UTC(), Zone: req.Zone.String(), By: "day"}
	if req.ByHour {
		rep.By = "hour"
	}
	rows, err := db.QueryContext(ctx, `SELECT hour_us, metric, label, count FROM stats_hourly
		WHERE server_id = ? AND hour_us >= ? AND hour_us < ? ORDER BY hour_us, metric, label`,
		req.Server, req.From.UTC().UnixMicro(), req.To.UTC().UnixMicro())
	if err != nil {
		return rep, fmt.Errorf("stats: report: %w", err)
	}
	defer rows.Close()
	buckets := map[int64]*Bucket{}
	var order []int64
	domains := map[string]*DomainOutcome{}
	for rows.Next() {
		var hour, n int64
		var metric, label string
		if err := rows.Scan(&hour, &metric, &label, &n); err != nil {
			return rep, fmt.Errorf("stats: report: %w", err)
		}
		start := time.UnixMicro(hour).In(req.Zone)
		if !req.ByHour {
			y, m, d := start.Date()
			start = time.Date(y, m, d, 0, 0, 0, 0, req.Zone)
		}
		key := start.UnixMicro()
		b := buckets[key]
		if b == nil {
			b = &Bucket{Start: start}
			buckets[key] = b
			order = append(order, key)
		}
		b.add(metric, label, n)
		rep.Total.add(metric, label, n)
		if d, ok := strings.CutPrefix(metric, MetricDomainPrefix); ok {
			o := domains[label]
			if o == nil {
				o = &DomainOutcome{Domain: label}
				domains[label] = o
			}
			switch d {
			case MetricQueued:
				o.Queued += n
			case MetricDelivered:
				o.Delivered += n
			case MetricDeferred:
				o.Deferred += n
			case MetricBounced:
				o.Bounced += n
			case MetricExpired:
				o.Expired += n
			}
		}
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("stats: report: %w", err)
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	rep.Buckets = []Bucket{}
	for _, k := range order {
		b := buckets[k]
		b.finish()
		rep.Buckets = append(rep.Buckets, *b)
	}
	rep.Total.finish()
	rep.TopDomains = []DomainOutcome{}
	for _, o := range domains {
		rep.TopDomains = append(rep.TopDomains, *o)
	}
	sort.Slice(rep.TopDomains, func(i, j int) bool {
		a, b := rep.TopDomains[i], rep.TopDomains[j]
		if a.Queued != b.Queued {
			return a.Queued > b.Queued
		}
		return a.Domain < b.Domain
	})
	if len(rep.TopDomains) > req.TopDomains {
		rep.TopDomains = rep.TopDomains[:req.TopDomains]
	}
	return rep, nil
}

func (c *Counts) add(metric, label string, n int64) {
	switch metric {
	case MetricQueued:
		c.Queued += n
	case MetricDelivered:
		c.Delivered += n
	case MetricDeferred:
		c.Deferred += n
	case MetricBounced:
		c.Bounced += n
	case MetricBouncedHard:
		c.BouncedHard += n
	case MetricBouncedSoft:
		c.BouncedSoft += n
	case MetricHeld:
		c.Held += n
	case MetricExpired:
		c.Expired += n
	case MetricBounceReason:
		if c.BounceReasons == nil {
			c.BounceReasons = map[string]int64{}
		}
		c.BounceReasons[label] += n
	case MetricLatency:
		i, err := strconv.Atoi(label)
		if err != nil {
			return
		}
		if c.latency == nil {
			c.latency = map[int]int64{}
		}
		c.latency[i] += n
	}
}

func (c *Counts) finish() {
	if d := c.Delivered + c.Bounced; d > 0 {
		c.BounceRate = float64(c.Bounced) / float64(d)
	}
	if len(c.latency) == 0 {
		return
	}
	c.LatencyMS = map[string]int64{}
	for name, p := range map[string]float64{"p50": 0.50, "p90": 0.90, "p99": 0.99} {
		c.LatencyMS[name] = Percentile(c.latency, p).Milliseconds()
	}
}

// Percentile returns the upper bound of the bucket holding the p-th quantile of a histogram.
func Percentile(hist map[int]int64, p float64) time.Duration {
	var total int64
	keys := make([]int, 0, len(hist))
	for k, n := range hist {
		total += n
		keys = append(keys, k)
	}
	if total == 0 {
		return 0
	}
	sort.Ints(keys)
	rank := int64(p*float64(total) + 0.999999) // ceil, at least 1
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for _, k := range keys {
		seen += hist[k]
		if seen >= rank {
			return LatencyUpper(k)
		}
	}
	return LatencyUpper(keys[len(keys)-1])
}
