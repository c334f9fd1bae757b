// Package domain holds Posthaste's business rules: aggregates, policies, command handlers and
// workflows, and the ports (interfaces) they need from the outside world.
//
// It imports only events and the standard library. It must not know about SQL dialects,
// brokers, sockets or any third-party library: adapters implement its ports.
package domain
