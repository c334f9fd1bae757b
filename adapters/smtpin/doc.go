// Package smtpin is the SMTP submission edge: listeners (STARTTLS and implicit TLS) built on
// emersion/go-smtp, per-connection AUTH policy (PLAIN and LOGIN only over TLS, loopback-only
// insecure override, per-IP failure rate limit), SMTP-IP credentials, relay protection, size
// limits and the SMTP-smuggling guard (bare CR or LF in DATA and BDAT refused). Its second
// server type, MXServer (mx.go), is the inbound MX of the return-path domain: no AUTH, mail for
// that domain only (550 5.7.1 otherwise), the same STARTTLS, limits and guard, each report
// handed to a ReportReceiver (domain/inbound) that stores it durably before the 250.
//
// It owns the protocol and nothing else: who a credential is, whether a From domain is
// verified and how a message is made durable are ports of domain/submission, implemented
// elsewhere. It must not import another adapter, must not store anything itself, and must
// never log or record a password (AUTH exchanges are redacted from transcripts).
package smtpin
