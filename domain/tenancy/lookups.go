package tenancy

import (
	"context"
	"fmt"
	"sort"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// These lookups read the event streams directly (Query), so admin commands see their own
// writes whether or not the projections run. The listings (ListUsers, ListCredentials,
// DomainsOfServer, ListServers) fold the streams of one type, of one server where they can: a
// full fold is their point. The hot paths (SMTP AUTH, the API key check, SMTP-IP ranges) are
// served by domain/platform's keyed lookups (a read-model row, the credential's stream, the log
// tail past the model's horizon), never by a scan of every credential.

// queryLimit is far above any configuration history a single installation has.
const queryLimit = 1_000_000

// foldStreams reads all events of one stream type (optionally of one tenant) and folds each
// stream into a fresh aggregate made by newAgg, returned in the order the streams were created
// (the position, or append order, of their first event).
func foldStreams[T aggregate](ctx context.Context, store domain.EventStore, streamType, serverID string, newAgg func() T) ([]T, error) {
	recs, err := store.Query(ctx, domain.EventFilter{StreamType: streamType, ServerID: serverID, Limit: queryLimit})
	if err != nil {
		return nil, fmt.Errorf("query %s streams: %w", streamType, err)
	}
	byStream := map[string][]events.Record{}
	var ids []string
	for _, r := range recs {
		id := r.Envelope.StreamID
		if _, seen := byStream[id]; !seen {
			ids = append(ids, id)
		}
		byStream[id] = append(byStream[id], r)
	}
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		rs := byStream[id]
		sort.Slice(rs, func(i, j int) bool { return rs[i].Envelope.StreamVersion < rs[j].Envelope.StreamVersion })
		agg := newAgg()
		if _, err := foldRecords(rs, agg); err != nil {
			return nil, err
		}
		out = append(out, agg)
	}
	return out, nil
}

// ListUsers returns every user, sorted by email.
func (h *Handlers) ListUsers(ctx context.Context) ([]User, error) {
	us, err := foldStreams(ctx, h.d.Store, events.StreamUser, "", func() *User { return &User{} })
	if err != nil {
		return nil, err
	}
	out := make([]User, 0, len(us))
	for _, u := range us {
		if u.Exists() {
			out = append(out, *u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out, nil
}

// ListCredentials returns the credentials of a server (revoked ones included), in creation order.
func (h *Handlers) ListCredentials(ctx context.Context, ref ServerRef) ([]Credential, error) {
	srv, err := h.GetServer(ctx, ref)
	if err != nil {
		return nil, err
	}
	cs, err := foldStreams(ctx, h.d.Store, events.StreamCredential, srv.ID, func() *Credential { return &Credential{} })
	if err != nil {
		return nil, err
	}
	out := make([]Credential, 0, len(cs))
	for _, c := range cs {
		if c.Exists() {
			out = append(out, *c)
		}
	}
	return out, nil
}

// DomainsOfServer returns the sending domains of a server, sorted by name.
func (h *Handlers) DomainsOfServer(ctx context.Context, ref ServerRef) ([]SendingDomain, error) {
	srv, err := h.GetServer(ctx, ref)
	if err != nil {
		return nil, err
	}
	ds, err := foldStreams(ctx, h.d.Store, events.StreamDomain, srv.ID, func() *SendingDomain { return &SendingDomain{} })
	if err != nil {
		return nil, err
	}
	out := make([]SendingDomain, 0, len(ds))
	for _, d := range ds {
		if d.Exists() {
			out = append(out, *d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
