// Package bounce parses and classifies what remote mail systems say about a message: the
// replies of a synchronous SMTP transaction with the stage they answered (ClassifyReply: the
// outcome delivered / deferred / bounced, the reason and the class) and the reports that come
// back later (Parse): RFC 3464 delivery status notifications, RFC 5965 ARF feedback reports,
// RFC 3834 auto-replies and the non-standard reports of common MTAs and providers.
//
// It owns the reason taxonomy (sisimai's reason names), the hard/soft rule and the rule of what
// a synchronous reply means for the attempt (the one classifier, used by domain/delivery). It is pure:
// standard library only, no I/O, no clock, no logging. It must not link a report to a message,
// store anything or decide what to do about a bounce; callers do that with its verdict.
// Malformed input yields an error or a best-effort Report, never a panic.
package bounce
