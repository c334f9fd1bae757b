package platform

import "time"

// The analytics report of one server (the stats read model's answer). The JSON names are those
// `posthaste stats --json` and GET /api/v2/stats print, so edges may encode these types as they are.

// StatsRequest is what Queries.Stats reports on.
type StatsRequest struct {
	ServerID   string    // set by the application from the server asked for
	From, To   time.Time // [From, To): the hours that start in the range
	Zone       *time.Location
	ByHour     bool
	TopDomains int // 0 = 10
}

// StatsCounts are the outcomes of one bucket (or a total).
type StatsCounts struct {
	Queued        int64            `json:"queued"`
	Delivered     int64            `json:"delivered"`
	Deferred      int64            `json:"deferred"`
	Bounced       int64            `json:"bounced"`
	BouncedHard   int64            `json:"bounced_hard"`
	BouncedSoft   int64            `json:"bounced_soft"`
	Held          int64            `json:"held"`
	Expired       int64            `json:"expired"`
	BounceReasons map[string]int64 `json:"bounce_reasons,omitempty"`
	BounceRate    float64          `json:"bounce_rate"`          // bounced / (delivered + bounced)
	LatencyMS     map[string]int64 `json:"latency_ms,omitempty"` // queued → delivered percentiles
}

// StatsBucket is one hour or one day.
type StatsBucket struct {
	Start time.Time `json:"start"`
	StatsCounts
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

// StatsReport is a server's analytics over a time range.
type StatsReport struct {
	Server     string          `json:"server"`
	From       time.Time       `json:"from"`
	To         time.Time       `json:"to"`
	Zone       string          `json:"time_zone"`
	By         string          `json:"by"` // hour or day
	Total      StatsCounts     `json:"total"`
	Buckets    []StatsBucket   `json:"buckets"`
	TopDomains []DomainOutcome `json:"top_domains"`
}
