package submission

import "time"

// IdempotencyRecord is what a store keeps of a submission made with an idempotency key (the
// HTTP API's Idempotency-Key): the hash of the first request and, once it finished, its
// response (Status 0 while it still runs), so a repeat gets the first answer and is not
// submitted twice.
type IdempotencyRecord struct {
	RequestHash string
	Status      int
	Response    []byte
	Created     time.Time
}
