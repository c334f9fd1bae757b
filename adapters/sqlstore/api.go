package sqlstore

import "sync"

// API keeps the HTTP API's own rows (the httpapi.Store port): the Postal integer ids of
// message streams (api_message_ids, api_id_blocks; postal_ids.go) and idempotency keys
// (idempotency_keys; idempotency_keys.go). The Postal ids themselves are recorded by Accept,
// in the acceptance transaction, so they exist exactly when their messages do.
type API struct {
	s *Store

	idMu   sync.Mutex
	idNext int64 // next id of the reserved block
	idEnd  int64 // first id after the block
	block  int64 // ids reserved at a time
}

// API returns the store of the HTTP API's rows. There is one per Store: its block of Postal ids
// is the process's.
func (s *Store) API() *API { return s.api }
