// Package inbound owns the intake of what arrives at the return-path domain (the MX listener):
// delivery status notifications, ARF feedback reports and automatic replies. Its workflow is
// store the raw report durably (before the listener answers 250) → parse it (domain/bounce) →
// link each reported recipient to exactly one message (the VERP envelope recipient first, then
// a VERP address or the Message-ID found in the returned original headers) → append
// message.bounced / message.complained on that message's stream → suppress the recipient on a
// hard bounce or a complaint when the message's server says so.
//
// It declares the Store port for the raw reports and implements nothing of the outside world:
// SMTP lives in adapters/smtpin, the tables in adapters/mariadb and adapters/sqlite. It must not
// classify replies itself (domain/bounce does), nor send anything back to the reporter.
// Malformed input never makes it panic or lose a report: the report stays stored, with status
// malformed, for the operator.
package inbound
