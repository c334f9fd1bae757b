package domain

import (
	"io"
	"strconv"
	"time"

	"github.com/posthaste/posthaste/events"
)

// LeaseOwner is the one spelling of a lease holder's id: the name under which a process holds
// expiring claims (the delivery worker's message leases, the webhook sender's delivery leases),
// "<hostname>:<pid>:<random>". The random part makes a restarted process (same host, reused pid)
// a new owner, so it never mistakes the claims of its dead predecessor for its own.
func LeaseOwner(hostname string, pid int, now time.Time, rand io.Reader) string {
	return hostname + ":" + strconv.Itoa(pid) + ":" + events.NewID(now, rand)[24:]
}
