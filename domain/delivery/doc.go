// Package delivery owns outbound delivery: the worker workflow that takes due messages from the
// delivery queue, claims them (so workers on several nodes never run the same attempt at once),
// signs each body once, hands the message to the sender and records the attempt and its outcome
// as events on the message stream with the next stream version (a worker that lost a race gets
// a version conflict and drops its result: one outcome per attempt is ever recorded); and the
// rules it applies: the retry schedule (attempts counted including the first; wait after
// attempt n = initial × factor^(n-1)), "try again in N seconds" hints, the classification of an
// attempt's outcome (delivered, deferred, bounced), the decision that turns one attempt into the
// catalogue events (message.attempted followed by message.delivered, .deferred, .bounced or
// .expired), the VERP return-path encoding that maps a bounce back to exactly one message, and
// the per-destination concurrency limit.
//
// It imports domain packages, events and the standard library only. It performs no I/O: the
// queue, bodies, signer, SMTP sender, transcripts and suppressions are ports implemented by
// adapters. What a reply means (outcome, sisimai reason, hard/soft) is decided by the one reply
// classifier, bounce.ClassifyReply, on the reply and the SMTP stage the sender reports.
package delivery
