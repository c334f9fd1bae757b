package cli

import (
	"fmt"
	"time"
)

// Times on the command line: RFC 3339 (fractions allowed) or relative to now, in Go duration
// syntax ("-2h" two hours ago, "30m" thirty minutes ahead); the read-side commands also take a
// date (midnight UTC).

// parseTimeArg reads RFC 3339 or a relative time. Empty means no bound (the zero time).
func parseTimeArg(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-11-24T10:00:00Z) nor relative (-2h)", v)
}

// parseAnyTime reads RFC 3339, a date (midnight UTC) or a relative time. Empty means no bound.
func parseAnyTime(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t.UTC(), nil
	}
	t, err := parseTimeArg(v, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339, a date (2026-11-24) nor relative (-2h)", v)
	}
	return t, nil
}
