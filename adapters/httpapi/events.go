package httpapi

import (
	"bufio"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/posthaste/posthaste/events"
)

// The event feed: GET /api/v2/events?after=POS&limit=N, the event log as JSON lines
// ({"position": N, …envelope}, as `posthaste events --json` prints them), positions > after in
// position order, at most limit (default 100, at most 1000). It reads Queries.EventFeed, whose
// positions are gap-free in commit order, so a follower that asks again with after = the last
// position it got never misses an event that committed late. The response header
// X-Posthaste-Next-After holds the position to ask after next (after itself when nothing new
// came).
//
// The feed spans every server, so it needs the admin token (POSTHASTE_ADMIN_TOKEN) as
// "Authorization: Bearer <token>"; with no admin token configured it is closed. Its errors are
// text/plain (the document says so), not problems.

// Event feed page sizes.
const (
	eventsFeedDefault = 100
	eventsFeedMax     = 1000
)

func (a *API) routesEvents() {
	a.handleV2("GET /api/v2/events", a.eventFeed)
}

func (a *API) eventFeed(w http.ResponseWriter, r *http.Request) {
	got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if a.cfg.AdminToken == "" || subtle.ConstantTimeCompare([]byte(got), []byte(a.cfg.AdminToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="posthaste"`)
		http.Error(w, "the event feed needs the admin token (POSTHASTE_ADMIN_TOKEN) as a Bearer token", http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	after, limit := int64(0), eventsFeedDefault
	var err error
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			http.Error(w, "after: want a position (a non-negative integer)", http.StatusBadRequest)
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > eventsFeedMax {
			http.Error(w, fmt.Sprintf("limit: want 1..%d", eventsFeedMax), http.StatusBadRequest)
			return
		}
	}
	page, err := a.app.Queries.EventFeed(r.Context(), a.admin, after, limit)
	if err != nil {
		a.log.Error("events feed: read", "after", after, "error", err)
		http.Error(w, "could not read the event log", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Posthaste-Next-After", strconv.FormatInt(page.NextAfter, 10))
	bw := bufio.NewWriter(w)
	for _, rec := range page.Records {
		if err := writeRecordLine(bw, rec); err != nil {
			return
		}
	}
	bw.Flush()
}

// writeRecordLine writes one record as a JSON line: its position (null when it has none) first,
// then the members of the envelope.
func writeRecordLine(w io.Writer, r events.Record) error {
	b, err := events.Marshal(r.Envelope)
	if err != nil {
		return err
	}
	line := make([]byte, 0, len(b)+32)
	line = append(line, `{"position":`...)
	if r.Position > 0 {
		line = strconv.AppendInt(line, r.Position, 10)
	} else {
		line = append(line, "null"...)
	}
	if len(b) > 2 {
		line = append(line, ',')
	}
	line = append(line, b[1:]...)
	_, err = w.Write(append(line, '\n'))
	return err
}
