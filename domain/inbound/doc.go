// Package inbound owns the intake of what arrives at the return-path domain (the MX listener):
// delivery status notifications, ARF feedback reports and automatic replies. Its workflow is
// store the raw report durably (before the listener answers 250) → parse it (domain/bounce) →
// link each reported recipient to exactly one message (the VERP envelope recipient first, then
// a valid X-Posthaste-Ref or a VERP address in the returned original headers, then the returned
// Message-ID — found through the MessageIndex port — but only together with a reported
// recipient that is the message's recipient; a Message-ID alone proves nothing) → append
// message.bounced / message.complained on that message's stream → suppress the recipient on a
// hard bounce or a complaint when the message's server says so.
//
// It declares the Store port for the raw reports and the MessageIndex port for the Message-ID
// lookup (served by the message view, projections/messages), and implements nothing of the outside world:
// SMTP lives in adapters/smtpin, the tables in adapters/sqlstore. It must not
// classify replies itself (domain/bounce does), nor send anything back to the reporter.
// Malformed input never makes it panic or lose a report: the report stays stored, with status
// malformed, for the operator.
package inbound
