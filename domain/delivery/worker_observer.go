package delivery

import "time"

// Observer receives attempt outcomes for metrics. Attempted is called once per recorded attempt
// (not for a lost race), after its events are durable, on the attempt's goroutine: it should
// return at once.
type Observer interface {
	Attempted(outcome Outcome, d time.Duration)
}
