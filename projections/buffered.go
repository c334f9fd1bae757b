package projections

import "context"

// Buffered is an optional interface of a Projection that coalesces its writes: its Apply may
// keep changes in memory, keyed by the transaction, and Flush writes them (in a few multi-row
// statements) just before the runner writes the checkpoints and commits. Discard drops what was
// kept for a transaction that was rolled back (it is run again from scratch).
//
// Contract: the runner hands Apply, Flush and Discard the same Tx value for one transaction, so
// it may key the buffer by it. Apply must not change its buffer when it returns an error (the
// runner undoes a poison event's database writes with a savepoint, not its buffer), and reads
// made by Apply must see the buffered writes of the same transaction. Flush may fail only on the
// database (the transaction is then rolled back, Discard called and the transaction retried).
type Buffered interface {
	Flush(ctx context.Context, tx Tx) error
	Discard(tx Tx)
}
