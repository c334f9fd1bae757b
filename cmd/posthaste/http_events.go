package main

import (
	"bufio"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/events"
)

// Until the http branch lands (the event feed moves to adapters/httpapi).

// feedCaller is who reads the event feed with the admin token.
var feedCaller = platform.Operator(events.Actor{Type: events.ActorAPI, ID: "admin"})

// eventsFeedMax is the most events one /api/v2/events response carries.
const eventsFeedMax = 1000

// withEventsFeed serves GET /api/v2/events?after=POS&limit=N beside next: the event log as JSON
// lines ({"position": N, …envelope}, as `posthaste events --json` prints them), positions > after
// in position order, at most limit (default 100, at most 1000). It reads the application's
// EventFeed, whose positions are gap-free in commit order, so a follower that asks again with
// after = the last position it got never misses an event that committed late.
// The response header X-Posthaste-Next-After holds the position to ask after next (after itself
// when nothing new came).
//
// The feed spans every server, so it needs the admin token (POSTHASTE_ADMIN_TOKEN) as
// "Authorization: Bearer <token>"; with no admin token configured it is closed.
func withEventsFeed(next http.Handler, app *platform.Application, adminToken string, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v2/events", func(w http.ResponseWriter, r *http.Request) {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if adminToken == "" || subtle.ConstantTimeCompare([]byte(got), []byte(adminToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="posthaste"`)
			http.Error(w, "the event feed needs the admin token (POSTHASTE_ADMIN_TOKEN) as a Bearer token", http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		after, limit := int64(0), 100
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
		page, err := app.Queries.EventFeed(r.Context(), feedCaller, after, limit)
		if err != nil {
			logger.Error("events feed: read", "after", after, "error", err)
			http.Error(w, "could not read the event log", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("X-Posthaste-Next-After", strconv.FormatInt(page.NextAfter, 10))
		bw := bufio.NewWriter(w)
		for _, rec := range page.Records {
			if err := printRecord(bw, rec, true); err != nil {
				return
			}
		}
		bw.Flush()
	})
	mux.Handle("/", next)
	return mux
}
