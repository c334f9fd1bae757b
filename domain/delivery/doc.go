// Package delivery owns the rules of outbound delivery: the retry schedule (attempts counted
// including the first; wait after attempt n = initial × factor^(n-1)), "try again in N seconds"
// hints, the classification of an attempt's outcome (delivered, deferred, bounced), the decision
// that turns one attempt into the catalogue events (message.attempted followed by
// message.delivered, .deferred, .bounced or .expired), the VERP return-path encoding that maps
// a bounce back to exactly one message, and the per-destination concurrency limit.
//
// It imports events and the standard library only. It performs no I/O: the SMTP client, DNS
// and the event store live in adapters and command handlers. Reply classification (sisimai
// reason names) is a port, ReplyClassifier, implemented by domain/bounce.
package delivery
