package tenancy

import (
	"context"
	"sort"

	"github.com/posthaste/posthaste/events"
)

// ListServers returns every server, sorted by id, read from the server streams (a listing of
// every server: a fold of every server stream is the point). The caller filters by scope.
func (h *Handlers) ListServers(ctx context.Context) ([]Server, error) {
	ss, err := foldStreams(ctx, h.d.Store, events.StreamServer, "", func() *Server { return &Server{} })
	if err != nil {
		return nil, err
	}
	out := make([]Server, 0, len(ss))
	for _, s := range ss {
		if s.Exists() {
			out = append(out, *s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
